import math

import pytest

import petra.blocks  # noqa: F401
from petra.config.model import BlockConfig, BlockInput, SignalConfig
from petra.logic.compiler import CompileError, compile_chain, propagate_quality
from petra.logic.graph import partition
from petra.signals import SignalTable
from petra.values import DataType, Quality


def sig(name, type_="float", initial=None):
    t = DataType(type_)
    return SignalConfig(name, t, t.default if initial is None else initial)


def blk(name, type_, inputs, outputs, params=None):
    ins = []
    for port, src in inputs.items():
        if isinstance(src, str) and not src[0].isdigit() and src not in ("true", "false"):
            previous = src.endswith("@prev")
            ins.append(BlockInput(port, signal=src.removesuffix("@prev"), previous=previous))
        else:
            from petra.values import parse_literal
            ins.append(BlockInput(port, literal=parse_literal(src)))
    return BlockConfig(name, type_, tuple(ins), outputs, params or {})


def build(signals, blocks):
    table = SignalTable(signals)
    chains = partition(blocks)
    programs = [compile_chain(c, table).instantiate() for c in chains]
    return table, chains, programs


def test_a_compiled_chain_evaluates_blocks_in_order_and_reports_changed_slots():
    signals = [sig("temperature", initial=80.0), sig("high", "bool"), sig("doubled"), sig("alarm", "bool")]
    blocks = [
        blk("alarm_and", "AND", {"in1": "high", "in2": "true"}, {"out": "alarm"}),
        blk("gt", "GT", {"in1": "temperature", "in2": "75.0"}, {"out": "high"}),
        blk("double", "MUL", {"in1": "temperature", "in2": "2"}, {"out": "doubled"}),
    ]
    table, chains, programs = build(signals, blocks)
    assert [[b.name for b in c.blocks] for c in chains] == [["gt", "alarm_and"], ["double"]]

    def scan(now):
        return [slot for program in programs for slot in program.scan(table.values, now)]

    changed = scan(0.0)
    assert table.values[table.slot("high")] is True
    assert table.values[table.slot("alarm")] is True
    assert table.values[table.slot("doubled")] == 160.0
    assert sorted(changed) == sorted(table.slot(n) for n in ("high", "alarm", "doubled"))
    assert scan(0.1) == []  # nothing changed in the second scan
    table.values[table.slot("temperature")] = 10.0
    changed = scan(0.2)
    assert table.values[table.slot("alarm")] is False
    assert set(changed) == {table.slot(n) for n in ("high", "alarm", "doubled")}


def test_stateful_blocks_keep_state_between_scans_and_restart_from_scratch():
    signals = [sig("run", "bool", True), sig("done", "bool"), sig("elapsed")]
    blocks = [blk("delay", "TON", {"in": "run"}, {"q": "done", "et_ms": "elapsed"}, {"preset_ms": 300})]
    table = SignalTable(signals)
    compiled = compile_chain(partition(blocks)[0], table)
    program = compiled.instantiate()
    for step in range(4):
        program.scan(table.values, step * 0.1)
    assert table.values[table.slot("done")] is True
    fresh = compiled.instantiate()  # what a restarted chain actor gets
    fresh.scan(table.values, 10.0)
    assert table.values[table.slot("done")] is False
    assert table.values[table.slot("elapsed")] == 0.0


def test_inputs_and_outputs_are_coerced_to_port_and_signal_types():
    signals = [sig("level"), sig("count", "int"), sig("flag_as_float"), sig("big", "bool")]
    blocks = [
        blk("is_big", "GT", {"in1": "level", "in2": "5"}, {"out": "big"}),
        blk("as_float", "MOVE", {"in": "big"}, {"out": "flag_as_float"}),
        blk("sum", "ADD", {"in1": "count", "in2": "1"}, {"out": "count_plus"}),
    ]
    table = SignalTable([*signals, sig("count_plus", "int")])
    for chain in partition(blocks):
        compile_chain(chain, table).instantiate().scan(table.values, 0.0)
    assert table.values[table.slot("flag_as_float")] == 0.0
    assert isinstance(table.values[table.slot("flag_as_float")], float)
    assert table.values[table.slot("count_plus")] == 1 and isinstance(table.values[table.slot("count_plus")], int)


