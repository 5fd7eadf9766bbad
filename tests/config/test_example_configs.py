"""Every example in configs/ loads as it is, with the environment it documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from petra.config.loader import load_config
from tests.config.support import ORIGINAL_EXAMPLE, load, original_example_text

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DOCUMENTED_ENV = {
    "original-example.yaml": {
        "MQTT_USERNAME": "petra", "MQTT_PASSWORD": "secret", "CLICKHOUSE_PASSWORD": "x"
    },
}
EXPECTED = ["alarms-twilio.yaml", "counters-and-timers.yaml", "modbus.yaml", "mqtt-bridge.yaml",
            "original-example.yaml", "s7-plc.yaml", "storage-clickhouse.yaml", "tank-level.yaml",
            "temperature-pid.yaml"]
ORIGINAL_SHA256 = "c1f2a3e1fbc7adfd8db32c96466fece8e6f48e8e9a12f6644731fe623e7b70a5"
"""SHA-256 of the example exactly as the original PETRA description gives it."""


def test_all_the_documented_examples_exist():
    assert set(EXPECTED) <= {p.name for p in CONFIGS.glob("*.yaml")}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_an_example_config_loads_with_its_documented_environment(path):
    config = load_config(path, DOCUMENTED_ENV.get(path.name, {}))
    assert config.signals
    if path.name != "original-example.yaml":
        assert config.warnings == ()


def test_the_repo_copy_of_the_original_example_is_verbatim_below_a_header_of_comments():
    text = ORIGINAL_EXAMPLE.read_text()
    body = original_example_text()
    assert all(line.startswith("#") for line in text[: len(text) - len(body)].splitlines())
    assert hashlib.sha256(body.encode()).hexdigest() == ORIGINAL_SHA256


def test_an_unquoted_boolean_alarm_condition_is_accepted():
    config = load("""
        signals:
          - {name: flame_ok, type: bool}
        alarms:
          alarms:
            - {id: flame, signal: flame_ok, condition: false}
        """)
    assert config.sections["alarms"]["alarms"][0]["condition"] == "false"
