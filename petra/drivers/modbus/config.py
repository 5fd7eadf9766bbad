"""The `modbus` section's settings: one declaration for its schema, defaults and typed model.

One `ModbusConnectionConfig` per TCP device or serial (RTU) bus; each mapping
names the unit id it lives on. Times keep the YAML's milliseconds; properties
give seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.config.schema_builders import NAME_PATTERN
from petra.config.settings import parse, setting
from petra.drivers.mapping import DIRECTIONS, Directional, Polled
from petra.drivers.scaling import SCALE_DOC, SCALE_SCHEMA, Scale, nested

BIT_TABLES = ("coil", "discrete_input")
REGISTER_TABLES = ("holding_register", "input_register")
WRITABLE_TABLES = ("coil", "holding_register")
TABLES = ("coil", "discrete_input", "holding_register", "input_register")
DATA_TYPES = ("bool", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64", "string")
ORDERS = ("big", "little")


@dataclass(frozen=True)
class ModbusMapping(Directional):
    """One signal at one protocol address (0-based) of one unit's table."""

    signal: str = setting(minLength=1)
    table: str = setting(enum=TABLES)
    address: int = setting(doc="Protocol address (0-based).", minimum=0, maximum=65535)
    data_type: str = setting(enum=DATA_TYPES)
    unit_id: int = setting(1, minimum=0, maximum=255)
    length: int = setting(1, doc="Registers, for data_type string.", schema_default=False, minimum=1, maximum=125)
    """Registers, for data_type string (two characters each); the checks require it for strings."""
    byte_order: str = setting("big", enum=ORDERS)
    word_order: str = setting("big", enum=ORDERS)
    scale: Scale = setting(default_factory=Scale, doc=SCALE_DOC, schema=SCALE_SCHEMA)
    direction: str = setting("read", enum=DIRECTIONS)

    @property
    def is_bit(self) -> bool:
        return self.table in BIT_TABLES

    @property
    def scaled(self) -> bool:
        return not self.scale.identity


@dataclass(frozen=True)
class SerialSettings:
    """An RTU bus's serial line."""

    port: str = setting(doc="Serial device, e.g. /dev/ttyUSB0.", minLength=1)
    baudrate: int = setting(9600, minimum=50)
    parity: str = setting("N", enum=("N", "E", "O"))
    stopbits: int = setting(1, enum=(1, 2))
    bytesize: int = setting(8, enum=(7, 8))


@dataclass(frozen=True)
class ModbusConnectionConfig(Polled):
    """One TCP device or one RTU bus with many units."""

    name: str = setting(doc="Names this connection.", pattern=NAME_PATTERN)
    transport: str = setting("tcp", enum=("tcp", "rtu"))
    host: str = setting("", schema_default=False, minLength=1)
    """Required for tcp (the schema's if/else); unused on a serial bus."""
    port: int = setting(502, minimum=1, maximum=65535)
    serial: SerialSettings | None = None
    """The serial line for transport rtu; ignored (None) for tcp."""
    timeout_ms: int = setting(1000, unit="ms", minimum=1)
    poll_interval_ms: int = setting(100, unit="ms", minimum=1)
    mappings: tuple[ModbusMapping, ...] = setting(())

    @property
    def driver_id(self) -> str:
        return f"modbus:{self.name}"

    @property
    def target(self) -> str:
        return self.serial.port if self.serial else f"{self.host}:{self.port}"


def connections_from_section(section: Any) -> list[ModbusConnectionConfig]:
    """Every connection of a validated `modbus` section (a `serial` block counts only for rtu)."""
    return [
        parse(ModbusConnectionConfig, {
            **{key: value for key, value in item.items() if key != "serial" or item.get("transport") == "rtu"},
            "mappings": [nested(m) for m in item.get("mappings") or ()],
        })
        for item in section or ()
    ]
