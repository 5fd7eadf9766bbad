"""JSON Schema of the `modbus` section; defaults given here are filled into `PlantConfig.sections`."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array, enum, integer, name, number, obj, signal_ref, string


def modbus_schema() -> Schema:
    mapping = obj(
        {
            "signal": signal_ref(""),
            "unit_id": integer(default=1, minimum=0, maximum=255),
            "table": enum(["coil", "discrete_input", "holding_register", "input_register"]),
            "address": integer("Protocol address (0-based).", minimum=0, maximum=65535),
            "data_type": enum(["bool", "int16", "uint16", "int32", "uint32", "int64", "float32",
                               "float64", "string"]),
            "length": integer("Registers, for data_type string.", minimum=1, maximum=125),
            "byte_order": enum(["big", "little"], default="big"),
            "word_order": enum(["big", "little"], default="big"),
            "scale": number("signal = raw * scale + offset", default=1.0),
            "offset": number(default=0.0),
            "direction": enum(["read", "write", "read_write"], default="read"),
        },
        required=("signal", "table", "address", "data_type"),
    )
    connection = obj(
        {
            "name": name("Names this connection."),
            "transport": enum(["tcp", "rtu"], default="tcp"),
            "host": string(minLength=1),
            "port": integer(default=502, minimum=1, maximum=65535),
            "serial": obj(
                {
                    "port": string("Serial device, e.g. /dev/ttyUSB0.", minLength=1),
                    "baudrate": integer(default=9600, minimum=50),
                    "parity": enum(["N", "E", "O"], default="N"),
                    "stopbits": enum([1, 2], default=1),
                    "bytesize": enum([7, 8], default=8),
                },
                required=("port",),
            ),
            "timeout_ms": integer(default=1000, minimum=1),
            "poll_interval_ms": integer(default=100, minimum=1),
            "mappings": array(mapping, default=[]),
        },
        required=("name",),
        allOf=[
            {"if": {"properties": {"transport": {"const": "rtu"}}, "required": ["transport"]},
             "then": {"required": ["serial"]}, "else": {"required": ["host"]}},
        ],
    )
    return array(connection, "Modbus TCP/RTU connections.")
