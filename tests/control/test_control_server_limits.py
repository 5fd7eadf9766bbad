"""The control server under attack: malformed, slow, idle and crowding clients get an answer or
are cut off, and never stop the API for everyone else. Raw sockets send what no client library would."""

from __future__ import annotations

import errno
import http.client
import json
import logging
import socket
import ssl
import threading
from pathlib import Path

import pytest

import petra.control.server as control_server
from petra.config.loader import load_config
from supervision import StartError
from tests.control.conftest import PLANT, write_config
from tests.control.test_control_server import UnixHTTPConnection, request
from tests.harness import RunningPlant, free_port
from tests.helpers import wait_until

CLIENT_TIMEOUT_S = 20.0
"""Far longer than the shortened server limits below: a client that times out means the server held on."""


@pytest.fixture
def short_limits(monkeypatch) -> control_server.Limits:
    """Server limits short enough that a test sees them end a connection."""
    limits = control_server.Limits(idle_timeout_s=0.5, body_timeout_s=0.5, handshake_timeout_s=0.5)
    monkeypatch.setattr(control_server, "LIMITS", limits)
    return limits


def unix_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))  # blocking: waits for room in the backlog, as a client library does
    sock.settimeout(CLIENT_TIMEOUT_S)
    return sock


def send_raw(sock: socket.socket, data: bytes, method: str = "GET") -> http.client.HTTPResponse:
    sock.sendall(data)
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def tracebacks(caplog, capfd) -> list[str]:
    logged = [r.getMessage() for r in caplog.records if r.exc_info]
    printed = [line for line in capfd.readouterr().err.splitlines() if "Traceback" in line]
    return logged + printed


