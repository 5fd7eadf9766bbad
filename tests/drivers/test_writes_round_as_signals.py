"""A float written to an integer device field becomes the integer an int signal would hold (`petra.values.coerce`).

The case folders pin examples through the real peers; this holds the two rules
to being one over many values, so that neither can drift from the other.
"""

from __future__ import annotations

import struct

import pytest

from petra.drivers.modbus import codec as modbus
from petra.drivers.s7 import codec as s7
from petra.values import DataType, coerce

FLOATS = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999999999996, 2.5000000000000004, 41.6, -41.6, 0.3 / 0.1,
          0.7 / 0.1, 32766.5, -32767.5, 1e-300, -0.0]


@pytest.mark.parametrize("value", FLOATS)
def test_an_s7_int_write_holds_what_an_int_signal_of_the_value_holds(value: float) -> None:
    assert s7.encode("dint", value) == struct.pack(">i", coerce(value, DataType.INT))


@pytest.mark.parametrize("value", FLOATS)
def test_a_modbus_int_write_holds_what_an_int_signal_of_the_value_holds(value: float) -> None:
    assert modbus.encode("int32", value) == list(struct.unpack(">HH", struct.pack(">i", coerce(value, DataType.INT))))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_what_an_int_signal_refuses_an_int_write_refuses(value: float) -> None:
    with pytest.raises(ValueError):
        coerce(value, DataType.INT)
    with pytest.raises(s7.S7EncodeError, match="is not an integer"):
        s7.encode("int", value)
    with pytest.raises(modbus.ModbusEncodeError, match="is not an integer"):
        modbus.encode("int16", value)


def test_a_float_past_the_int_signal_range_does_not_fit_int64() -> None:
    with pytest.raises(modbus.ModbusEncodeError, match="does not fit int64"):
        modbus.encode("int64", 1e19)
