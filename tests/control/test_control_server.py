"""The control API over its real transports: Unix socket (0660, peer uid) and TCP with TLS and tokens."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import stat
from pathlib import Path

import pytest


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=10)
        self.socket_path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.socket_path)


def request(conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers or {})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_the_unix_socket_is_mode_0660_and_callers_are_identified_by_uid(running, tmp_path):
    sock = tmp_path / "ctl.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o660
    conn = UnixHTTPConnection(sock)
    status, body = request(conn, "PUT", "/v1/signals/setpoint", {"value": 55})
    assert status == 200 and body["value"] == 55.0
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert entries[-1]["event"] == "signal.set" and entries[-1]["actor"] == f"uid:{os.getuid()}"


def test_change_events_stream_as_server_sent_events(running, tmp_path):
    conn = UnixHTTPConnection(tmp_path / "ctl.sock")
    conn.request("GET", "/v1/events?pattern=count")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    values = []
    while len(values) < 3:
        line = response.readline().decode()
        if line.startswith("data: "):
            event = json.loads(line[6:])
            assert {c["name"] for c in event["changes"]} == {"count"}
            values.extend(c["value"] for c in event["changes"])
    assert values == sorted(values) and len(set(values)) == len(values)  # the counter counts up
    conn.close()


def test_a_second_petra_refuses_to_steal_a_live_socket(running, tmp_path):
    from petra.control.server import LIMITS, bind_unix

    with pytest.raises(OSError, match="in use"):
        bind_unix(tmp_path / "ctl.sock", LIMITS)
    assert request(UnixHTTPConnection(tmp_path / "ctl.sock"), "GET", "/v1/status")[0] == 200


def test_tcp_with_tls_needs_a_valid_bearer_token_and_names_the_token_in_the_audit(tls_runtime, tmp_path):
    _runtime, port, cert = tls_runtime
    context = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    status, body = request(conn, "GET", "/v1/status")
    assert status == 401 and "token" in body["error"]
    status, body = request(conn, "GET", "/v1/status", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, body = request(conn, "PUT", "/v1/signals/setpoint", {"value": 42},
                           headers={"Authorization": "Bearer s3cret"})
    assert status == 200 and body["value"] == 42.0
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert entries[-1]["actor"] == "token:ops"
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        request(plain, "GET", "/v1/status", headers={"Authorization": "Bearer s3cret"})
