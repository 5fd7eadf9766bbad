import math

import pytest

from petra.values import CoercionError, DataType, coerce, parse_literal, type_of


@pytest.mark.parametrize(
    ("value", "to", "expected"),
    [
        (1, DataType.BOOL, True),
        (0.0, DataType.BOOL, False),
        ("ON", DataType.BOOL, True),
        ("no", DataType.BOOL, False),
        (True, DataType.INT, 1),
        (2.5, DataType.INT, 2),
        (3.5, DataType.INT, 4),
        ("42", DataType.INT, 42),
        ("41.6", DataType.INT, 42),
        (True, DataType.FLOAT, 1.0),
        (7, DataType.FLOAT, 7.0),
        (" 1e3 ", DataType.FLOAT, 1000.0),
        (False, DataType.STRING, "false"),
        (1.5, DataType.STRING, "1.5"),
    ],
)
def test_coercion_follows_the_documented_rules(value, to, expected):
    result = coerce(value, to)
    assert result == expected
    assert type_of(result) is to


@pytest.mark.parametrize(
    ("value", "to"),
    [(math.nan, DataType.BOOL), (math.nan, DataType.INT), (math.inf, DataType.INT), ("maybe", DataType.BOOL),
     ("12abc", DataType.INT), ("abc", DataType.FLOAT), (None, DataType.FLOAT), ([1], DataType.STRING)],
)
def test_impossible_coercions_raise_a_clear_error(value, to):
    with pytest.raises(CoercionError, match="cannot convert"):
        coerce(value, to)


def test_block_literals_are_told_apart_from_signal_names():
    assert parse_literal("75.0") == 75.0
    assert parse_literal("10") == 10 and isinstance(parse_literal("10"), int)
    assert parse_literal("true") is True
    assert parse_literal(2.5) == 2.5
    assert parse_literal("temperature") is None
    assert parse_literal("tank_level@prev") is None


@pytest.mark.parametrize("value", [math.inf, -math.inf, "inf", "-Infinity"])
def test_infinity_into_a_bool_is_an_error_as_the_readme_says(value):
    with pytest.raises(CoercionError):
        coerce(value, DataType.BOOL)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70, "9223372036854775808", 1e19, "1e300",
                                   pytest.param(10**400, id="10^400")])
def test_an_int_signal_refuses_values_beyond_signed_64_bits(value):
    with pytest.raises(CoercionError, match="outside the int range"):
        coerce(value, DataType.INT)


def test_the_int_range_ends_are_accepted():
    assert coerce(2**63 - 1, DataType.INT) == 2**63 - 1
    assert coerce(str(-(2**63)), DataType.INT) == -(2**63)


def test_an_int_too_large_for_any_column_is_refused_as_a_float_or_string_too():
    with pytest.raises(CoercionError, match="too large for a float"):
        coerce(10**400, DataType.FLOAT)
    with pytest.raises(CoercionError, match="to string"):
        coerce(10**5000, DataType.STRING)
