"""Poison through the logic: every block type, driven by the worst values the table can hold.

A float signal may hold inf, -inf, NaN or the largest finite floats; an int
signal anything in signed 64 bits. No block type may raise out of a compiled
chain for them (a chain that raises every scan crash-loops until its
supervisor gives up), and nothing a chain writes may be a value the table
refuses at every other door (an int beyond 64 bits). The cases are generated
from the registry, so a new block type is covered without editing this file.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

import petra.blocks  # noqa: F401  (registers every block type)
from petra.blocks import REGISTRY, Block
from petra.config.loader import load_config_text
from petra.logic.compiler import ChainProgram, CompiledChain, CompileError
from petra.plant import build_plant
from petra.signals import SignalTable
from petra.values import INT_MAX, INT_MIN, DataType, Quality

HOSTILE = {
    "float": (math.inf, -math.inf, math.nan, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 0.0),
    "int": (INT_MAX, INT_MIN, -1, 0, 1, INT_MAX - 1, INT_MIN + 1),
}


def minimal_params(cls: type[Block]) -> dict[str, Any]:
    """The required parameters with distinct small values (a window of 2, not 1) that every built-in accepts."""
    params = {}
    for n, param in enumerate((p for p in cls.params if p.required), start=2):
        params[param.name] = n if param.schema.get("type") == "integer" else float(n)
    return params


def plant_config(type_name: str, source: str) -> str:
    """A plant of one block whose every input reads its own `source`-typed signal."""
    cls = REGISTRY.get(type_name)
    assert cls is not None
    names = [p.name for p in cls.inputs]
    if cls.variadic is not None:
        names += cls.variadic.names(cls.variadic.minimum)
    signals = "".join(f"  - {{name: i_{n}, type: {source}}}\n" for n in names)
    inputs = ", ".join(f"{n}: i_{n}" for n in names)
    outputs = ", ".join(f"{p.name}: o_{p.name}" for p in cls.outputs)
    params = ", ".join(f"{k}: {v}" for k, v in minimal_params(cls).items())
    return (
        f"signals:\n{signals}"
        f"blocks:\n  - name: b\n    type: {type_name}\n    inputs: {{{inputs}}}\n"
        f"    outputs: {{{outputs}}}\n    params: {{{params}}}\n"
    )


def valid_for(value: object, type_: DataType) -> bool:
    if type_ is DataType.BOOL:
        return isinstance(value, bool)
    if type_ is DataType.INT:
        return type(value) is int and INT_MIN <= value <= INT_MAX
    if type_ is DataType.FLOAT:
        return type(value) is float
    return isinstance(value, str)


def one_chain(text: str) -> tuple[SignalTable, CompiledChain, ChainProgram]:
    """The table, the only chain and a fresh program of the plant in `text`."""
    plant = build_plant(load_config_text(text, "<plant>"))
    [chain] = plant.chains
    return plant.table, chain, chain.instantiate()


def test_every_block_type_is_covered():
    assert len(REGISTRY.names()) >= 38


@pytest.mark.parametrize("source", sorted(HOSTILE))
@pytest.mark.parametrize("type_name", REGISTRY.names())
def test_a_block_never_raises_nor_writes_an_invalid_value_whatever_its_inputs_hold(type_name, source):
    config = load_config_text(plant_config(type_name, source), f"<{type_name}>")
    plant = build_plant(config)
    table = plant.table
    [chain] = plant.chains
    program = chain.instantiate()
    inputs = [table.slot(s.name) for s in config.signals if s.name.startswith("i_")]
    outputs = list(chain.output_slots)
    now = 0.0
    for combination in itertools.product(HOSTILE[source], repeat=len(inputs)):
        for slot, value in zip(inputs, combination, strict=True):
            table.values[slot] = value
        for _ in range(2):  # twice: a window of 2 then holds the same extreme value twice
            now += 0.05
            program.run(table.values, now)  # must not raise
        for slot in outputs:
            value = table.values[slot]
            assert valid_for(value, table.types[slot]), (
                f"{type_name} wrote {value!r} into {table.types[slot].value} signal {table.names[slot]} "
                f"for inputs {combination}"
            )
        program.failed.clear()
    for slot in inputs:  # ordinary values again: no state may stay poisoned (NaN forever)
        table.values[slot] = 1.0 if source == "float" else 1
    for _ in range(5):
        now += 0.05
        program.run(table.values, now)
    stuck = {table.names[s]: table.values[s] for s in outputs
             if table.types[s] is DataType.FLOAT and not math.isfinite(table.values[s])}
    assert not stuck, f"{type_name} still writes {stuck} after its inputs returned to 1"


def test_a_block_that_cannot_compute_holds_its_outputs_and_reports_itself():
    text = (
        "signals:\n  - {name: a, type: int, initial: 1}\n  - {name: b, type: int, initial: 2}\n"
        "blocks:\n"
        "  - {name: add, type: ADD, inputs: {in1: a, in2: b}, outputs: {out: sum}}\n"
        "  - {name: gt, type: GT, inputs: {in1: sum, in2: 0}, outputs: {out: positive}}\n"
    )
    table, _, program = one_chain(text)
    program.run(table.values, 0.0)
    assert table.values[table.slot("sum")] == 3 and program.failed == []
    table.values[table.slot("a")] = INT_MAX
    changed = program.run(table.values, 0.1)
    assert program.failed == [0]  # the ADD, by its index in the chain
    assert table.values[table.slot("sum")] == 3  # held, not an int beyond 64 bits
    assert table.slot("sum") not in changed
    assert table.quality[table.slot("sum")] == Quality.GOOD  # quality is the actor's job (test_chain_poison)


@pytest.mark.parametrize(("block", "port"), [("AND", "in1"), ("MUX", "k")])
def test_nan_into_a_bool_or_int_input_is_no_value_not_true_or_zero(block, port):
    ports = {"AND": "in1: x, in2: true", "MUX": "k: x, in0: 1.5, in1: 2.5"}[block]
    text = ("signals:\n  - {name: x, type: float, initial: 1.0}\n"
            f"blocks:\n  - {{name: b, type: {block}, inputs: {{{ports}}}, outputs: {{out: y}}}}\n")
    table, _, program = one_chain(text)
    program.run(table.values, 0.0)
    before = table.read("y").value
    table.values[table.slot("x")] = math.nan
    program.run(table.values, 0.1)
    assert program.failed == [0]
    assert table.read("y").value == before


def test_an_int_literal_beyond_64_bits_is_refused_when_the_chain_is_compiled():
    text = ("signals:\n  - {name: a, type: int}\n"
            "blocks:\n  - {name: add, type: ADD, inputs: {in1: a, in2: '9223372036854775808'}, outputs: {out: s}}\n")
    with pytest.raises(CompileError, match="outside the int range"):
        build_plant(load_config_text(text, "<literal>"))


def test_after_a_block_fails_the_rest_of_the_scan_runs_once_with_the_values_it_started_with():
    text = (
        "signals:\n  - {name: big, type: int}\n"
        "blocks:\n"
        "  - {name: gen, type: DATA_GENERATOR, outputs: {count_out: n}}\n"
        "  - {name: overflow, type: ADD, inputs: {in1: n, in2: big}, outputs: {out: total}}\n"
        "  - {name: after, type: ADD, inputs: {in1: n, in2: 1}, outputs: {out: n_plus_1}}\n"
        "  - {name: before, type: MOVE, inputs: {in: n@prev}, outputs: {out: n_before}}\n"
        "  - {name: average, type: MOVING_AVERAGE, inputs: {in: n}, outputs: {out: mean}, params: {window: 2}}\n"
    )
    table, chain, program = one_chain(text)
    assert chain.block_names.index("overflow") < min(chain.block_names.index(n) for n in ("after", "before"))
    value = lambda name: table.values[table.slot(name)]  # noqa: E731
    program.run(table.values, 0.0)
    assert (value("n"), value("total"), value("n_plus_1"), value("n_before"), value("mean")) == (1, 1, 2, 0, 1.0)
    table.values[table.slot("big")] = INT_MAX
    changed = program.run(table.values, 0.1)
    assert program.failed == [chain.block_names.index("overflow")]
    assert value("n") == 2  # the generator before the failing block stepped once, not twice
    assert value("total") == 1  # held
    assert value("n_plus_1") == 3  # the blocks after it ran
    assert value("n_before") == 1  # @prev: the value at the start of this scan, not the 2 written since
    assert value("mean") == 1.5  # (1 + 2) / 2: the sample entered once
    assert {table.slot(n) for n in ("n", "n_plus_1", "n_before", "mean")} <= set(changed)
    assert table.slot("total") not in changed
