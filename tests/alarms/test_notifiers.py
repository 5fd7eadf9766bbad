"""Notification back-ends against real peers: the twilio client against a Twilio-shaped server, smtplib
against aiosmtpd with STARTTLS and login."""

from __future__ import annotations

import ssl
import time

import pytest
from aiosmtpd.controller import Controller

from petra.alarms.config import EmailSettings, twilio_settings
from petra.alarms.notify.base import DeliveryError
from petra.alarms.notify.smtp_backend import EmailBackend
from petra.alarms.notify.twilio_backend import TwilioBackend
from tests.peers.smtp_server import PASSWORD, USER, SmtpServer, free_port, make_cert
from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio


def settings(twilio: FakeTwilio, **extra):
    section = {"from_number": "+15559999999", "api_base_url": twilio.base_url,
               "status_callback_url": "https://plant.example/v1/twilio/status", **extra}
    return twilio_settings(section, {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN})


def test_an_sms_goes_out_through_the_real_client_with_credentials_from_the_environment(twilio):
    result = TwilioBackend(settings(twilio), "sms").send({"to": "+15550000001", "body": "Tank 3 high"})
    [request] = twilio.accepted("Messages")
    assert result.sid.startswith("SM") and result.status == "queued"
    assert request.form == {"To": "+15550000001", "From": "+15559999999", "Body": "Tank 3 high",
                            "StatusCallback": "https://plant.example/v1/twilio/status"}


def test_a_call_carries_its_twiml(twilio):
    twiml = "<Response><Say>Emergency stop</Say></Response>"
    result = TwilioBackend(settings(twilio), "voice").send({"to": "+15550000002", "body": "x", "twiml": twiml})
    [request] = twilio.accepted("Calls")
    assert result.sid.startswith("CA") and request.form["Twiml"] == twiml


def test_a_bad_number_is_a_permanent_failure_with_twilios_code(twilio):
    with pytest.raises(DeliveryError) as info:
        TwilioBackend(settings(twilio), "sms").send({"to": "12", "body": "x"})
    assert not info.value.transient and info.value.code == 21211


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_transient(twilio, status):
    twilio.fail_next(1, status)
    with pytest.raises(DeliveryError) as info:
        TwilioBackend(settings(twilio), "sms").send({"to": "+15550000001", "body": "x"})
    assert info.value.transient


def test_wrong_credentials_and_an_unreachable_api_are_told_apart(twilio):
    wrong = twilio_settings({"from_number": "+15559999999", "api_base_url": twilio.base_url,
                             "account_sid": ACCOUNT_SID, "auth_token": "nope"}, {})
    with pytest.raises(DeliveryError) as info:
        TwilioBackend(wrong, "sms").send({"to": "+15550000001", "body": "x"})
    assert not info.value.transient and info.value.code == 20003
    down = twilio_settings({"from_number": "+1", "api_base_url": "http://127.0.0.1:9", "account_sid": ACCOUNT_SID,
                            "auth_token": AUTH_TOKEN, "timeout_seconds": 2}, {})
    with pytest.raises(DeliveryError) as info:
        TwilioBackend(down, "sms").send({"to": "+15550000001", "body": "x"})
    assert info.value.transient


def email_settings(smtp: SmtpServer, **extra) -> EmailSettings:
    fields = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "username": USER, "password": PASSWORD,
              "from_address": "petra@plant.example", "ca_file": str(smtp.ca_file), "timeout_s": 5.0}
    fields.update(extra)
    return EmailSettings(**fields)


def test_an_email_goes_out_over_starttls_with_login(smtp):
    before = len(smtp.messages)
    EmailBackend(email_settings(smtp)).send({"to": "op@plant.example", "subject": "[PETRA] tank high",
                                             "body": "Tank 3 is at 91 %"})
    message = smtp.wait_for(before + 1)[-1]
    assert message["Subject"] == "[PETRA] tank high" and message["From"] == "petra@plant.example"
    assert "Tank 3 is at 91 %" in message.get_payload()


def test_a_refused_login_fails_at_once_and_a_4xx_is_transient(smtp):
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        EmailBackend(email_settings(smtp, password="wrong")).send({"to": "op@plant.example", "body": "x"})
    assert not info.value.transient and info.value.code == 535
    assert time.monotonic() - started < 3  # answered, not left hanging until the timeout
    smtp.fail_next(1)
    with pytest.raises(DeliveryError) as info:
        EmailBackend(email_settings(smtp)).send({"to": "op@plant.example", "body": "x"})
    assert info.value.transient and info.value.code == 451


def test_a_certificate_the_client_does_not_trust_is_refused(smtp):
    with pytest.raises(DeliveryError) as info:
        EmailBackend(email_settings(smtp, ca_file=None)).send({"to": "op@plant.example", "body": "x"})
    assert not info.value.transient and "TLS" in str(info.value)


def test_implicit_tls_is_supported(tmp_path):
    cert, key = make_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received = []

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):
            received.append(envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        settings = EmailSettings("127.0.0.1", port, tls=True, starttls=False, ca_file=str(cert), timeout_s=5)
        EmailBackend(settings).send({"to": "op@plant.example", "body": "implicit"})
    finally:
        controller.stop()
    assert b"implicit" in received[0]


def test_the_smtp_client_offers_only_the_allowed_cipher_suites(smtp):
    """security.allowed_cipher_suites binds PETRA's SMTP client too: an ECDSA-only list cannot talk to an
    RSA-certified server, an RSA suite can."""
    with pytest.raises(DeliveryError) as info:
        EmailBackend(email_settings(smtp), ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]).send(
            {"to": "op@plant.example", "body": "x"})
    assert "TLS" in str(info.value)
    before = len(smtp.messages)
    EmailBackend(email_settings(smtp), ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]).send(
        {"to": "op@plant.example", "body": "allowed suite"})
    assert "allowed suite" in smtp.wait_for(before + 1)[-1].get_payload()