def test_a_float_output_into_an_int_signal_is_refused_naming_the_block():
    table = SignalTable([sig("x"), sig("n", "int")])
    chain = partition([blk("halve", "MUL", {"in1": "x", "in2": "0.5"}, {"out": "n"})])[0]
    with pytest.raises(CompileError, match="halve"):
        compile_chain(chain, table)


def test_prev_reads_the_value_from_before_this_scan():
    signals = [sig("level", initial=10.0), sig("inflow", initial=1.0)]
    blocks = [blk("integrate", "ADD", {"in1": "level@prev", "in2": "inflow"}, {"out": "level"})]
    table, _, [program] = build(signals, blocks)
    for _ in range(5):
        program.scan(table.values, 0.0)
    assert table.values[table.slot("level")] == 15.0


def test_nan_inputs_do_not_crash_the_chain():
    signals = [sig("x", initial=math.nan), sig("gt", "bool"), sig("n", "int")]
    blocks = [blk("cmp", "GT", {"in1": "x", "in2": "1.0"}, {"out": "gt"})]
    table, _, [program] = build(signals, blocks)
    program.scan(table.values, 0.0)
    assert table.values[table.slot("gt")] is False


def test_output_quality_is_the_worst_quality_of_the_inputs():
    signals = [sig("a"), sig("b"), sig("sum"), sig("twice")]
    blocks = [blk("add", "ADD", {"in1": "a", "in2": "b"}, {"out": "sum"}),
              blk("mul", "MUL", {"in1": "sum", "in2": "2.0"}, {"out": "twice"})]
    table = SignalTable(signals)
    compiled = compile_chain(partition(blocks)[0], table)
    table.quality[table.slot("b")] = Quality.BAD
    propagate_quality(table.quality, compiled.quality_plan)
    assert table.quality[table.slot("sum")] == Quality.BAD
    assert table.quality[table.slot("twice")] == Quality.BAD
    table.quality[table.slot("b")] = Quality.GOOD
    propagate_quality(table.quality, compiled.quality_plan)
    assert table.quality[table.slot("twice")] == Quality.GOOD


def test_a_feedback_loop_through_prev_recovers_good_quality_after_going_bad():
    signals = [sig("level", initial=10.0), sig("inflow", initial=1.0)]
    blocks = [blk("integrate", "ADD", {"in1": "level@prev", "in2": "inflow"}, {"out": "level"})]
    table = SignalTable(signals)
    compiled = compile_chain(partition(blocks)[0], table)
    table.quality[table.slot("level")] = Quality.BAD  # e.g. the chain crashed
    propagate_quality(table.quality, compiled.quality_plan)
    assert table.quality[table.slot("level")] == Quality.GOOD
    table.quality[table.slot("inflow")] = Quality.BAD  # a real input going bad still counts
    propagate_quality(table.quality, compiled.quality_plan)
    assert table.quality[table.slot("level")] == Quality.BAD


def test_a_change_batch_hands_a_listener_only_the_signals_it_watches():
    from petra.messages import SignalsChanged

    names = ["a", "b", "c", "d"]
    event = SignalsChanged("logic/x", slots=(0, 2, 3), values=(1.0, True, 7), qualities=(0, 2, 0),
                           timestamp=5.0, names=names)
    assert event.only(frozenset({1})) == ()
    picked = event.only(frozenset({2, 3}))
    assert [(c.name, c.value, c.quality, c.timestamp) for c in picked] == [
        ("c", True, Quality.BAD, 5.0), ("d", 7, Quality.GOOD, 5.0)]
    assert [c.name for c in event.changes] == ["a", "c", "d"]
