"""The `s7` section's settings: one declaration for its schema, defaults and typed model.

The section is one PLC (a mapping; its name defaults to "plc") or a list of
named PLCs. Times keep the YAML's milliseconds; properties give seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.config.schema_builders import NAME_PATTERN
from petra.config.settings import parse, setting
from petra.drivers.mapping import DIRECTIONS, Directional, Polled
from petra.drivers.scaling import SCALE_DOC, SCALE_SCHEMA, Scale, nested

AREAS = ("DB", "MK", "PE", "PA")
"""S7 memory areas: DB data blocks, MK flags (merker), PE process inputs, PA process outputs."""
DATA_TYPES = ("bool", "byte", "word", "int", "dword", "dint", "real", "lreal", "string")
STRING_DEFAULT_LENGTH = 254


@dataclass(frozen=True)
class S7Mapping(Directional):
    """One signal at one PLC address (e.g. DB10.DBX4.1 is area DB, db 10, address 4, bit 1)."""

    signal: str = setting(minLength=1)
    area: str = setting(doc="DB data block, MK flags, PE inputs, PA outputs.", enum=AREAS)
    address: int = setting(doc="Byte offset.", minimum=0)
    data_type: str = setting(enum=DATA_TYPES)
    db_number: int = setting(0, schema_default=False, minimum=1, maximum=65535)
    """Required for area DB (the schema's if/then); 0 for the other areas."""
    bit: int = setting(0, minimum=0, maximum=7)
    direction: str = setting("read", enum=DIRECTIONS)
    length: int = setting(STRING_DEFAULT_LENGTH, doc="Characters, for data_type string (an S7 STRING[length]).",
                          minimum=1, maximum=254)
    """Characters of an S7 STRING[length]; it occupies length + 2 bytes."""
    scale: Scale = setting(default_factory=Scale, doc=SCALE_DOC, schema=SCALE_SCHEMA)

    @property
    def scaled(self) -> bool:
        return not self.scale.identity

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
class S7PlcConfig(Polled):
    """One PLC connection."""

    name: str = setting(doc="Names this PLC (required when there are several).", pattern=NAME_PATTERN)
    ip: str = setting(doc="IP address or host name of the PLC.", minLength=1)
    rack: int = setting(0, minimum=0, maximum=7)
    slot: int = setting(1, doc="1 for S7-1200/1500, 2 for S7-300.", minimum=0, maximum=31)
    port: int = setting(102, minimum=1, maximum=65535)
    poll_interval_ms: int = setting(100, unit="ms", minimum=1)
    timeout_ms: int = setting(5000, unit="ms", minimum=1)
    mappings: tuple[S7Mapping, ...] = setting(())

    @property
    def driver_id(self) -> str:
        return f"s7:{self.name}"


def plcs_from_section(section: Any) -> list[S7PlcConfig]:
    """Every PLC of a validated `s7` section (a dict for one PLC, a list for several)."""
    if not section:
        return []
    items = [{"name": "plc", **section}] if isinstance(section, dict) else list(section)
    return [parse(S7PlcConfig, {**item, "mappings": [nested(m) for m in item.get("mappings") or ()]})
            for item in items]
