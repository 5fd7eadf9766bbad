"""`security.allowed_cipher_suites` and TLS 1.2 as the floor, on every TLS context PETRA creates.

The TLS contexts PETRA creates, and where each is held to the list:

- the control API's TCP listener, with a configured certificate or the self-signed one: here, against a real
  PETRA, with `openssl s_client` and with Python's ssl offering one suite;
- the Twilio REST client (HTTPS to api.twilio.com or `twilio.api_base_url`): here, against a local HTTPS
  Twilio-shaped server;
- the MQTT client (tests/drivers/test_mqtt_bridge.py, a real TLS Mosquitto) and the SMTP client
  (tests/alarms/test_notifiers.py, aiosmtpd with STARTTLS).

The metrics endpoint and the Twilio webhook listener speak plain HTTP only (with `require_tls` they must
listen on loopback behind a TLS proxy: tests/control/test_control_server_limits.py,
tests/alarms/test_webhook_limits.py); PETRA makes no TLS context for them. The S3 archive's TLS is
pyarrow's own, which PETRA cannot restrict: `petra check` and the start say so
(tests/config/test_unenforced.py).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import subprocess
import threading
import warnings
from pathlib import Path

import pytest
import yaml

from petra.alarms.config import TwilioSettings
from petra.alarms.notify.base import DeliveryError
from petra.alarms.notify.twilio_backend import TwilioBackend
from petra.config.loader import load_config
from tests.control.conftest import PLANT, start_tls_runtime, write_config
from tests.harness import RunningPlant, free_port
from tests.helpers import wait_until
from tests.peers.certificates import self_signed
from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ALLOWED = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
ALLOWED_OPENSSL = "ECDHE-RSA-AES256-GCM-SHA384"
DISALLOWED_OPENSSL = "ECDHE-RSA-AES128-GCM-SHA256"


def s_client(port: int, cafile: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`openssl s_client -brief` to 127.0.0.1:port, verifying the certificate against `cafile` only."""
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cafile), "-verify_ip", "127.0.0.1",
         "-verify_return_error", "-brief", *options],
        input="", capture_output=True, text=True, timeout=30)


def negotiated(result: subprocess.CompletedProcess[str]) -> tuple[str, str] | None:
    """(protocol, cipher) of a handshake that worked, None when it was refused."""
    if result.returncode != 0 or "CONNECTION ESTABLISHED" not in result.stderr:
        return None
    fields = dict(line.split(": ", 1) for line in result.stderr.splitlines() if ": " in line)
    return fields["Protocol version"], fields["Ciphersuite"]


def refused_by_the_server(result: subprocess.CompletedProcess[str]) -> bool:
    """The handshake failed after the client sent its hello: PETRA's TLS layer closes the connection (an
    asyncio server sends no alert), so the client reads an EOF; a client that could not even offer what it
    was told to says so otherwise ("no protocols available", "no ciphers available")."""
    err = result.stderr
    return (negotiated(result) is None and ("unexpected eof" in err or "alert" in err)
            and "no protocols available" not in err and "no cipher" not in err)


@pytest.fixture(params=["configured", "self-signed"])
def restricted(request, tmp_path):
    """A real PETRA whose control API allows one TLS 1.2 suite: (port, the certificate to trust)."""
    security = {"allowed_cipher_suites": [ALLOWED]}
    if request.param == "configured":
        runtime, port, cert = start_tls_runtime(tmp_path, security=security)
        yield port, cert
        runtime.stop(timeout=10)
        return
    port = free_port()
    data = dict(PLANT, security={**security, "require_tls": True},
                control={"tcp": {"port": port, "self_signed_dir": str(tmp_path / "tls"),
                                 "tokens": [{"name": "ops", "token": "s3cret", "role": "viewer"}]}})
    config_path = write_config(tmp_path / "plant.yaml", data)
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path):
        yield port, tmp_path / "tls" / "control.crt"


def test_openssl_offering_only_a_disallowed_suite_is_refused_and_the_allowed_one_is_negotiated(restricted):
    port, cert = restricted
    refused = s_client(port, cert, "-tls1_2", "-cipher", DISALLOWED_OPENSSL)
    assert refused_by_the_server(refused), refused.stderr
    assert negotiated(s_client(port, cert, "-tls1_2", "-cipher", ALLOWED_OPENSSL)) == ("TLSv1.2", ALLOWED_OPENSSL)


