"""JSON Schema of the `mqtt` section, generated from `MqttSettings` (`config.py`); defaults are filled by the loader."""

from __future__ import annotations

from petra.config.schema_builders import Schema
from petra.config.settings import schema_of
from petra.drivers.mqtt.config import MqttSettings, TlsConfig


def mqtt_schema() -> Schema:
    """The settings' schema; a TLS client certificate and key come together."""
    schema = schema_of(MqttSettings, "MQTT client: publishes signals, writes subscribed topics into signals.")
    schema["properties"]["tls"] = {**schema_of(TlsConfig),
                                   "dependentRequired": {"cert_file": ["key_file"], "key_file": ["cert_file"]}}
    return schema
