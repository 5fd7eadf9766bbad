"""JSON Schema of the `opcua` section, generated from `settings.py`."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.opcua.settings import OpcuaSettings


def opcua_schema() -> Schema:
    """The settings' schema; a certificate and its key come together."""
    schema = schema_of(OpcuaSettings, OpcuaSettings.__doc__ or "")
    schema["dependentRequired"] = {"cert_file": ["key_file"], "key_file": ["cert_file"]}
    return schema
