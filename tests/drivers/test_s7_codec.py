"""The pure S7 codec: byte order, bits, strings, scaling and read coalescing.

Properties and the read plan here; the input/output cases (byte order, ranges, strings, scaling,
refused writes) are folders in tests/drivers/cases/s7/, run by tests/drivers/test_cases.py.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.drivers.s7.codec import (
    decode,
    encode,
    mapping_size,
    plan_reads,
    set_bit,
)
from petra.drivers.s7.config import S7Mapping, plcs_from_section

RANGES = {"byte": (0, 255), "word": (0, 65535), "int": (-32768, 32767), "dword": (0, 2**32 - 1),
          "dint": (-(2**31), 2**31 - 1)}


@given(st.sampled_from(sorted(RANGES)), st.data())
def test_every_integer_in_range_round_trips(data_type: str, data: st.DataObject) -> None:
    low, high = RANGES[data_type]
    value = data.draw(st.integers(low, high))
    assert decode(data_type, b"\x00\x00" + encode(data_type, value), offset=2) == value


@given(st.floats(allow_nan=False, width=32))
def test_reals_round_trip_as_ieee_single(value: float) -> None:
    assert decode("real", encode("real", value)) == value


@given(st.floats(allow_nan=False))
def test_lreals_round_trip_as_ieee_double(value: float) -> None:
    assert decode("lreal", encode("lreal", value)) == value


@given(st.integers(0, 255), st.integers(0, 7), st.booleans())
def test_a_bit_is_set_without_touching_its_neighbours(byte: int, bit: int, on: bool) -> None:
    changed = set_bit(byte, bit, on)
    assert decode("bool", bytes([changed]), bit=bit) is on
    assert changed & ~(1 << bit) & 0xFF == byte & ~(1 << bit) & 0xFF


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=20))
def test_strings_round_trip_with_their_s7_header(text: str) -> None:
    data = encode("string", text, length=20)
    assert len(data) == 22 and data[0] == 20 and data[1] == len(text)
    assert decode("string", data, length=20) == text


def test_one_plc_as_a_mapping_and_several_as_a_list_give_typed_configs() -> None:
    one = plcs_from_section({"ip": "10.0.0.1", "poll_interval_ms": 250, "mappings": [
        {"signal": "a", "area": "DB", "db_number": 3, "address": 4, "bit": 2, "data_type": "bool"}]})
    assert one[0].name == "plc" and one[0].driver_id == "s7:plc" and one[0].poll_interval_s == 0.25
    assert one[0].mappings[0].label == "DB3.DBX4.2"


@pytest.mark.parametrize(("area", "data_type", "label"), [
    ("DB", "real", "DB1.DBD16"), ("DB", "dint", "DB1.DBD16"), ("DB", "int", "DB1.DBW16"), ("DB", "byte", "DB1.DBB16"),
    ("DB", "lreal", "DB1.DBB16"), ("MK", "word", "MW16"), ("PE", "bool", "I16.3"), ("PA", "dword", "QD16"),
])
def test_labels_name_the_address_with_its_size_as_a_plc_programmer_writes_it(
        area: str, data_type: str, label: str) -> None:
    assert S7Mapping("s", area, 16, data_type, db_number=1 if area == "DB" else 0, bit=3).label == label
    several = plcs_from_section([{"name": "a", "ip": "x"}, {"name": "b", "ip": "y"}])
    assert [p.driver_id for p in several] == ["s7:a", "s7:b"]


def _mapping(area: str, db: int, address: int, data_type: str) -> S7Mapping:
    return S7Mapping(f"{area}{db}_{address}_{data_type}", area, address, data_type,
                     db_number=db if area == "DB" else 0, length=10)


mappings_strategy = st.lists(
    st.builds(_mapping, st.sampled_from(["DB", "MK", "PE"]), st.integers(1, 3), st.integers(0, 2000),
              st.sampled_from(["bool", "byte", "int", "real", "lreal", "string"])),
    max_size=60,
)


@given(mappings_strategy, st.sampled_from([240, 480, 960]))
def test_a_read_plan_covers_every_mapping_exactly_once_within_the_pdu(mappings: list[S7Mapping], pdu: int) -> None:
    plan = plan_reads(mappings, pdu)
    served = sorted(i for request in plan for i in request.members)
    assert served == list(range(len(mappings)))
    for request in plan:
        assert request.size <= pdu - 18
        for i in request.members:
            m = mappings[i]
            assert m.area == request.area and (m.db_number if m.area == "DB" else 0) == request.db_number
            assert request.start <= m.address and m.address + mapping_size(m) <= request.start + request.size


@given(mappings_strategy)
def test_a_read_plan_never_needs_more_requests_than_mappings_or_fewer_than_the_bytes_allow(
        mappings: list[S7Mapping]) -> None:
    plan = plan_reads(mappings, 480)
    assert len(plan) <= len(mappings)
    groups = {(m.area, m.db_number if m.area == "DB" else 0) for m in mappings}
    assert len(plan) >= len(groups)


def test_a_hundred_packed_reals_need_one_request_per_462_bytes() -> None:
    mappings = [_mapping("DB", 1, 4 * i, "real") for i in range(100)]
    plan = plan_reads(mappings, 480)
    assert len(plan) == math.ceil(400 / 462) == 1
    spread = [_mapping("DB", 1, 8 * i, "real") for i in range(100)]
    assert len(plan_reads(spread, 480)) == math.ceil(796 / 462) == 2
    assert len(plan_reads(spread, 480, max_gap=0)) == 100


def test_areas_and_data_blocks_are_never_merged() -> None:
    plan = plan_reads([_mapping("DB", 1, 0, "int"), _mapping("DB", 2, 2, "int"), _mapping("MK", 0, 0, "int")])
    assert len(plan) == 3


def test_s7_modbus_and_mqtt_drivers_share_the_driver_metric_families_of_one_registry() -> None:
    from prometheus_client import CollectorRegistry

    from petra.drivers.driver_metrics import DriverMetrics
    from petra.drivers.mqtt.metrics import DriverMetrics as MqttMetrics

    registry = CollectorRegistry()
    s7 = DriverMetrics.for_driver(registry, "s7:a")
    mqtt = MqttMetrics(registry, "mqtt:b")
    modbus = DriverMetrics.for_driver(registry, "modbus:c")
    for metrics in (s7, mqtt, modbus):
        metrics.errors.inc()
    assert registry.get_sample_value("petra_driver_errors_total", {"driver": "mqtt:b"}) == 1
    assert registry.get_sample_value("petra_driver_errors_total", {"driver": "modbus:c"}) == 1
