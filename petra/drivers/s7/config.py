"""Typed S7 driver config, built from the loader's validated `s7` section.

The section is one PLC (a mapping; its name defaults to "plc") or a list of
named PLCs. Times in the YAML are milliseconds; the model keeps them in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.drivers.mapping import Directional

AREAS = ("DB", "MK", "PE", "PA")
STRING_DEFAULT_LENGTH = 254


@dataclass(frozen=True)
class S7Mapping(Directional):
    """One signal at one PLC address (e.g. DB10.DBX4.1 is area DB, db 10, address 4, bit 1)."""

    signal: str
    area: str
    address: int
    data_type: str
    db_number: int = 0
    bit: int = 0
    direction: str = "read"
    factor: float = 1.0
    offset: float = 0.0
    length: int = STRING_DEFAULT_LENGTH
    """Characters of an S7 STRING[length]; it occupies length + 2 bytes."""

    @property
    def scaled(self) -> bool:
        return self.factor != 1.0 or self.offset != 0.0

    @property
    def label(self) -> str:
        """The address as a PLC programmer writes it (DB1.DBD16 for a REAL, MW4, I0.1), for messages."""
        size = _SIZE_LETTERS.get(self.data_type, "B")  # LREAL and STRING have no letter: their first byte
        if self.area == "DB":
            if self.data_type == "bool":
                return f"DB{self.db_number}.DBX{self.address}.{self.bit}"
            return f"DB{self.db_number}.DB{size}{self.address}"
        area = _AREA_LETTERS[self.area]
        if self.data_type == "bool":
            return f"{area}{self.address}.{self.bit}"
        return f"{area}{size}{self.address}"


_SIZE_LETTERS = {"byte": "B", "word": "W", "int": "W", "dword": "D", "dint": "D", "real": "D"}
_AREA_LETTERS = {"MK": "M", "PE": "I", "PA": "Q"}


@dataclass(frozen=True)
class S7PlcConfig:
    """One PLC connection."""

    name: str
    ip: str
    rack: int = 0
    slot: int = 1
    port: int = 102
    poll_interval_s: float = 0.1
    timeout_s: float = 5.0
    mappings: tuple[S7Mapping, ...] = ()

    @property
    def driver_id(self) -> str:
        return f"s7:{self.name}"


def mapping_from_dict(item: dict[str, Any]) -> S7Mapping:
    scale = item.get("scale") or {}
    return S7Mapping(
        signal=item["signal"],
        area=item["area"],
        address=int(item["address"]),
        data_type=item["data_type"],
        db_number=int(item.get("db_number", 0) or 0),
        bit=int(item.get("bit", 0) or 0),
        direction=item.get("direction", "read"),
        factor=float(scale.get("factor", 1.0)),
        offset=float(scale.get("offset", 0.0)),
        length=int(item.get("length", STRING_DEFAULT_LENGTH)),
    )


def plc_from_dict(item: dict[str, Any], default_name: str = "plc") -> S7PlcConfig:
    return S7PlcConfig(
        name=str(item.get("name") or default_name),
        ip=str(item["ip"]),
        rack=int(item.get("rack", 0)),
        slot=int(item.get("slot", 1)),
        port=int(item.get("port", 102)),
        poll_interval_s=int(item.get("poll_interval_ms", 100)) / 1000.0,
        timeout_s=int(item.get("timeout_ms", 5000)) / 1000.0,
        mappings=tuple(mapping_from_dict(m) for m in item.get("mappings") or ()),
    )


def plcs_from_section(section: Any) -> list[S7PlcConfig]:
    """Every PLC of a validated `s7` section (a dict for one PLC, a list for several)."""
    if not section:
        return []
    if isinstance(section, dict):
        return [plc_from_dict(section)]
    return [plc_from_dict(item, f"plc{index}") for index, item in enumerate(section)]
