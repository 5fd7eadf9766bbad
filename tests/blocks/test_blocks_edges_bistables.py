from tests.blocks.conftest import evaluate, make


def sequence(type_name, port, values):
    block = make(type_name)
    return [evaluate(block, {port: v}) for v in values]


def test_r_trig_fires_once_per_rising_edge():
    values = [False, True, True, False, True]
    assert sequence("R_TRIG", "clk", values) == [False, True, False, False, True]


def test_r_trig_fires_on_the_first_scan_when_clk_is_true():
    assert sequence("R_TRIG", "clk", [True, True]) == [True, False]


def test_f_trig_fires_once_per_falling_edge_and_not_on_the_first_scan():
    assert sequence("F_TRIG", "clk", [False, True, False, False]) == [False, False, True, False]
    assert sequence("F_TRIG", "clk", [True, False]) == [False, True]


def latch(type_name, steps):
    block = make(type_name)
    ports = [p.name for p in block.inputs]
    return [evaluate(block, dict(zip(ports, s, strict=True))) for s in steps]


def test_sr_latches_and_set_dominates():
    steps = [(False, False), (True, False), (False, False), (True, True), (False, True), (False, False)]
    assert latch("SR", steps) == [False, True, True, True, False, False]


def test_rs_latches_and_reset_dominates():
    steps = [(False, False), (True, False), (False, False), (True, True), (True, False), (False, True)]
    assert latch("RS", steps) == [False, True, True, False, True, False]
