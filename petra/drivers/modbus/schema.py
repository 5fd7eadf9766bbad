"""JSON Schema of the `modbus` section, generated from its settings (`config.py`); defaults are filled by the loader."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array
from petra.config.settings import schema_of
from petra.drivers.modbus.config import ModbusConnectionConfig, ModbusMapping
from petra.drivers.scaling import with_flat_offset

RTU_NEEDS_SERIAL = {"if": {"properties": {"transport": {"const": "rtu"}}, "required": ["transport"]},
                    "then": {"required": ["serial"]}, "else": {"required": ["host"]}}


def modbus_schema() -> Schema:
    """A list of connections; rtu needs `serial`, tcp needs `host`."""
    connection = {**schema_of(ModbusConnectionConfig), "allOf": [RTU_NEEDS_SERIAL]}
    connection["properties"]["mappings"]["items"] = with_flat_offset(schema_of(ModbusMapping))
    return array(connection, "Modbus TCP/RTU connections.")
