"""JSON Schema of the `web` section, generated from `settings.py`."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.web.settings import WebSettings


def web_schema() -> Schema:
    """The settings' schema; a TLS certificate and key come together."""
    schema = schema_of(WebSettings, WebSettings.__doc__ or "")
    schema["dependentRequired"] = {"cert_file": ["key_file"], "key_file": ["cert_file"]}
    return schema
