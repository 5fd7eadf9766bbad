"""JSON Schema of the `storage` section, generated from its settings (`settings.py`); the loader fills defaults."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.storage.settings import StorageSettings


def storage_schema() -> Schema:
    """The settings' schema; ClickHouse is reached by `url` or by `host`."""
    schema = schema_of(StorageSettings, StorageSettings.__doc__ or "")
    remote = schema["properties"]["remote"]
    remote["anyOf"] = [{"required": ["url"]}, {"required": ["host"]}]
    return schema
