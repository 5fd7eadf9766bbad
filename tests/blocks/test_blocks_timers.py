import pytest

from petra.blocks import REGISTRY, BlockParamError
from tests.blocks.conftest import evaluate, make


def timer(type_name, preset_ms=500):
    return make(type_name, {"preset_ms": preset_ms})


def tick(block, t, value, pt_ms=None):
    inputs = {"in": value} if pt_ms is None else {"in": value, "pt_ms": pt_ms}
    return evaluate(block, inputs, now=t)


def test_ton_turns_on_exactly_at_the_preset():
    ton = timer("TON")
    assert tick(ton, 1000.1, True) == (False, 0.0)
    q, et = tick(ton, 1000.3, True)
    assert q is False
    assert et == pytest.approx(200.0)
    assert tick(ton, 1000.6, True) == (True, 500.0)
    assert tick(ton, 1005.0, True) == (True, 500.0)


def test_ton_resets_when_the_input_drops_early():
    ton = timer("TON")
    tick(ton, 0.0, True)
    tick(ton, 0.4, True)
    assert tick(ton, 0.45, False) == (False, 0.0)
    assert tick(ton, 0.5, True) == (False, 0.0)
    assert tick(ton, 0.9, True)[0] is False
    assert tick(ton, 1.0, True) == (True, 500.0)


def test_ton_turns_off_as_soon_as_the_input_drops():
    ton = timer("TON")
    tick(ton, 0.0, True)
    assert tick(ton, 1.0, True)[0] is True
    assert tick(ton, 1.1, False) == (False, 0.0)


def test_ton_with_zero_preset_follows_the_input():
    ton = timer("TON", 0)
    assert tick(ton, 0.0, True) == (True, 0.0)
    assert tick(ton, 0.1, False) == (False, 0.0)


def test_pt_ms_input_overrides_the_preset_and_negative_means_use_preset():
    ton = timer("TON", 5000)
    tick(ton, 0.0, True, pt_ms=100)
    assert tick(ton, 0.1, True, pt_ms=100) == (True, 100.0)
    ton = timer("TON", 200)
    tick(ton, 0.0, True, pt_ms=-1.0)
    assert tick(ton, 0.2, True, pt_ms=-1.0) == (True, 200.0)
    ton = timer("TON", 200)
    tick(ton, 0.0, True, pt_ms=float("nan"))
    assert tick(ton, 0.2, True, pt_ms=float("nan")) == (True, 200.0)


def test_pt_ms_is_optional_and_defaults_to_the_sentinel():
    assert [p.name for p in REGISTRY.types["TON"].input_ports(["in"])] == ["in", "pt_ms"]
    ton = make("TON", {"preset_ms": 100}, connected=["in"])
    evaluate(ton, {"in": True}, now=0.0)
    assert evaluate(ton, {"in": True}, now=0.1) == (True, 100.0)


def test_tof_holds_q_for_the_preset_after_the_input_drops():
    tof = timer("TOF")
    assert tick(tof, 0.0, False) == (False, 0.0)
    assert tick(tof, 1.0, True) == (True, 0.0)
    assert tick(tof, 2.0, False) == (True, 0.0)
    q, et = tick(tof, 2.25, False)
    assert q is True
    assert et == pytest.approx(250.0)
    assert tick(tof, 2.5, False) == (False, 500.0)
    assert tick(tof, 9.0, False) == (False, 500.0)


def test_tof_restarts_when_the_input_returns_during_the_delay():
    tof = timer("TOF")
    tick(tof, 0.0, True)
    tick(tof, 1.0, False)
    assert tick(tof, 1.4, True) == (True, 0.0)
    assert tick(tof, 1.6, False) == (True, 0.0)
    assert tick(tof, 2.0, False)[0] is True
    assert tick(tof, 2.1, False) == (False, 500.0)
    assert tick(tof, 3.0, True) == (True, 0.0)


def test_tp_gives_a_pulse_of_exactly_the_preset():
    tp = timer("TP")
    assert tick(tp, 0.0, False) == (False, 0.0)
    assert tick(tp, 1.0, True) == (True, 0.0)
    q, et = tick(tp, 1.3, True)
    assert q is True
    assert et == pytest.approx(300.0)
    assert tick(tp, 1.5, True) == (False, 500.0)
    assert tick(tp, 3.0, True) == (False, 500.0)
    assert tick(tp, 3.1, False) == (False, 0.0)


def test_tp_pulse_continues_when_the_input_drops_early():
    tp = timer("TP")
    tick(tp, 0.0, True)
    assert tick(tp, 0.1, False)[0] is True
    assert tick(tp, 0.4, False)[0] is True
    assert tick(tp, 0.5, False) == (False, 0.0)


def test_tp_is_not_retriggered_by_edges_during_the_pulse():
    tp = timer("TP")
    tick(tp, 0.0, True)
    tick(tp, 0.1, False)
    assert tick(tp, 0.2, True)[0] is True
    assert tick(tp, 0.5, True) == (False, 500.0)
    tick(tp, 0.6, False)
    assert tick(tp, 0.7, True) == (True, 0.0)
    assert tick(tp, 1.2, True) == (False, 500.0)


def test_tp_starts_a_pulse_when_the_input_is_true_on_the_first_scan():
    tp = timer("TP")
    assert tick(tp, 5.0, True) == (True, 0.0)


@pytest.mark.parametrize("type_name", ["TON", "TOF", "TP"])
def test_timers_need_a_non_negative_preset(type_name):
    with pytest.raises(BlockParamError) as info:
        make(type_name, {"preset_ms": -1})
    assert info.value.param == "preset_ms"
    with pytest.raises(BlockParamError) as info:
        make(type_name, {})
    assert info.value.param == "preset_ms"
