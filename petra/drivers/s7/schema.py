"""JSON Schema of the `s7` section; defaults given here are filled into `PlantConfig.sections`."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array, enum, integer, name, number, obj, signal_ref, string


def s7_schema() -> Schema:
    mapping = obj(
        {
            "signal": signal_ref(""),
            "area": enum(["DB", "MK", "PE", "PA"], "DB data block, MK flags, PE inputs, PA outputs."),
            "db_number": integer(minimum=1, maximum=65535),
            "address": integer("Byte offset.", minimum=0),
            "bit": integer(default=0, minimum=0, maximum=7),
            "data_type": enum(["bool", "byte", "word", "int", "dword", "dint", "real", "lreal", "string"]),
            "direction": enum(["read", "write", "read_write"], default="read"),
            "length": integer("Characters, for data_type string (an S7 STRING[length]).", default=254,
                              minimum=1, maximum=254),
            "scale": obj({"factor": number(default=1.0), "offset": number(default=0.0)},
                         description="signal = raw * factor + offset"),
        },
        required=("signal", "area", "address", "data_type"),
        allOf=[{"if": {"properties": {"area": {"const": "DB"}}, "required": ["area"]},
                "then": {"required": ["db_number"]}}],
    )
    plc_props = {
        "name": name("Names this PLC (required when there are several)."),
        "ip": string("IP address or host name of the PLC.", minLength=1),
        "rack": integer(default=0, minimum=0, maximum=7),
        "slot": integer("1 for S7-1200/1500, 2 for S7-300.", default=1, minimum=0, maximum=31),
        "port": integer(default=102, minimum=1, maximum=65535),
        "poll_interval_ms": integer(default=100, minimum=1),
        "timeout_ms": integer(default=5000, minimum=1),
        "mappings": array(mapping, default=[]),
    }
    one = obj(plc_props, required=("ip",))
    several = array(obj(plc_props, required=("name", "ip")), minItems=1)
    return {
        "description": "Siemens S7 PLCs: one PLC as a mapping, or a list of PLCs with names.",
        "oneOf": [one, several],
    }