def test_a_list_without_tls13_suites_keeps_tls13_out_since_its_suites_cannot_be_restricted(restricted):
    port, cert = restricted
    assert refused_by_the_server(s_client(port, cert, "-tls1_3"))
    assert negotiated(s_client(port, cert)) == ("TLSv1.2", ALLOWED_OPENSSL)  # a client offering everything


def test_python_ssl_offering_one_disallowed_suite_is_refused(restricted):
    port, cert = restricted
    context = ssl.create_default_context(cafile=str(cert))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(DISALLOWED_OPENSSL)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    context.set_ciphers(ALLOWED_OPENSSL)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.cipher()[:2] == (ALLOWED_OPENSSL, "TLSv1.2")


def old_tls_peer(cert: Path, key: Path) -> tuple[int, threading.Thread]:
    """A Python ssl server that accepts TLS 1.0 and 1.1 (for one connection): the control that shows the
    client below really offers them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_tls_below_1_2_is_refused_even_with_the_default_suites(tmp_path):
    runtime, port, cert = start_tls_runtime(tmp_path)
    try:
        for old in ("-tls1_1", "-tls1"):
            offer = (old, "-cipher", "DEFAULT:@SECLEVEL=0")  # SECLEVEL=0: this OpenSSL may offer them at all
            peer, served = old_tls_peer(cert, tmp_path / "key.pem")
            assert negotiated(s_client(peer, cert, *offer)) is not None  # the client does offer it
            served.join(10)
            refused = s_client(port, cert, *offer)
            assert refused_by_the_server(refused), refused.stderr
        assert negotiated(s_client(port, cert, "-tls1_2"))[0] == "TLSv1.2"
        assert negotiated(s_client(port, cert))[0] == "TLSv1.3"  # not capped without a list
    finally:
        runtime.stop(timeout=10)


def test_a_tls13_suite_in_the_list_is_said_at_start_since_python_cannot_restrict_tls13(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="petra.control")
    runtime, port, cert = start_tls_runtime(
        tmp_path, security={"allowed_cipher_suites": ["TLS_AES_256_GCM_SHA384", ALLOWED]})
    try:
        assert negotiated(s_client(port, cert, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")) == \
            ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")  # the truth the warning tells
    finally:
        runtime.stop(timeout=10)
    said = [r.getMessage() for r in caplog.records if "cannot be restricted" in r.getMessage()]
    assert said and "TLS_CHACHA20_POLY1305_SHA256" in said[0] and "TLS_AES_128_GCM_SHA256" in said[0]


def test_a_reload_that_changes_the_cipher_list_restarts_the_listener_with_it(tmp_path):
    runtime, port, cert = start_tls_runtime(tmp_path, security={"allowed_cipher_suites": [ALLOWED]})
    try:
        assert negotiated(s_client(port, cert, "-tls1_2", "-cipher", ALLOWED_OPENSSL)) is not None
        config_path = tmp_path / "plant.yaml"
        data = yaml.safe_load(config_path.read_text())
        data["security"]["allowed_cipher_suites"] = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
        write_config(config_path, data)  # only security changed: the control section is as it was
        result = runtime.reload(caller="test")
        assert result.accepted and result.changes["sections_restarted_for_settings"] == ["control"]
        wait_until(lambda: negotiated(s_client(port, cert, "-tls1_2", "-cipher", DISALLOWED_OPENSSL)) is not None)
        assert refused_by_the_server(s_client(port, cert, "-tls1_2", "-cipher", ALLOWED_OPENSSL))
    finally:
        runtime.stop(timeout=10)


# --- the Twilio REST client ----------------------------------------------------


@pytest.fixture
def https_twilio(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # so the suite the client offers decides
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # requests' documented way to trust a CA
    with FakeTwilio(tls=context) as server:
        yield server


def twilio(server: FakeTwilio) -> TwilioSettings:
    return TwilioSettings(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number="+15550000000",
                          api_base_url=server.base_url, timeout_s=5.0)


def test_the_twilio_client_offers_only_the_allowed_cipher_suites(https_twilio):
    message = {"to": "+15550000001", "body": "Tank 3 high"}
    with pytest.raises(DeliveryError) as info:  # an ECDSA-only list cannot reach an RSA-certified server
        TwilioBackend(twilio(https_twilio), "sms", ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]).send(message)
    assert "SSL" in str(info.value) or "TLS" in str(info.value)
    assert not https_twilio.accepted()
    TwilioBackend(twilio(https_twilio), "sms", [ALLOWED]).send(message)
    assert [r.form["Body"] for r in https_twilio.accepted()] == ["Tank 3 high"]
