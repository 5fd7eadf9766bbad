"""JSON Schema of the `s7` section, generated from its settings (`config.py`); defaults are filled by the loader."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array
from petra.config.settings import schema_of
from petra.drivers.s7.config import S7Mapping, S7PlcConfig
from petra.drivers.scaling import with_flat_offset

DB_NEEDS_NUMBER = {"if": {"properties": {"area": {"const": "DB"}}, "required": ["area"]},
                   "then": {"required": ["db_number"]}}


def s7_schema() -> Schema:
    """One PLC as a mapping (its name optional) or a list of named PLCs; area DB needs a db_number."""
    mapping = with_flat_offset({**schema_of(S7Mapping), "allOf": [DB_NEEDS_NUMBER]})
    plc = schema_of(S7PlcConfig)
    plc["properties"]["mappings"]["items"] = mapping
    one = {**plc, "required": ["ip"]}
    several = array({**plc, "required": ["name", "ip"]}, minItems=1)
    return {
        "description": "Siemens S7 PLCs: one PLC as a mapping, or a list of PLCs with names.",
        "oneOf": [one, several],
    }
