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
