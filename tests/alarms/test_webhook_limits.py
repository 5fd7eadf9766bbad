"""The Twilio webhook listener under attack: it shares the control API's limits, and its signature check stays."""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import urlsplit

import petra.alarms.webhooks as webhooks
from petra.control.http_host import Limits
from tests.alarms.test_runtime import webhook_plant
from tests.control.test_control_server_limits import read_until_closed, send_raw, tracebacks
from tests.peers.twilio_server import AUTH_TOKEN, post_signed

HELLO = {"From": "+15550000001", "Body": "hello"}


def connect(base: str) -> socket.socket:
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port))
    sock.settimeout(20)
    return sock


def test_a_malformed_content_length_gets_a_400_without_a_traceback(tmp_path, twilio, plants, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    _plant, base = webhook_plant(tmp_path, twilio, plants)
    with connect(base) as sock:
        response = send_raw(sock, b"POST /v1/twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "POST")
        assert response.status == 400
    assert tracebacks(caplog, capfd) == []
    assert post_signed(base + "/v1/twilio/sms", HELLO, AUTH_TOKEN) == 200


def test_a_body_over_64_kib_gets_a_413_and_a_signed_request_still_passes(tmp_path, twilio, plants):
    _plant, base = webhook_plant(tmp_path, twilio, plants)
    assert post_signed(base + "/v1/twilio/sms", {**HELLO, "Body": "x" * 100_000}, AUTH_TOKEN) == 413
    assert post_signed(base + "/v1/twilio/sms", HELLO, AUTH_TOKEN) == 200


def test_a_crowd_of_half_open_connections_costs_no_threads_and_blocks_nobody(tmp_path, twilio, plants):
    _plant, base = webhook_plant(tmp_path, twilio, plants)
    before = threading.active_count()
    crowd = [connect(base) for _ in range(200)]
    try:
        for sock in crowd:
            sock.sendall(b"POST /v1/twilio/sms HTTP/1.1\r\nContent-Le")
        assert post_signed(base + "/v1/twilio/sms", HELLO, AUTH_TOKEN) == 200
        assert threading.active_count() - before < 20
    finally:
        for sock in crowd:
            sock.close()


def test_a_client_that_stops_sending_its_body_is_cut_off(tmp_path, twilio, plants, monkeypatch):
    monkeypatch.setattr(webhooks, "LIMITS", Limits(max_body_bytes=64 * 1024, body_timeout_s=0.5, idle_timeout_s=0.5),
                        raising=False)
    _plant, base = webhook_plant(tmp_path, twilio, plants)
    with connect(base) as sock:
        sock.sendall(b"POST /v1/twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nFrom=%2B1555")
        answer = read_until_closed(sock)  # a listener that holds on times the client out here instead
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")
