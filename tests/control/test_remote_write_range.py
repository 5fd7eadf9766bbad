"""A signal's `min`/`max`: the range every remote write is held to, and the config errors around it.

The write goes through `petra.control.remote_write` (the control API here; OPC-UA and Sparkplug take the
same path), against a real running plant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config, load_config_text
from petra.control.api import ControlApi
from tests.control.conftest import PLANT, write_config
from tests.control.test_control_api import call
from tests.harness import RunningPlant

LIMITED = dict(PLANT, signals=[{"name": "setpoint", "type": "float", "initial": 50.0, "unit": "°C",
                                "min": 10, "max": 90},
                               *PLANT["signals"][1:],
                               {"name": "speed", "type": "int", "initial": 3, "min": 0}])


@pytest.fixture
def running(tmp_path: Path):
    config_path = write_config(tmp_path / "plant.yaml", LIMITED)
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path,
                      audit_log=tmp_path / "audit.log") as plant:
        yield plant.runtime


def test_a_write_inside_the_range_lands_and_one_outside_is_refused_with_the_range(running, tmp_path):
    api = ControlApi(running)
    assert call(api, "PUT", "/v1/signals/setpoint", {"value": 90})[0] == 200
    status, body = call(api, "PUT", "/v1/signals/setpoint", {"value": 90.5})
    assert status == 422 and "10 to 90 °C" in body["error"], body
    status, body = call(api, "PUT", "/v1/signals/speed", {"value": -1})
    assert status == 422 and "0 to inf" in body["error"], body
    assert call(api, "PUT", "/v1/signals/setpoint", {"value": "nan"})[0] == 422
    assert running.plant.table.read("setpoint").value == 90.0
    assert running.plant.table.read("speed").value == 3
    sets = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [e["details"]["value"] for e in sets if e["event"] == "signal.set"] == [90.0]


def test_the_signal_list_carries_the_limits_for_the_pages_setpoint_controls(running):
    api = ControlApi(running)
    listed = {s["name"]: s for s in call(api, "GET", "/v1/signals")[1]["signals"]}
    assert (listed["setpoint"]["min"], listed["setpoint"]["max"]) == (10.0, 90.0)
    assert "max" not in listed["speed"] and "min" not in listed["enable"]
    assert call(api, "GET", "/v1/signals/setpoint")[1]["max"] == 90.0


@pytest.mark.parametrize(("signal", "expected"), [
    ({"name": "on", "type": "bool", "max": 1}, "signals[0].max: 'max' limits a number; signal 'on' is bool"),
    ({"name": "sp", "type": "float", "min": 5, "max": 1}, "signals[0].max: max 1.0 is below min 5.0"),
    ({"name": "sp", "type": "float", "min": "low"}, "signals[0].min"),
])
def test_a_limit_that_cannot_hold_is_a_located_config_error(signal, expected):
    text = "scan_time_ms: 100\nsignals:\n  - " + json.dumps(signal) + "\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "plant.yaml")
    assert expected in str(caught.value) and "plant.yaml:3:" in str(caught.value), str(caught.value)
