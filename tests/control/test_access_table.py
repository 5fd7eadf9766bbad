"""Each role against each route: a real PETRA on 127.0.0.1 with TLS, one config token per role.

The routes walked are the ones the server serves (`ControlApi.table()`: the
built-in ones and the alarm section's), so a route added without a role in
`petra.control.access` fails here, and so does one whose role the server does
not enforce. A caller below the route's role gets 403 (audited); a caller at or
above it gets past the check: whatever the handler answers (200, or 400/404/409
for the deliberately harmless bodies below), never 401 or 403. Without
credentials every route but the login is 401.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petra.config.loader import load_config
from petra.control.access import BUILT_IN, EVENTS
from petra.control.api import ApiRoute, ControlApi
from petra.runtime import Runtime
from petra.security.roles import ROLE_NAMES, Role
from tests.control.conftest import PLANT, write_config
from tests.harness import RunningPlant, free_port
from tests.peers.certificates import self_signed

ALARM = {"id": "hot", "name": "Hot", "signal": "setpoint", "condition": "above", "setpoint": 80.0,
         "severity": "critical"}
TOKENS = {role: f"{role}-secret-token" for role in ROLE_NAMES}
SAMPLES = {"name": "setpoint", "id": "hot"}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/signals/setpoint"): {"value": 55},  # a real write: 200 for operator and above
}
"""Every other request sends {}: each handler refuses it as a bad request (400, 404, 409) or does
something harmless (a reload of the unchanged file), so an allowed call changes nothing that matters."""


EXPECTED = {
    ("GET", "/v1/status"): "viewer",
    ("GET", "/v1/tree"): "viewer",
    ("GET", "/v1/signals"): "viewer",
    ("GET", "/v1/signals/setpoint"): "viewer",
    ("GET", "/v1/history"): "viewer",
    ("GET", "/v1/events"): "viewer",
    ("PUT", "/v1/signals/setpoint"): "operator",
    ("POST", "/v1/signals/setpoint/force"): "engineer",
    ("DELETE", "/v1/signals/setpoint/force"): "engineer",
    ("POST", "/v1/reload"): "engineer",
    ("POST", "/v1/actors/restart"): "engineer",
    ("POST", "/v1/actors/inject"): "engineer",
    ("GET", "/v1/alarms"): "viewer",
    ("GET", "/v1/alarms/kpi"): "viewer",
    ("GET", "/v1/alarms/history"): "viewer",
    ("GET", "/v1/alarms/deliveries"): "viewer",
    ("GET", "/v1/alarms/hot"): "viewer",
    ("POST", "/v1/alarms/hot/ack"): "operator",
    ("POST", "/v1/alarms/hot/disable"): "engineer",
}
"""The issue's roles, written out independently of petra.control.access: the served table must say the same."""


class Server:
    def __init__(self, runtime: Runtime, port: int, cert: Path, audit: Path) -> None:
        self.runtime, self.port, self.audit = runtime, port, audit
        self.context = ssl.create_default_context(cafile=str(cert))

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, http.client.HTTPResponse]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = conn.getresponse()
            if response.getheader("Content-Type", "").startswith("text/event-stream"):
                return response.status, None, response  # a stream: the status is what counts here
            text = response.read()
            return response.status, json.loads(text) if text else None, response
        finally:
            conn.close()

    def audit_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


def start(tmp_path: Path, **security: Any) -> tuple[RunningPlant, Server]:
    cert, key = self_signed(tmp_path)
    port = free_port()
    plant = dict(PLANT, control={"tcp": {"host": "127.0.0.1", "port": port, "cert_file": str(cert),
                                         "key_file": str(key),
                                         "tokens": [{"name": role, "token": TOKENS[role], "role": role}
                                                    for role in ROLE_NAMES]}},
                 alarms={"alarms": [ALARM], "contacts": [], "escalation_chains": {},
                         "state_dir": str(tmp_path / "alarms")})
    plant["security"] = {"users_file": str(tmp_path / "users.yaml"), **security}
    config_path = write_config(tmp_path / "plant.yaml", plant)
    running = RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                           audit_log=tmp_path / "audit.log").start()
    return running, Server(running.runtime, port, cert, tmp_path / "audit.log")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running, served = start(tmp_path)
    try:
        yield served
    finally:
        running.stop()


