"""A real PETRA with its control API on 127.0.0.1 (TLS or plain) and a users file, for the access tests.

Clients connect from any 127.0.0.x source address (`source=`): each is another
client address to the server, which is what the lock-out counts by.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from petra.config.loader import load_config
from petra.control.auth import Identities
from petra.security import user_changes
from petra.security.roles import Role
from tests.control.conftest import PLANT, write_config
from tests.harness import RunningPlant, free_port
from tests.peers.certificates import self_signed

PASSWORD = "correct horse battery"


@dataclass
class Reply:
    status: int
    body: Any
    headers: http.client.HTTPMessage

    def cookie(self) -> dict[str, Any]:
        """The Set-Cookie of petra_session as {"value": ..., attribute: value}."""
        header = self.headers.get("Set-Cookie")
        assert header is not None, "no Set-Cookie in the answer"
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        morsel = jar["petra_session"]
        found: dict[str, Any] = {"value": morsel.value, "raw": header}
        found.update({key: morsel[key] for key in ("httponly", "samesite", "path", "secure", "max-age")})
        return found


@dataclass
class Served:
    """The running plant, its TCP port and what a client needs."""

    running: RunningPlant
    port: int
    tls: bool
    cert: Path | None
    users_file: Path
    audit: Path
    clock: list[float] = field(default_factory=lambda: [1_000_000.0])

    @property
    def runtime(self) -> Any:
        return self.running.runtime

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             session: str | None = None, csrf: str | None = None, source: str = "127.0.0.1",
             headers: dict[str, str] | None = None) -> Reply:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if session is not None:
            sent["Cookie"] = f"petra_session={session}"
        if csrf is not None:
            sent["X-CSRF-Token"] = csrf
        if self.tls:
            assert self.cert is not None
            context = ssl.create_default_context(cafile=str(self.cert))
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=context, timeout=30, source_address=(source, 0))
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(source, 0))
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = conn.getresponse()
            text = response.read()
            return Reply(response.status, json.loads(text) if text else None, response.headers)
        finally:
            conn.close()

    def login(self, user: str, password: str = PASSWORD, source: str = "127.0.0.1") -> Reply:
        return self.call("POST", "/v1/login", {"user": user, "password": password}, source=source)

    def session(self, user: str, password: str = PASSWORD, source: str = "127.0.0.1") -> tuple[str, str]:
        """A logged-in session: (cookie value, csrf)."""
        reply = self.login(user, password, source)
        assert reply.status == 200, reply.body
        return reply.cookie()["value"], reply.body["csrf"]

    def audit_entries(self, event: str | None = None) -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in self.audit.read_text().splitlines()]
        return [e for e in entries if event is None or e["event"] == event]

    def advance(self, seconds: float) -> None:
        """Move the identity's clock (sessions and lock-out) on."""
        self.clock[0] += seconds

    def stop(self) -> None:
        self.running.stop()


def add_users(path: Path, users: dict[str, Role]) -> None:
    for name, role in users.items():
        user_changes.add_user(path, name, role, PASSWORD, lambda *a, **k: None, "uid:0")


def serve(tmp_path: Path, users: dict[str, Role] | None = None, *, tls: bool = True,
          tokens: list[dict[str, str]] | None = None, security: dict[str, Any] | None = None,
          signals: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None,
          on_runtime: Callable[[Any], None] | None = None) -> Served:
    """Start PETRA with `users` in a fresh users file (the identity on an injected clock)."""
    users_file = tmp_path / "users.yaml"
    if users:
        add_users(users_file, users)
    port = free_port()
    tcp: dict[str, Any] = {"host": "127.0.0.1", "port": port, "tokens": tokens or []}
    cert = None
    if tls:
        cert, key = self_signed(tmp_path)
        tcp.update(cert_file=str(cert), key_file=str(key))
    else:
        tcp["self_signed"] = False
    plant = dict(PLANT, control={"tcp": tcp},
                 security={"users_file": str(users_file), **(security or {})}, **(extra or {}))
    if signals:
        plant["signals"] = [*PLANT["signals"], *signals]
    config_path = write_config(tmp_path / "plant.yaml", plant)
    running = RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                           audit_log=tmp_path / "audit.log")
    served = Served(running, port, tls, cert, users_file, tmp_path / "audit.log")
    identities = Identities(running.runtime.audit, now=lambda: served.clock[0])
    running.runtime.wiring.section_state("control")["identities"] = identities
    if on_runtime is not None:
        on_runtime(running.runtime)
    running.start()
    return served
