"""Typed values, quality and the explicit coercion rules between types.

Rules (the same everywhere: config initial values, block literals, control API
writes, driver and MQTT payloads):

====== ============================ ============================ ==========================
to     from bool                    from int / float             from string
====== ============================ ============================ ==========================
bool   as is                        0 -> False, other -> True;   true/false, 1/0, on/off,
                                    NaN/inf is an error          yes/no (any case)
int    False -> 0, True -> 1        float: round half to even;   decimal integer, or a float
                                    NaN/inf is an error          text rounded as on the left
float  0.0 / 1.0                    as is (int widened); an int  any Python float literal
                                    too big for a float is an
                                    error
string "true" / "false"             str(value)                   as is
====== ============================ ============================ ==========================

An int signal is a signed 64-bit integer (what every tier stores, ClickHouse
Int64, Parquet int64, and what PLC and Modbus registers can hold): a result
outside [-2**63, 2**63 - 1] is an error, not a value to pass on. Every door
(control API, drivers, MQTT, blocks, config) goes through `coerce`, so a value
refused here never reaches the signal table or the WAL.
"""

from __future__ import annotations

import math
from enum import Enum, IntEnum

Value = bool | int | float | str


class DataType(str, Enum):  # noqa: UP042  (str mixin keeps json.dumps and YAML happy)
    """The type of a signal. Values are the names used in YAML."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STRING = "string"

    @property
    def default(self) -> Value:
        return _DEFAULTS[self]

    @property
    def is_numeric(self) -> bool:
        return self in (DataType.INT, DataType.FLOAT)


_DEFAULTS: dict[DataType, Value] = {
    DataType.BOOL: False,
    DataType.INT: 0,
    DataType.FLOAT: 0.0,
    DataType.STRING: "",
}


class Quality(IntEnum):
    """OPC UA style quality; a larger number is worse, so `max()` combines them."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


class CoercionError(ValueError):
    """A value that cannot be converted to the requested type."""


INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def type_of(value: object) -> DataType:
    """The DataType a Python value naturally has; CoercionError for anything that is not a Value."""
    if isinstance(value, bool):
        return DataType.BOOL
    if isinstance(value, int):
        return DataType.INT
    if isinstance(value, float):
        return DataType.FLOAT
    if isinstance(value, str):
        return DataType.STRING
    raise CoercionError(f"unsupported value {value!r} of type {type(value).__name__}")


def coerce(value: object, to: DataType) -> Value:
    """Convert `value` to type `to` by the rules in this module's docstring."""
    if to is DataType.BOOL:
        return _to_bool(value)
    if to is DataType.INT:
        return _to_int(value)
    if to is DataType.FLOAT:
        return _to_float(value)
    if to is DataType.STRING:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            try:
                return str(value)
            except ValueError:  # an int of more digits than Python will print
                raise CoercionError(f"cannot convert an int of {value.bit_length()} bits to string") from None
        if isinstance(value, (float, str)):
            return str(value)
    raise CoercionError(f"cannot convert {value!r} to {to.value}")


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CoercionError(f"cannot convert {value} to bool")
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CoercionError(f"cannot convert {value!r} to bool (expected true/false, 1/0, on/off)")


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _in_int_range(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CoercionError(f"cannot convert {value} to int")
        return _in_int_range(round(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 10)
        except ValueError:
            pass
        else:
            return _in_int_range(number)
        try:
            real = float(text)
        except ValueError:
            pass
        else:
            return _to_int(real)
    raise CoercionError(f"cannot convert {value!r} to int")


def _in_int_range(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise CoercionError(f"{_short(value)} is outside the int range (signed 64-bit: {INT_MIN} to {INT_MAX})")


def _short(value: int) -> str:
    """The number itself when it is printable at a glance, else its size."""
    return str(value) if value.bit_length() <= 256 else f"an int of {value.bit_length()} bits"


def _to_float(value: object) -> float:
    if isinstance(value, (bool, int, float)):
        try:
            return float(value)
        except OverflowError:
            raise CoercionError(f"{_short(int(value))} is too large for a float") from None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise CoercionError(f"cannot convert {value!r} to float")


def parse_literal(text: object) -> Value | None:
    """A block input written as a literal constant, or None if it names a signal.

    `"75.0"` -> 75.0, `"10"` -> 10, `"true"` -> True; YAML numbers and booleans
    are literals as they are. Anything else (e.g. `"temperature"`) is a signal name.
    """
    if isinstance(text, (bool, int, float)):
        return text
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(stripped, 10)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number
