"""The pure Modbus codec: register layouts, byte and word order, scaling and read coalescing.

Properties and the read plan here; the input/output cases (orders, ranges, strings, scaling,
refused writes) are folders in tests/drivers/cases/modbus/, run by tests/drivers/test_cases.py.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.drivers.modbus.codec import (
    MAX_BITS,
    MAX_REGISTERS,
    ModbusDecodeError,
    decode,
    encode,
    mapping_width,
    plan_reads,
)
from petra.drivers.modbus.config import ModbusMapping, connections_from_section

INTS = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1),
        "uint32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1)}
ORDERS = st.sampled_from(["big", "little"])


@given(st.sampled_from(sorted(INTS)), ORDERS, ORDERS, st.data())
def test_integers_round_trip_in_every_byte_and_word_order(data_type: str, byte_order: str, word_order: str,
                                                          data: st.DataObject) -> None:
    value = data.draw(st.integers(*INTS[data_type]))
    registers = encode(data_type, value, byte_order, word_order)
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode(data_type, registers, byte_order, word_order) == value


@given(st.floats(allow_nan=False, width=32), ORDERS, ORDERS)
def test_float32_round_trips_in_every_order(value: float, byte_order: str, word_order: str) -> None:
    assert decode("float32", encode("float32", value, byte_order, word_order), byte_order, word_order) == value


@given(st.floats(allow_nan=False), ORDERS, ORDERS)
def test_float64_round_trips_in_every_order(value: float, byte_order: str, word_order: str) -> None:
    assert decode("float64", encode("float64", value, byte_order, word_order), byte_order, word_order) == value


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=16), ORDERS)
def test_strings_round_trip_two_characters_per_register(text: str, byte_order: str) -> None:
    registers = encode("string", text, byte_order, length=8)
    assert len(registers) == 8
    assert decode("string", registers, byte_order, length=8) == text


def test_decode_refuses_fewer_registers_than_its_type_needs() -> None:
    with pytest.raises(ModbusDecodeError, match="float64 needs 4 registers, got 3"):
        decode("float64", [1, 2, 3])


def test_connections_become_typed_configs() -> None:
    conns = connections_from_section([
        {"name": "m", "host": "h", "mappings": [{"signal": "a", "table": "coil", "address": 1, "data_type": "bool"}]},
        {"name": "bus", "transport": "rtu", "serial": {"port": "/dev/x", "baudrate": 19200, "parity": "E"},
         "timeout_ms": 500},
    ])
    assert conns[0].driver_id == "modbus:m" and conns[0].mappings[0].is_bit
    assert conns[1].serial is not None and conns[1].serial.parity == "E" and conns[1].timeout_s == 0.5


def _mapping(unit: int, table: str, address: int, data_type: str) -> ModbusMapping:
    if table in ("coil", "discrete_input"):
        data_type = "bool"
    return ModbusMapping(f"u{unit}_{table}_{address}", table, address, data_type, unit_id=unit, length=4)


mappings_strategy = st.lists(
    st.builds(_mapping, st.integers(1, 3), st.sampled_from(["coil", "discrete_input", "holding_register",
                                                             "input_register"]),
              st.integers(0, 5000), st.sampled_from(["int16", "uint32", "float64", "string"])),
    max_size=80,
)


@given(mappings_strategy, st.integers(0, 50))
def test_a_read_plan_covers_every_mapping_once_within_the_protocol_limits(mappings: list[ModbusMapping],
                                                                          max_gap: int) -> None:
    plan = plan_reads(mappings, max_gap=max_gap)
    assert sorted(i for r in plan for i in r.members) == list(range(len(mappings)))
    for request in plan:
        limit = MAX_BITS if request.table in ("coil", "discrete_input") else MAX_REGISTERS
        assert request.count <= limit
        for i in request.members:
            m = mappings[i]
            assert (m.unit_id, m.table) == (request.unit_id, request.table)
            assert request.address <= m.address and m.address + mapping_width(m) <= request.address + request.count


def test_a_hundred_packed_registers_take_one_read_per_125() -> None:
    floats = [ModbusMapping(f"f{i}", "holding_register", 2 * i, "float32") for i in range(100)]
    assert len(plan_reads(floats)) == math.ceil(200 / 125) == 2
    bits = [ModbusMapping(f"c{i}", "coil", i, "bool") for i in range(100)]
    assert len(plan_reads(bits)) == 1
    units = [ModbusMapping(f"x{i}", "input_register", 0, "int16", unit_id=i) for i in range(1, 4)]
    assert len(plan_reads(units)) == 3


def test_only_small_holes_are_read_across() -> None:
    far = [ModbusMapping("a", "holding_register", 0, "int16"), ModbusMapping("b", "holding_register", 100, "int16")]
    assert len(plan_reads(far)) == 2
    assert len(plan_reads(far, max_gap=99)) == 1
