"""JSON Schema of the `control` section (the control API petra-ctl talks to), generated from `settings.py`."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.control.settings import ControlSettings


def control_schema() -> Schema:
    """The settings' schema; a TLS certificate and key come together."""
    schema = schema_of(ControlSettings, ControlSettings.__doc__ or "")
    schema["properties"]["tcp"]["dependentRequired"] = {"cert_file": ["key_file"], "key_file": ["cert_file"]}
    return schema
