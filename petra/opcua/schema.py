"""JSON Schema of the `opcua` section, validated before its runtime exists."""

from __future__ import annotations

from petra.config.schema_builders import Schema, integer, obj, string


def opcua_schema() -> Schema:
    return obj({"endpoint": string("e.g. opc.tcp://0.0.0.0:4840/petra"),
                "port": integer(default=4840, minimum=1, maximum=65535)},
               description="OPC UA server.")
