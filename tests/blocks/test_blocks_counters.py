import pytest

from petra.blocks import BlockParamError
from tests.blocks.conftest import evaluate, make


def ctu(block, cu, reset=False):
    return evaluate(block, {"cu": cu, "reset": reset})


def ctd(block, cd, load=False):
    return evaluate(block, {"cd": cd, "load": load})


def ctud(block, cu=False, cd=False, reset=False, load=False):
    return evaluate(block, {"cu": cu, "cd": cd, "reset": reset, "load": load})


def pulses(step, n, **kw):
    for _ in range(n):
        step(True, **kw)
        result = step(False, **kw)
    return result


def test_ctu_counts_rising_edges_and_sets_q_at_the_preset():
    block = make("CTU", {"preset": 3})
    assert ctu(block, False) == (False, 0)
    assert ctu(block, True) == (False, 1)
    assert ctu(block, True) == (False, 1)
    ctu(block, False)
    ctu(block, True)
    assert ctu(block, False) == (False, 2)
    assert ctu(block, True) == (True, 3)


def test_ctu_counts_an_input_already_true_on_the_first_scan():
    assert ctu(make("CTU", {"preset": 1}), True) == (True, 1)


def test_ctu_reset_wins_over_a_simultaneous_edge():
    block = make("CTU", {"preset": 2})
    pulses(lambda v: ctu(block, v), 2)
    assert ctu(block, True, reset=True) == (False, 0)
    assert ctu(block, True) == (False, 0)


def test_ctu_saturates_at_max_count():
    block = make("CTU", {"preset": 2, "max_count": 3})
    assert pulses(lambda v: ctu(block, v), 10) == (True, 3)


def test_ctu_default_limit_is_the_dint_maximum():
    block = make("CTU", {"preset": 0})
    block._cv = 2**31 - 2
    ctu(block, True)
    ctu(block, False)
    assert ctu(block, True) == (True, 2**31 - 1)


def test_ctd_counts_down_from_the_loaded_preset():
    block = make("CTD", {"preset": 2})
    assert ctd(block, False, load=True) == (False, 2)
    assert ctd(block, True) == (False, 1)
    ctd(block, False)
    assert ctd(block, True) == (True, 0)


def test_ctd_load_wins_over_a_simultaneous_edge():
    block = make("CTD", {"preset": 5})
    assert ctd(block, True, load=True) == (False, 5)


def test_ctd_saturates_at_min_count():
    block = make("CTD", {"preset": 1, "min_count": -2})
    assert pulses(lambda v: ctd(block, v), 10) == (True, -2)


def test_ctud_counts_up_and_down():
    block = make("CTUD", {"preset": 2})
    assert ctud(block, cu=True) == (False, False, 1)
    ctud(block)
    assert ctud(block, cu=True) == (True, False, 2)
    ctud(block)
    assert ctud(block, cd=True) == (False, False, 1)
    ctud(block)
    assert ctud(block, cd=True) == (False, True, 0)


def test_ctud_simultaneous_edges_cancel():
    block = make("CTUD", {"preset": 5})
    assert ctud(block, cu=True, cd=True) == (False, True, 0)


def test_ctud_reset_beats_load_beats_counting():
    block = make("CTUD", {"preset": 5})
    assert ctud(block, cu=True, load=True) == (True, False, 5)
    assert ctud(block, cu=False, reset=True, load=True) == (False, True, 0)
    assert ctud(block, cu=True, reset=True) == (False, True, 0)


def test_ctud_saturates_both_ways():
    block = make("CTUD", {"preset": 1, "max_count": 2, "min_count": -1})
    up = pulses(lambda v: ctud(block, cu=v), 5)
    assert up[2] == 2
    down = pulses(lambda v: ctud(block, cd=v), 10)
    assert down == (False, True, -1)


@pytest.mark.parametrize("type_name", ["CTU", "CTD", "CTUD"])
def test_counter_params_are_checked(type_name):
    with pytest.raises(BlockParamError) as info:
        make(type_name, {})
    assert info.value.param == "preset"
    with pytest.raises(BlockParamError) as info:
        make(type_name, {"preset": 1.5})
    assert info.value.param == "preset"
    with pytest.raises(BlockParamError) as info:
        make(type_name, {"preset": 10, "max_count": 5})
    assert info.value.param == "preset"
    with pytest.raises(BlockParamError) as info:
        make(type_name, {"preset": 0, "min_count": 1, "max_count": 5})
    assert info.value.param == "min_count"


def test_an_integer_parameter_beyond_64_bits_is_refused():
    """CTD's load copies preset into cv, an int signal: it must fit 64 bits."""
    with pytest.raises(BlockParamError, match="signed 64-bit"):
        make("CTD", {"preset": 2**63, "max_count": 2**63})
