"""The Twilio webhook listener under attack: it shares the control API's limits, and its signature check stays."""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator

import petra.alarms.webhooks as webhooks
from petra.control.http_host import Limits
from supervision import StartError
from tests.alarms.support import AlarmPlant, alarm, plant_data, start_plant
from tests.alarms.test_runtime import webhook_plant
from tests.control.test_control_server_limits import read_until_closed, send_raw, tracebacks
from tests.e2e.petra_process import free_port
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


def test_a_body_over_64_kib_gets_a_413_counted_and_a_signed_request_still_passes(tmp_path, twilio, plants):
    plant, base = webhook_plant(tmp_path, twilio, plants)
    assert post_signed(base + "/v1/twilio/sms", {**HELLO, "Body": "x" * 100_000}, AUTH_TOKEN) == 413
    assert post_signed(base + "/v1/twilio/sms", HELLO, AUTH_TOKEN) == 200
    assert plant.metric("petra_http_rejected_total", {"server": "petra-twilio-webhooks", "reason": "413"}) == 1


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
    monkeypatch.setattr(webhooks, "LIMITS", Limits(max_body_bytes=64 * 1024, body_timeout_s=0.5, idle_timeout_s=0.5))
    _plant, base = webhook_plant(tmp_path, twilio, plants)
    with connect(base) as sock:
        sock.sendall(b"POST /v1/twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nFrom=%2B1555")
        answer = read_until_closed(sock)  # a listener that holds on times the client out here instead
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize("host, public_url", [("0.0.0.0", "https://plant.example/hooks"),
                                              ("127.0.0.1", "http://plant.example/hooks")])
def test_require_tls_refuses_a_plaintext_webhook_listener_at_start(tmp_path, twilio, host, public_url):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, webhook_port=free_port())
    data["twilio"]["webhook"].update(host=host, public_url=public_url)
    data["security"] = {"require_tls": True}
    with pytest.raises(StartError, match="require_tls"):
        AlarmPlant(data)


def test_require_tls_accepts_a_loopback_listener_behind_an_https_proxy(tmp_path, twilio, plants):
    port = free_port()
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, webhook_port=port)
    data["twilio"]["webhook"]["public_url"] = f"https://127.0.0.1:{port}"
    data["security"] = {"require_tls": True}
    start_plant(plants, data)
    public = f"https://127.0.0.1:{port}/v1/twilio/sms"  # what the proxy in front is called
    as_twilio_signs_it = RequestValidator(AUTH_TOKEN).compute_signature(public, HELLO)
    assert post_signed(f"http://127.0.0.1:{port}/v1/twilio/sms", HELLO, AUTH_TOKEN, as_twilio_signs_it) == 200
