import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.values import DataType
from tests.blocks.conftest import make, run

NAN = math.nan
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


def test_move_copies_any_value():
    assert run("MOVE", {"in": "text"}) == "text"
    assert run("MOVE", {"in": 3}) == 3


def test_select_picks_in1_when_g_is_true():
    assert run("SELECT", {"g": True, "in0": "off", "in1": "on"}) == "on"
    assert run("SELECT", {"g": False, "in0": "off", "in1": "on"}) == "off"


def test_select_of_int_and_float_always_gives_a_float():
    result = run("SELECT", {"g": False, "in0": 1, "in1": 2.5})
    assert result == 1.0
    assert type(result) is float


def test_select_output_type_ignores_the_selector():
    block = make("SELECT")
    types = {"g": DataType.BOOL, "in0": DataType.STRING, "in1": DataType.STRING}
    assert block.output_types(types) == {"out": DataType.STRING}


@pytest.mark.parametrize(("k", "expected"), [(0, ("a", False)), (1, ("b", False)), (2, ("c", False))])
def test_mux_selects_input_k(k, expected):
    assert run("MUX", {"k": k, "in0": "a", "in1": "b", "in2": "c"}) == expected


@pytest.mark.parametrize(("k", "expected"), [(-1, ("a", True)), (3, ("c", True)), (99, ("c", True))])
def test_mux_clamps_k_out_of_range_and_reports_error(k, expected):
    assert run("MUX", {"k": k, "in0": "a", "in1": "b", "in2": "c"}) == expected


def test_mux_with_sixteen_inputs_reaches_the_last():
    inputs = {"k": 15, **{f"in{i}": i * 10 for i in range(16)}}
    assert run("MUX", inputs) == (150, False)
    types = make("MUX", connected=inputs).output_types({n: DataType.INT for n in inputs})
    assert types["out"] is DataType.INT


@pytest.mark.parametrize(
    ("type_name", "values", "expected"),
    [
        ("MIN", (3, 1, 2), 1),
        ("MAX", (3, 1, 2), 3),
        ("MIN", (2.5, -1.0), -1.0),
        ("MAX", (2.5, -1.0), 2.5),
        ("MIN", (NAN, 4.0), 4.0),
        ("MIN", (4.0, NAN), 4.0),
        ("MAX", (NAN, 4.0, NAN, 7.0), 7.0),
        ("MIN", (5.0, NAN, 2.0), 2.0),
    ],
)
def test_min_and_max_ignore_nan_inputs(type_name, values, expected):
    assert run(type_name, {f"in{i + 1}": v for i, v in enumerate(values)}) == expected


@pytest.mark.parametrize("type_name", ["MIN", "MAX"])
@pytest.mark.parametrize("count", [2, 3])
def test_min_and_max_of_all_nan_is_nan(type_name, count):
    assert math.isnan(run(type_name, {f"in{i + 1}": NAN for i in range(count)}))


def test_max_of_int_and_float_is_a_float():
    result = run("MAX", {"in1": 3, "in2": 2.5})
    assert result == 3.0
    assert type(result) is float


@given(st.lists(finite, min_size=2, max_size=16))
def test_min_and_max_agree_with_python_for_numbers(values):
    inputs = {f"in{i + 1}": v for i, v in enumerate(values)}
    assert run("MIN", inputs) == min(values)
    assert run("MAX", inputs) == max(values)


@given(finite, finite, finite)
def test_limit_output_stays_within_mn_and_mx(a, b, x):
    mn, mx = sorted((a, b))
    out = run("LIMIT", {"mn": mn, "in": x, "mx": mx})
    assert mn <= out <= mx
    if mn <= x <= mx:
        assert out == x


def test_limit_with_mn_above_mx_gives_mx_as_iec_does():
    assert run("LIMIT", {"mn": 10, "in": 5, "mx": 0}) == 0


def test_limit_passes_nan_and_ignores_nan_limits():
    assert math.isnan(run("LIMIT", {"mn": 0.0, "in": NAN, "mx": 1.0}))
    assert run("LIMIT", {"mn": NAN, "in": -5.0, "mx": 1.0}) == -5.0
    assert run("LIMIT", {"mn": 0.0, "in": 5.0, "mx": NAN}) == 5.0
