"""A tool that needs one section loads only that one: other sections' ${VAR}s need not
be set, while its own section is substituted and checked as strictly as ever."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from petra.alarms import commands as alarm_cmds
from petra.config.errors import ConfigError
from petra.config.loader import load_sections

ORIGINAL = Path(__file__).resolve().parents[2] / "configs" / "original-example.yaml"


def test_the_twilio_section_of_the_original_example_loads_without_the_mqtt_and_clickhouse_secrets():
    config = load_sections(ORIGINAL, ["twilio"], env={})
    assert set(config.sections) == {"twilio"}
    assert config.sections["twilio"]["actions"][0]["trigger_signal"] == "emergency_stop"


def test_a_variable_inside_the_wanted_section_is_still_substituted_and_required(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_text('mqtt: {broker: "${BROKER}"}\ntwilio:\n  from_number: "${FROM}"\n')
    assert load_sections(path, ["twilio"], env={"FROM": "+15550000001"}).sections["twilio"]["from_number"] == (
        "+15550000001")
    with pytest.raises(ConfigError) as info:
        load_sections(path, ["twilio"], env={})
    assert [str(p) for p in info.value.problems] == [
        f"{path}:3:16: twilio.from_number: environment variable FROM not set (set it, or give a default: "
        "${FROM:-value})"
    ]


def test_the_wanted_section_is_checked_against_its_schema(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_text("scan_time_ms: fast\ntwilio:\n  from_numbr: '+1'\n")
    with pytest.raises(ConfigError) as info:
        load_sections(path, ["twilio"], env={})
    [problem] = [str(p) for p in info.value.problems]
    assert problem.startswith(f"{path}:3:3: twilio.from_numbr: unknown key") and "from_number" in problem


def test_petra_twilio_signal_needs_only_the_twilio_section(monkeypatch, capsys):
    for name in ("MQTT_USERNAME", "MQTT_PASSWORD", "CLICKHOUSE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser(prog="petra")
    alarm_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["twilio", "signal", "--config", str(ORIGINAL), "--signal", "emergency_stop",
                              "--value", "true", "--dry-run"])

    assert args.handler(args) == 0
    assert "action emergency_alert (call to +1234567890): would send" in capsys.readouterr().out
