import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.blocks import BlockParamError
from petra.values import DataType
from tests.blocks.conftest import make, run

NAN = math.nan


def test_add_sums_all_inputs_and_keeps_ints_int():
    result = run("ADD", {"in1": 1, "in2": 2, "in3": 3})
    assert result == 6
    assert type(result) is int


def test_add_with_a_float_input_gives_a_float_declared_as_float():
    block = make("ADD", connected=["in1", "in2"])
    assert block.output_types({"in1": DataType.INT, "in2": DataType.FLOAT}) == {"out": DataType.FLOAT}
    assert run("ADD", {"in1": 1, "in2": 0.5}) == 1.5


def test_add_of_bools_counts_them_as_int():
    block = make("ADD", connected=["in1", "in2"])
    assert block.output_types({"in1": DataType.BOOL, "in2": DataType.BOOL}) == {"out": DataType.INT}
    assert run("ADD", {"in1": True, "in2": True}) == 2


def test_mul_multiplies_all_inputs():
    assert run("MUL", {"in1": 2, "in2": 3, "in3": 4}) == 24
    assert run("MUL", {"in1": 2.5, "in2": -2}) == -5.0


def test_sub_subtracts_in2_from_in1():
    assert run("SUB", {"in1": 10, "in2": 3}) == 7
    assert run("SUB", {"in1": 1.5, "in2": 3}) == -1.5


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(7, 2, 3), (-7, 2, -3), (7, -2, -3), (-7, -2, 3), (0, 5, 0), (6, 3, 2), (-6, 3, -2)],
)
@pytest.mark.parametrize("typed", [True, False])
def test_int_division_truncates_toward_zero(a, b, expected, typed):
    out, error = run("DIV", {"in1": a, "in2": b}, typed=typed)
    assert (out, error) == (expected, False)
    assert type(out) is int


@pytest.mark.parametrize("typed", [True, False])
def test_division_with_a_float_gives_a_float(typed):
    assert run("DIV", {"in1": 7, "in2": 2.0}, typed=typed) == (3.5, False)
    assert run("DIV", {"in1": -7.0, "in2": 2}, typed=typed) == (-3.5, False)


@pytest.mark.parametrize("typed", [True, False])
def test_int_division_by_zero_gives_zero_and_error(typed):
    out, error = run("DIV", {"in1": 5, "in2": 0}, typed=typed)
    assert (out, error) == (0, True)
    assert type(out) is int


@pytest.mark.parametrize("typed", [True, False])
@pytest.mark.parametrize(("a", "b"), [(5.0, 0.0), (5, 0.0), (5.0, -0.0), (NAN, 0.0)])
def test_float_division_by_zero_gives_zero_float_and_error(a, b, typed):
    out, error = run("DIV", {"in1": a, "in2": b}, typed=typed)
    assert (out, error) == (0.0, True)
    assert type(out) is float


def test_division_by_nan_is_nan_without_error():
    out, error = run("DIV", {"in1": 1.0, "in2": NAN})
    assert math.isnan(out)
    assert error is False


def test_div_declares_int_only_for_two_int_inputs():
    block = make("DIV")
    ints = block.output_types({"in1": DataType.INT, "in2": DataType.INT})
    assert ints == {"out": DataType.INT, "error": DataType.BOOL}
    assert block.output_types({"in1": DataType.INT, "in2": DataType.FLOAT})["out"] is DataType.FLOAT


@given(st.integers(-(10**30), 10**30), st.integers(-(10**6), 10**6).filter(bool))
def test_int_division_matches_truncated_exact_quotient(a, b):
    out, _ = run("DIV", {"in1": a, "in2": b})
    assert out == (abs(a) // abs(b)) * (1 if (a < 0) == (b < 0) else -1)


def test_abs_returns_magnitude():
    assert run("ABS", {"in": -3}) == 3
    assert run("ABS", {"in": -2.5}) == 2.5
    assert math.isnan(run("ABS", {"in": NAN}))


def test_scale_maps_the_input_range_linearly():
    params = {"in_min": 4, "in_max": 20, "out_min": 0, "out_max": 100}
    assert run("SCALE", {"in": 4}, params) == 0.0
    assert run("SCALE", {"in": 12}, params) == 50.0
    assert run("SCALE", {"in": 20.0}, params) == 100.0
    assert run("SCALE", {"in": 24}, params) == 125.0
    assert type(run("SCALE", {"in": 12}, params)) is float


def test_scale_with_clamp_limits_to_the_output_range_even_when_inverted():
    params = {"in_min": 0, "in_max": 10, "out_min": 100, "out_max": 0, "clamp": True}
    assert run("SCALE", {"in": 2.5}, params) == 75.0
    assert run("SCALE", {"in": -5}, params) == 100.0
    assert run("SCALE", {"in": 50}, params) == 0.0
    assert math.isnan(run("SCALE", {"in": NAN}, params))


def test_scale_refuses_an_empty_input_range():
    with pytest.raises(BlockParamError) as info:
        make("SCALE", {"in_min": 1, "in_max": 1.0, "out_min": 0, "out_max": 1})
    assert info.value.param == "in_max"


def test_scale_needs_every_range_parameter():
    with pytest.raises(BlockParamError) as info:
        make("SCALE", {"in_min": 0, "in_max": 1, "out_min": 0})
    assert info.value.param == "out_max"


def test_scale_refuses_ranges_whose_gain_overflows():
    with pytest.raises(BlockParamError) as info:
        make("SCALE", {"in_min": 0, "in_max": 1e-300, "out_min": -1e300, "out_max": 1e300})
    assert info.value.param == "out_max"
