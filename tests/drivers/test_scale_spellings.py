"""Both spellings of a mapping's scale, ``scale: {factor, offset}`` and flat ``scale:`` with ``offset:``,
on S7 and Modbus: the same model, the same values read from and written to the real peers, and an error
at the line of an offset given twice."""

from __future__ import annotations

import struct

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.drivers.modbus.config import connections_from_section
from petra.drivers.s7.config import plcs_from_section
from petra.drivers.scaling import Scale
from petra.simulator.servers import ModbusServer, S7Server
from petra.values import DataType
from tests.drivers.s7_support import good, running_plant, write_signals
from tests.helpers import wait_until
from tests.peers.modbus_server import modbus_server_fixture  # noqa: F401  (fixture modbus_server)
from tests.peers.snap7_server import s7_server_fixture  # noqa: F401  (fixture s7_server)

NESTED = {"scale": {"factor": 0.5, "offset": 1}}
FLAT = {"scale": 0.5, "offset": 1}
SPELLINGS = {"nested": NESTED, "flat": FLAT}


def s7_mapping(signal: str, address: int, spelling: dict, direction: str = "read") -> dict:
    return {"signal": signal, "area": "DB", "db_number": 1, "address": address, "data_type": "int",
            "direction": direction, **spelling}


def modbus_mapping(signal: str, address: int, spelling: dict, direction: str = "read") -> dict:
    return {"signal": signal, "table": "holding_register", "address": address, "data_type": "int16",
            "direction": direction, **spelling}


def yaml_config(s7_scale: str, modbus_scale: str) -> str:
    return f"""\
s7:
  ip: 127.0.0.1
  mappings:
    - {{signal: a, area: DB, db_number: 1, address: 0, data_type: int, {s7_scale}}}
modbus:
  - name: m
    host: 127.0.0.1
    mappings:
      - {{signal: b, table: holding_register, address: 0, data_type: uint16, {modbus_scale}}}
"""


@pytest.mark.parametrize("spelling", ["scale: {factor: 0.5, offset: 1}", "scale: 0.5, offset: 1"])
def test_both_spellings_give_the_same_scale_and_a_float_signal_on_both_drivers(spelling: str) -> None:
    config = load_config_text(yaml_config(spelling, spelling))
    assert plcs_from_section(config.sections["s7"])[0].mappings[0].scale == Scale(0.5, 1.0)
    assert connections_from_section(config.sections["modbus"])[0].mappings[0].scale == Scale(0.5, 1.0)
    assert config.signal("a").type is DataType.FLOAT and config.signal("b").type is DataType.FLOAT


@pytest.mark.parametrize("spelling", ["scale: 2", "offset: 1"])
def test_the_flat_spelling_alone_sets_the_factor_or_the_offset(spelling: str) -> None:
    config = load_config_text(yaml_config(spelling, spelling))
    expected = Scale(2.0, 0.0) if "scale" in spelling else Scale(1.0, 1.0)
    assert plcs_from_section(config.sections["s7"])[0].mappings[0].scale == expected
    assert connections_from_section(config.sections["modbus"])[0].mappings[0].scale == expected


def test_no_scale_is_the_identity_and_keeps_an_int_signal() -> None:
    config = load_config_text(yaml_config("bit: 0", "unit_id: 1"))
    assert plcs_from_section(config.sections["s7"])[0].mappings[0].scale == Scale()
    assert connections_from_section(config.sections["modbus"])[0].mappings[0].scale == Scale()
    assert config.signal("a").type is DataType.INT and config.signal("b").type is DataType.INT


def test_an_offset_given_in_both_spellings_is_an_error_at_its_line_on_both_drivers() -> None:
    both = "scale: {factor: 0.5, offset: 1}, offset: 2"
    with pytest.raises(ConfigError) as caught:
        load_config_text(yaml_config(both, both), "plant.yaml")
    messages = [str(problem) for problem in caught.value.problems]
    assert len(messages) == 2, messages
    assert messages[0].startswith("plant.yaml:4:") and "s7.mappings[0].offset: offset is given twice" in messages[0]
    assert messages[1].startswith("plant.yaml:9:") and "modbus[0].mappings[0].offset: offset is given twice" \
        in messages[1]


def test_both_spellings_read_and_write_the_same_values_on_the_s7_and_modbus_peers(
    s7_server: S7Server, modbus_server: ModbusServer
) -> None:
    db = s7_server.db(1)
    for address in (0, 2):
        struct.pack_into(">h", db, address, 42)
    modbus_server.set(1, "holding_register", 0, [42, 42])
    s7 = [s7_mapping(f"s7_{name}", 2 * i, spelling) for i, (name, spelling) in enumerate(SPELLINGS.items())]
    s7 += [s7_mapping(f"s7_out_{name}", 10 + 2 * i, spelling, "write") for i, (name, spelling) in
           enumerate(SPELLINGS.items())]
    modbus = [modbus_mapping(f"mb_{name}", i, spelling) for i, (name, spelling) in enumerate(SPELLINGS.items())]
    modbus += [modbus_mapping(f"mb_out_{name}", 10 + i, spelling, "write") for i, (name, spelling) in
               enumerate(SPELLINGS.items())]
    outputs = [f"{driver}_out_{name}" for driver in ("s7", "mb") for name in SPELLINGS]
    config = {
        "signals": [{"name": name, "type": "float", "initial": 22.0} for name in outputs],
        "s7": {"name": "plc", "ip": "127.0.0.1", "port": s7_server.port, "poll_interval_ms": 20,
               "timeout_ms": 1000, "mappings": s7},
        "modbus": [{"name": "dev", "host": "127.0.0.1", "port": modbus_server.port, "timeout_ms": 500,
                    "poll_interval_ms": 20, "mappings": modbus}],
    }
    inputs = [f"{driver}_{name}" for driver in ("s7", "mb") for name in SPELLINGS]

    def raw_outputs() -> list[int]:
        s7_raw = [struct.unpack_from(">h", db, address)[0] for address in (10, 12)]
        return [*s7_raw, *modbus_server.get(1, "holding_register", 10, 2)]

    with running_plant(config) as runtime:
        table = runtime.plant.table
        wait_until(lambda: all(table.read(n).value == 22.0 and good(runtime, n) for n in inputs))  # 42 * 0.5 + 1
        wait_until(lambda: raw_outputs() == [42, 42, 42, 42])  # (22 - 1) / 0.5
        write_signals(runtime, dict.fromkeys(outputs, 6.0))
        wait_until(lambda: raw_outputs() == [10, 10, 10, 10])
