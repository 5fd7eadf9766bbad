"""Typed Modbus driver config, built from the loader's validated `modbus` section.

One `ModbusConnectionConfig` per TCP device or serial (RTU) bus; each mapping
names the unit id it lives on. Times in the YAML are milliseconds; the model
keeps them in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.drivers.mapping import Directional

BIT_TABLES = ("coil", "discrete_input")
REGISTER_TABLES = ("holding_register", "input_register")
WRITABLE_TABLES = ("coil", "holding_register")


@dataclass(frozen=True)
class ModbusMapping(Directional):
    """One signal at one protocol address (0-based) of one unit's table."""

    signal: str
    table: str
    address: int
    data_type: str
    unit_id: int = 1
    length: int = 1
    """Registers, for data_type string (two characters each)."""
    byte_order: str = "big"
    word_order: str = "big"
    scale: float = 1.0
    offset: float = 0.0
    direction: str = "read"

    @property
    def is_bit(self) -> bool:
        return self.table in BIT_TABLES

    @property
    def scaled(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0


@dataclass(frozen=True)
class SerialSettings:
    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8


@dataclass(frozen=True)
class ModbusConnectionConfig:
    """One TCP device or one RTU bus with many units."""

    name: str
    transport: str = "tcp"
    host: str = ""
    port: int = 502
    serial: SerialSettings | None = None
    timeout_s: float = 1.0
    poll_interval_s: float = 0.1
    mappings: tuple[ModbusMapping, ...] = ()

    @property
    def driver_id(self) -> str:
        return f"modbus:{self.name}"

    @property
    def target(self) -> str:
        return self.serial.port if self.serial else f"{self.host}:{self.port}"


def mapping_from_dict(item: dict[str, Any]) -> ModbusMapping:
    return ModbusMapping(
        signal=item["signal"],
        table=item["table"],
        address=int(item["address"]),
        data_type=item["data_type"],
        unit_id=int(item.get("unit_id", 1)),
        length=int(item.get("length", 1)),
        byte_order=item.get("byte_order", "big"),
        word_order=item.get("word_order", "big"),
        scale=float(item.get("scale", 1.0)),
        offset=float(item.get("offset", 0.0)),
        direction=item.get("direction", "read"),
    )


def connection_from_dict(item: dict[str, Any]) -> ModbusConnectionConfig:
    serial = item.get("serial")
    return ModbusConnectionConfig(
        name=str(item["name"]),
        transport=item.get("transport", "tcp"),
        host=str(item.get("host", "")),
        port=int(item.get("port", 502)),
        serial=SerialSettings(
            port=str(serial["port"]), baudrate=int(serial.get("baudrate", 9600)), parity=serial.get("parity", "N"),
            stopbits=int(serial.get("stopbits", 1)), bytesize=int(serial.get("bytesize", 8)),
        ) if serial and item.get("transport") == "rtu" else None,
        timeout_s=int(item.get("timeout_ms", 1000)) / 1000.0,
        poll_interval_s=int(item.get("poll_interval_ms", 100)) / 1000.0,
        mappings=tuple(mapping_from_dict(m) for m in item.get("mappings") or ()),
    )


def connections_from_section(section: Any) -> list[ModbusConnectionConfig]:
    """Every connection of a validated `modbus` section."""
    return [connection_from_dict(item) for item in section or ()]
