"""Whole-plant checks of the `s7` section: which signals its mappings write or read, unique PLC names.

`declare` records each mapping's signal (written when the mapping reads the
PLC, with the type its S7 data type and scaling deliver); `check` reports what
the schema cannot: a repeated PLC name, a bit on a non-bool mapping, a
mapping that writes to the PLC through scale factor 0.
"""

from __future__ import annotations

from typing import Any

from petra.config.context import CheckContext, mappings
from petra.config.errors import Path_
from petra.config.section_checks import driver_mapping, scaled, type_of
from petra.drivers.scaling import terms_of as scale_terms
from petra.drivers.scaling import uninvertible
from petra.values import DataType

S7_TYPES = {
    "bool": DataType.BOOL, "byte": DataType.INT, "word": DataType.INT, "int": DataType.INT,
    "dword": DataType.INT, "dint": DataType.INT, "real": DataType.FLOAT, "lreal": DataType.FLOAT,
    "string": DataType.STRING,
}
"""The signal type each S7 data type delivers (before scaling)."""


def _plcs(ctx: CheckContext) -> list[tuple[Path_, dict[str, Any]]]:
    """`s7` is one PLC (a mapping) or a list of them."""
    s7 = ctx.data.get("s7") if isinstance(ctx.data, dict) else None
    if isinstance(s7, dict):
        return [(("s7",), s7)]
    return [(("s7", index), plc) for index, plc in mappings(s7)]


def declare(ctx: CheckContext) -> None:
    """Each mapping that reads the PLC writes its signal; one that only writes to it reads its signal."""
    for base, plc in _plcs(ctx):
        label = plc.get("name") or plc.get("ip")
        for index, mapping in mappings(plc.get("mappings")):
            dtype = scaled(type_of(S7_TYPES, mapping.get("data_type")), *scale_terms(mapping))
            driver_mapping(ctx, mapping, (*base, "mappings", index), f"s7 mapping of PLC '{label}'", dtype, "s7")


def check(ctx: CheckContext) -> None:
    """PLC names are unique; `bit` is given only for bool mappings; a writing mapping's scale can be inverted."""
    s7 = ctx.data.get("s7") if isinstance(ctx.data, dict) else None
    if not isinstance(s7, dict):
        ctx.unique(s7, "name", ("s7",), "PLC name")
    for base, plc in _plcs(ctx):
        for index, mapping in mappings(plc.get("mappings")):
            if mapping.get("data_type") != "bool" and mapping.get("bit", 0) not in (0, None):
                ctx.error((*base, "mappings", index, "bit"), "bit is only used with data_type bool")
            problem = uninvertible(mapping)
            if problem is not None:
                ctx.error((*base, "mappings", index, *problem[0]), problem[1])
