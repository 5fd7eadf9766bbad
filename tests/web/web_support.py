"""A real PETRA with a `web:` section on a free loopback port, and a small HTTP client of it (urllib-free:
http.client, so a test sees every status and header), for tests/web/test_web_*.py."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import yaml

from petra.config.loader import load_config
from petra.security import user_changes
from petra.security.roles import Role
from tests.harness import RunningPlant, free_port
from tests.web.sse import strict_json

PASSWORD = "correct horse battery"
USERS = {"vera": Role.VIEWER, "otto": Role.OPERATOR, "erin": Role.ENGINEER, "ada": Role.ADMIN}

SIGNALS: list[dict[str, Any]] = [
    {"name": "setpoint", "type": "float", "initial": 50.0, "unit": "°C", "description": "Vessel set-point"},
    {"name": "temperature", "type": "float", "initial": 20.0, "unit": "°C", "group": "process"},
    {"name": "enable", "type": "bool", "initial": True},
    {"name": "pump_on", "type": "bool", "initial": False},
    {"name": "tuning", "type": "float", "initial": 1.0, "writable_by": "engineer"},
    {"name": "label", "type": "string", "initial": "batch 7"},
]
SCREEN: dict[str, Any] = {
    "name": "vessel", "title": "Vessel", "widgets": [
        {"type": "value", "signal": "temperature", "x": 0, "y": 0, "w": 3},
        {"type": "gauge", "signal": "temperature", "x": 3, "y": 0, "w": 3, "min": 0, "max": 120},
        {"type": "lamp", "signal": "pump_on", "x": 6, "y": 0, "color": "red"},
        {"type": "switch", "signal": "pump_on", "x": 7, "y": 0},
        {"type": "setpoint", "signal": "setpoint", "x": 8, "y": 0, "w": 2, "min": 0, "max": 100},
        {"type": "setpoint", "signal": "tuning", "x": 10, "y": 0, "w": 2},
        {"type": "trend", "signals": ["temperature", "count"], "x": 0, "y": 1, "w": 12, "h": 4, "minutes": 5},
        {"type": "alarms", "x": 0, "y": 5, "w": 12, "h": 3},
    ]}


def plant_data(port: int, users_file: Path, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "node_id": "web-test",
        "scan_time_ms": 20,
        "security": {"users_file": str(users_file)},
        "signals": SIGNALS,
        "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                    "outputs": {"count_out": "count", "sine_out": "wave"}}],
        "web": {"host": "127.0.0.1", "port": port, "screens": [SCREEN]},
    }
    data.update(extra)
    return data


@dataclass
class Web:
    """A started PETRA serving its web HMI on `port`; `login` gives a `Session`."""

    directory: Path
    port: int
    running: RunningPlant
    audit: Path

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> tuple[int, Any, http.client.HTTPMessage]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = dict(headers or {})
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        connection.request(method, path, data, sent)
        reply = connection.getresponse()
        payload = reply.read()
        connection.close()
        kind = reply.headers.get("Content-Type", "")
        return reply.status, strict_json(payload) if kind.startswith("application/json") else payload, reply.headers

    def login(self, user: str) -> Session:
        status, body, headers = self.call("POST", "/v1/login", {"user": user, "password": PASSWORD})
        assert status == 200, body
        cookie = SimpleCookie(headers["Set-Cookie"])["petra_session"].value
        return Session(self, cookie, body["csrf"])


@dataclass
class Session:
    web: Web
    cookie: str
    csrf: str
    extra: dict[str, str] = field(default_factory=dict)

    def headers(self, write: bool = False) -> dict[str, str]:
        headers = {"Cookie": f"petra_session={self.cookie}"}
        if write:
            headers["X-CSRF-Token"] = self.csrf
        return headers

    def get(self, path: str) -> tuple[int, Any]:
        status, body, _ = self.web.call("GET", path, headers=self.headers())
        return status, body

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, reply, _ = self.web.call(method, path, body, headers=self.headers(write=True))
        return status, reply


def add_users(users_file: Path, users: dict[str, Role]) -> None:
    for name, role in users.items():
        user_changes.add_user(users_file, name, role, PASSWORD, lambda *a, **k: None, "uid:0")


@contextmanager
def serving(tmp_path: Path, users: dict[str, Role] | None = USERS, web: dict[str, Any] | None = None,
            **extra: Any) -> Iterator[Web]:
    """PETRA with `plant_data` (`web` keys over its web section, `extra` top-level keys) and `users` in its
    users file."""
    users_file = tmp_path / "users.yaml"
    if users:
        add_users(users_file, users)
    port = free_port()
    config_path = tmp_path / "plant.yaml"
    data = plant_data(port, users_file, **extra)
    data["web"].update(web or {})
    config_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    audit = tmp_path / "audit.log"
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                      audit_log=audit) as running:
        yield Web(tmp_path, port, running, audit)
