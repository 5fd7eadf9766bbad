"""JSON Schema of the `sparkplug` section, generated from `SparkplugSettings`."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.drivers.mqtt.config import TlsConfig
from petra.drivers.sparkplug.settings import SparkplugSettings


def sparkplug_schema() -> Schema:
    """The settings' schema; a TLS client certificate and key come together (as in `mqtt:`)."""
    schema = schema_of(SparkplugSettings, "Sparkplug B edge node: the plant's signals as Sparkplug metrics.")
    schema["properties"]["tls"] = {**schema_of(TlsConfig),
                                   "dependentRequired": {"cert_file": ["key_file"], "key_file": ["cert_file"]}}
    return schema