def sample_path(route: ApiRoute) -> str:
    """The route's regex with each parameter filled in (`(?P<command>ack|shelve)` -> `ack`)."""
    def fill(match: re.Match[str]) -> str:
        name, body = match.group(1), match.group(2)
        return SAMPLES.get(name) or body.split("|")[0]
    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", fill, route.regex.pattern).removesuffix("/?")
    assert re.fullmatch(r"[\w/.-]+", path), f"cannot fill in {route.regex.pattern}"
    return path


def served_routes(runtime: Runtime) -> list[tuple[str, str, Role | None]]:
    api = ControlApi(runtime, routes=runtime.wiring.routes)
    routes = [(r.method, sample_path(r), r.role) for r in api.table()]
    return [*routes, (EVENTS.method, "/v1/events", EVENTS.role)]


def test_the_served_roles_are_the_issues_and_every_built_in_route_has_one(server):
    served = {(method, path): "open" if role is None else role.label
              for method, path, role in served_routes(server.runtime)}
    assert {key: served.get(key) for key in EXPECTED} == EXPECTED
    api = ControlApi(server.runtime, routes=server.runtime.wiring.routes)
    built_in = {(r.method, r.regex.pattern.removesuffix("/?")) for r in api.table()[:len(api._routes)]}
    assert built_in <= {(rule.method, rule.pattern) for rule in BUILT_IN}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_each_role_may_call_exactly_the_routes_at_or_below_its_role(server, role):
    mine = Role[role.upper()]
    wrong = []
    for method, path, needed in served_routes(server.runtime):
        body = None if method == "GET" else BODIES.get((method, path), {})
        status, answer, _ = server.call(method, path, body, token=TOKENS[role])
        allowed = needed is None or mine >= needed
        if allowed and status in (401, 403):
            wrong.append(f"{method} {path}: {status} {answer} but {role} may call it")
        if not allowed and (status != 403 or f"needs the {needed.label} role" not in answer["error"]):
            wrong.append(f"{method} {path}: {status} {answer} but {role} may not call it")
    assert not wrong, "\n".join(wrong)


def test_an_operator_writes_a_setpoint_and_a_viewer_is_refused_and_audited(server):
    status, body, _ = server.call("PUT", "/v1/signals/setpoint", {"value": 61}, token=TOKENS["operator"])
    assert status == 200 and body["value"] == 61.0
    status, body, _ = server.call("PUT", "/v1/signals/setpoint", {"value": 1}, token=TOKENS["viewer"])
    assert status == 403 and body["error"].endswith("needs the operator role; token:viewer has viewer")
    assert server.runtime.plant.table.read("setpoint").value == 61.0
    denied = [e for e in server.audit_entries() if e["event"] == "access.denied"]
    assert denied[-1]["actor"] == "token:viewer"
    assert denied[-1]["details"]["address"] == "127.0.0.1" and denied[-1]["details"]["needed"] == "operator"


def test_regression_an_operator_token_cannot_reload_and_an_engineer_can(server):
    status, body, _ = server.call("POST", "/v1/reload", token=TOKENS["operator"])
    assert status == 403 and "engineer" in body["error"]
    status, body, _ = server.call("POST", "/v1/reload", token=TOKENS["engineer"])
    assert status == 200 and body["accepted"] is True


def test_without_credentials_every_route_but_the_login_is_401(server):
    wrong = []
    for method, path, needed in served_routes(server.runtime):
        status, answer, _ = server.call(method, path, None if method == "GET" else {})
        if (status == 401) != (needed is not None):
            wrong.append(f"{method} {path}: {status} {answer}")
    assert not wrong, "\n".join(wrong)
    status, body, _ = server.call("PUT", "/v1/signals/setpoint", {"value": 3})
    assert status == 401 and body["error"].startswith("this request carries no credentials")
    status, body, _ = server.call("PUT", "/v1/signals/setpoint", {"value": 3}, token="not-a-token")
    assert status == 401 and body == {"error": "invalid bearer token"}
    assert server.runtime.plant.table.read("setpoint").value != 3.0
    entries = server.audit_entries()
    failed = [e for e in entries if e["event"] == "auth.token_failed"]
    assert len(failed) == 1 and failed[0]["details"]["address"] == "127.0.0.1"
    missing = [e for e in entries if e["event"] == "auth.missing"]
    assert len(missing) == 1 and missing[0]["actor"] == "address:127.0.0.1"  # once a minute per address, not 20x
