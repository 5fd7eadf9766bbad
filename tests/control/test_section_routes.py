"""Sections contribute control API routes as data: `Section.routes`, collected when the tree is built and on reload."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from petra import alarms, subsystems
from petra.config.loader import load_config
from petra.control.routes import Route
from tests.control.test_control_server import UnixHTTPConnection, request
from tests.harness import RunningPlant

ALARM = {"id": "hot", "name": "Hot", "signal": "temperature", "condition": "above", "setpoint": 80.0,
         "severity": "critical"}


def plant_data(state_dir: Path, with_alarms: bool) -> dict:
    data: dict = {"node_id": "routes", "scan_time_ms": 50,
                  "signals": [{"name": "temperature", "type": "float", "initial": 20.0, "group": "process"}]}
    if with_alarms:
        data["alarms"] = {"alarms": [ALARM], "contacts": [], "escalation_chains": {}, "state_dir": str(state_dir)}
    return data


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def no_routes(plant, wiring) -> list[Route]:
    return []


def test_the_alarm_section_names_its_routes_hook():
    assert alarms.SECTION.routes == "petra.alarms.api:routes"


def test_the_served_api_answers_the_alarm_routes_and_loses_them_when_a_reload_removes_alarms(tmp_path):
    config_path = write(tmp_path / "plant.yaml", plant_data(tmp_path / "alarms", with_alarms=True))
    socket = tmp_path / "ctl.sock"
    with RunningPlant(load_config(config_path), control_socket=socket, config_path=config_path) as plant:
        table = plant.runtime.wiring.routes
        assert table.sections() == ["alarms"]
        assert {r.pattern for r in table.routes()} >= {"/v1/alarms", "/v1/alarms/kpi"}
        status, body = request(UnixHTTPConnection(socket), "GET", "/v1/alarms")
        assert status == 200 and [a["id"] for a in body["alarms"]] == ["hot"]
        status, body = request(UnixHTTPConnection(socket), "GET", "/v1/alarms/nope")
        assert status == 404 and body["error"] == "unknown alarm 'nope'"

        write(config_path, plant_data(tmp_path / "alarms", with_alarms=False))
        assert plant.runtime.reload().accepted
        assert table.sections() == [] and table.routes() == ()
        status, body = request(UnixHTTPConnection(socket), "GET", "/v1/alarms")
        assert status == 404 and body["error"] == "no such endpoint: /v1/alarms"

        write(config_path, plant_data(tmp_path / "alarms", with_alarms=True))
        assert plant.runtime.reload().accepted
        status, body = request(UnixHTTPConnection(socket), "GET", "/v1/alarms/hot")
        assert status == 200 and body["id"] == "hot"


def test_the_route_table_is_what_the_section_hook_returns(tmp_path, monkeypatch: pytest.MonkeyPatch):
    hooked = dataclasses.replace(alarms.SECTION, routes=f"{__name__}:no_routes")
    monkeypatch.setattr(subsystems, "SECTIONS",
                        tuple(hooked if s is alarms.SECTION else s for s in subsystems.SECTIONS))
    socket = tmp_path / "ctl.sock"
    with RunningPlant(plant_data(tmp_path / "alarms", with_alarms=True), control_socket=socket) as plant:
        assert plant.runtime.wiring.routes.sections() == []
        assert plant.lookup("petra/alarms/alarm-router") is not None  # the actors run: only the routes are gone
        status, body = request(UnixHTTPConnection(socket), "GET", "/v1/alarms")
        assert status == 404, json.dumps(body)
