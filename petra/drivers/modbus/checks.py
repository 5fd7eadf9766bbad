"""Whole-plant checks of the `modbus` section: which signals its mappings write or read, and tables.

`declare` records each mapping's signal (written when the mapping reads the
device, with the type its data type and scaling deliver); `check` reports what
the schema cannot: a repeated connection name, a write to a read-only table, a
non-bool value in a bit table, a string without a length, a mapping that
writes to the device through scale factor 0.
"""

from __future__ import annotations

from petra.config.context import CheckContext, mappings
from petra.config.section_checks import driver_mapping, scaled, type_of
from petra.drivers.scaling import terms_of as scale_terms
from petra.drivers.scaling import uninvertible
from petra.values import DataType

MODBUS_TYPES = {
    "bool": DataType.BOOL, "int16": DataType.INT, "uint16": DataType.INT, "int32": DataType.INT,
    "uint32": DataType.INT, "int64": DataType.INT, "float32": DataType.FLOAT, "float64": DataType.FLOAT,
    "string": DataType.STRING,
}
"""The signal type each Modbus data type delivers (before scaling)."""
_READ_ONLY_TABLES = ("discrete_input", "input_register")
_BIT_TABLES = ("coil", "discrete_input")


def declare(ctx: CheckContext) -> None:
    """Each mapping that reads the device writes its signal; one that only writes to it reads its signal."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    for conn_index, conn in mappings(data.get("modbus")):
        for index, mapping in mappings(conn.get("mappings")):
            dtype = scaled(type_of(MODBUS_TYPES, mapping.get("data_type")), *scale_terms(mapping))
            driver_mapping(ctx, mapping, ("modbus", conn_index, "mappings", index),
                           f"modbus mapping of connection '{conn.get('name')}'", dtype, "modbus")


def check(ctx: CheckContext) -> None:
    """Connection names are unique; tables, directions, data types, lengths and scales fit together."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    ctx.unique(data.get("modbus"), "name", ("modbus",), "modbus connection name")
    for conn_index, conn in mappings(data.get("modbus")):
        for index, mapping in mappings(conn.get("mappings")):
            path = ("modbus", conn_index, "mappings", index)
            table, data_type = mapping.get("table"), mapping.get("data_type")
            if table in _READ_ONLY_TABLES and mapping.get("direction", "read") != "read":
                ctx.error((*path, "direction"), f"{table} is read-only; direction must be read")
            if table in _BIT_TABLES and data_type not in (None, "bool"):
                ctx.error((*path, "data_type"), f"a {table} holds one bit: data_type must be bool")
            if data_type == "string" and "length" not in mapping:
                ctx.error(path, "data_type string needs 'length' (number of registers)")
            problem = uninvertible(mapping)
            if problem is not None:
                ctx.error((*path, *problem[0]), problem[1])