def test_a_content_length_that_is_not_a_number_gets_a_400_and_no_traceback(running, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with unix_socket(tmp_path / "ctl.sock") as sock:
        response = send_raw(sock, b"PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        assert response.status == 400
    assert tracebacks(caplog, capfd) == []
    assert request(UnixHTTPConnection(tmp_path / "ctl.sock"), "GET", "/v1/status")[0] == 200


def test_a_negative_content_length_gets_a_400_at_once(running, tmp_path):
    with unix_socket(tmp_path / "ctl.sock") as sock:
        response = send_raw(sock, b"PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        assert response.status == 400


def test_a_body_shorter_than_its_content_length_is_cut_off_after_the_body_timeout(short_limits, running, tmp_path):
    with unix_socket(tmp_path / "ctl.sock") as sock:
        # the 408 and the rest of the body's lingering read take the body timeout each (0.5 s here);
        # the client waits far longer, yet less than the 10 s aiohttp would linger by itself
        sock.settimeout(5.0)
        sock.sendall(b'PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"value"')
        answer = read_until_closed(sock)  # the server ends it; a held connection times out here instead
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")
    assert running.plant.table.read("setpoint").value == 50.0


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(short_limits, running, tmp_path):
    with unix_socket(tmp_path / "ctl.sock") as sock:
        assert read_until_closed(sock) == b""


def test_an_idle_tcp_connection_does_not_block_the_tls_api(short_limits, tls_runtime, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    _runtime, port, cert = tls_runtime
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as idle:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S,
                                           context=ssl.create_default_context(cafile=str(cert)))
        status, _ = request(conn, "GET", "/v1/status", headers={"Authorization": "Bearer s3cret"})
        assert status == 200
        assert read_until_closed(idle) == b""  # a TLS handshake that never starts is ended too
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as plain:
        plain.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")  # HTTP where TLS is expected
        read_until_closed(plain)
    assert tracebacks(caplog, capfd) == []


def test_hundreds_of_half_open_connections_cost_no_threads_and_leave_no_tracebacks(
        running, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    before = threading.active_count()
    crowd = [unix_socket(tmp_path / "ctl.sock") for _ in range(300)]
    for sock in crowd:
        sock.sendall(b"GET /v1/sta")
    status, _ = request(UnixHTTPConnection(tmp_path / "ctl.sock"), "GET", "/v1/status")
    assert status == 200
    assert threading.active_count() - before < 20
    for sock in crowd:
        sock.close()
    status, _ = request(UnixHTTPConnection(tmp_path / "ctl.sock"), "GET", "/v1/tree")
    assert status == 200
    assert tracebacks(caplog, capfd) == []


@pytest.mark.parametrize("body, fragment", [
    (b'{"value": ' + b"9" * 400 + b"}", "integer"),
    (b'{"value": 1e400}', "finite"),
    (b'{"value": NaN}', "finite"),
    (b"[" * 100_000 + b"]" * 100_000, "deep"),
])
def test_huge_numbers_and_deeply_nested_bodies_get_a_4xx_with_a_message(running, tmp_path, body, fragment):
    conn = UnixHTTPConnection(tmp_path / "ctl.sock")
    conn.request("PUT", "/v1/signals/setpoint", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    assert 400 <= response.status < 500 and fragment in answer["error"]
    assert running.plant.table.read("setpoint").value == 50.0


def test_a_burst_of_connections_fits_the_unix_socket_backlog(running, tmp_path):
    burst = []
    refused = 0
    try:
        for _ in range(100):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            burst.append(sock)
            try:
                sock.connect(str(tmp_path / "ctl.sock"))
            except BlockingIOError as exc:
                refused += exc.errno == errno.EAGAIN
    finally:
        for sock in burst:
            sock.close()
    assert refused == 0


def test_patch_and_unknown_methods_get_a_json_405(running, tmp_path):
    for method in ("PATCH", "OPTIONS"):
        status, body = request(UnixHTTPConnection(tmp_path / "ctl.sock"), method, "/v1/signals/setpoint",
                               {"value": 1})
        assert status == 405 and method in body["error"]


def test_a_chunked_body_is_read_as_the_body_of_its_request(running, tmp_path):
    payload = b'{"value": 61}'
    with unix_socket(tmp_path / "ctl.sock") as sock:
        response = send_raw(sock, b"PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  b"Content-Type: application/json\r\n\r\n"
                                  + f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n", "PUT")
        assert response.status == 200 and json.loads(response.read())["value"] == 61.0
        follow_up = send_raw(sock, b"GET /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\n\r\n")
        assert follow_up.status == 200 and json.loads(follow_up.read())["value"] == 61.0


def test_a_stream_of_events_ends_when_the_plant_stops(tmp_path):
    config_path = write_config(tmp_path / "plant.yaml", PLANT)
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path):
        conn = UnixHTTPConnection(tmp_path / "ctl.sock")
        conn.request("GET", "/v1/events")
        response = conn.getresponse()
        assert response.status == 200 and response.readline().startswith(b":")
    while response.readline():
        pass  # the server ends the stream on stop; a stream left open would time out here


def test_require_tls_refuses_to_start_a_plaintext_tcp_listener(tmp_path):
    port = free_port()  # self_signed: false, no cert_file: plain HTTP asked for (without it: self-signed TLS)
    plant = dict(PLANT, security={"require_tls": True},
                 control={"tcp": {"port": port, "tokens": ["t0ken"], "self_signed": False}})
    config_path = write_config(tmp_path / "plant.yaml", plant)
    plant = RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path)
    with pytest.raises(StartError, match="require_tls"):
        plant.start()  # a start that fails is stopped again
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_require_tls_refuses_a_plain_metrics_endpoint_beyond_loopback(tmp_path):
    port = free_port()
    config_path = write_config(tmp_path / "plant.yaml", dict(PLANT, security={"require_tls": True}))
    plant = RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path,
                         metrics_port=port, metrics_host="0.0.0.0")
    with pytest.raises(StartError, match="require_tls"):
        plant.start()  # a start that fails is stopped again
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("kind, arg", [("hang", 1e308), ("hang", 1e9), ("slow", 1e308)])
def test_a_fault_argument_beyond_its_range_is_refused_with_422(running, tmp_path, kind, arg):
    status, body = request(UnixHTTPConnection(tmp_path / "ctl.sock"), "POST", "/v1/actors/inject",
                           {"path": "petra/core/clock", "kind": kind, "arg": arg})
    assert status == 422 and "arg" in body["error"]
    ticks = running.plant.stats.ticks
    wait_until(lambda: running.plant.stats.ticks > ticks + 3)  # the clock keeps ticking



@pytest.mark.parametrize("query", ["since=nan", "until=1e400", "max_points=0", "max_points=1e300"])
def test_history_query_numbers_out_of_range_get_a_400_that_names_them(tmp_path, query):
    storage = {"wal": {"wal_dir": str(tmp_path / "wal")}, "local": {"data_dir": str(tmp_path / "local")}}
    config_path = write_config(tmp_path / "plant.yaml", dict(PLANT, storage=storage))
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path):
        status, body = request(UnixHTTPConnection(tmp_path / "ctl.sock"), "GET", f"/v1/history?signal=count&{query}")
    assert status == 400 and query.split("=")[0] in body["error"]


def test_a_crashed_control_actor_releases_its_socket_and_its_successor_serves_again(running, tmp_path):
    sock = tmp_path / "ctl.sock"
    status, _ = request(UnixHTTPConnection(sock), "POST", "/v1/actors/inject",
                        {"path": "petra/services/control", "kind": "crash"})
    assert status == 200

    def control_restarted() -> bool:
        try:
            status, tree = request(UnixHTTPConnection(sock), "GET", "/v1/tree")
        except OSError:
            return False
        services = next(n for n in tree["children"] if n["path"] == "petra/services")
        control = next(n for n in services["children"] if n["path"] == "petra/services/control")
        return status == 200 and control["restarts"] == 1 and control["state"] == "running"

    wait_until(control_restarted, timeout=20)


def test_event_streams_past_the_limit_get_a_503_until_one_closes(monkeypatch, running, tmp_path):
    monkeypatch.setattr(control_server, "SSE_MAX_STREAMS", 2)

    def open_stream() -> http.client.HTTPResponse:
        conn = UnixHTTPConnection(tmp_path / "ctl.sock")
        conn.request("GET", "/v1/events?pattern=count")
        # A stream's response owns its socket (its Connection: close hands it over): the stream lasts as
        # long as the response is kept and closed, not as long as the garbage collector leaves it.
        response = conn.getresponse()
        if response.status == 200:
            assert response.readline().startswith(b":")  # connected: the stream is registered
        return response

    streams = [open_stream() for _ in range(3)]
    assert [response.status for response in streams] == [200, 200, 503]
    streams[0].close()
    wait_until(lambda: (opened := open_stream()).status == 200 and streams.append(opened) is None)
    for response in streams:
        response.close()


def test_refused_requests_are_counted_and_logged_once_per_kind_without_a_traceback(running, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="petra.control.server")
    for _ in range(5):
        status, _ = request(UnixHTTPConnection(tmp_path / "ctl.sock"), "PUT", "/v1/signals/setpoint", {"v": 1})
        assert status == 400
    registry = running.plant.metrics.registry
    assert registry.get_sample_value("petra_http_rejected_total", {"server": "petra-control", "reason": "400"}) == 5
    lines = [r for r in caplog.records if r.name == "petra.control.server"]
    assert len(lines) == 1 and "PUT /v1/signals/setpoint" in lines[0].getMessage()
    assert "needs a 'value'" in lines[0].getMessage() and not lines[0].exc_info


def test_allowed_cipher_suites_restrict_what_the_tls_listener_negotiates(tmp_path):
    from tests.control.conftest import start_tls_runtime

    runtime, port, cert = start_tls_runtime(
        tmp_path, security={"allowed_cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]})
    try:
        context = ssl.create_default_context(cafile=str(cert))
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cipher, version, _ = tls.cipher()
        assert (cipher, version) == ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2")
        context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as raw, \
                pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
    finally:
        runtime.stop(timeout=10)
