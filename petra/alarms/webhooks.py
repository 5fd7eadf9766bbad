"""Inbound Twilio webhooks on their own HTTP listener (`webhooks:twilio` under `alarms`).

Why a listener of its own rather than the control API: Twilio cannot send the
control API's bearer token, and the control API listens on a Unix socket by
default. This listener answers only three form-encoded POST routes and accepts
a request only when its `X-Twilio-Signature` verifies (twilio's
`RequestValidator`, against the auth token and `twilio.webhook.public_url` +
path + query - the URL Twilio called); anything else gets 403. Put it behind a
TLS-terminating proxy when public_url is https.

    POST /v1/twilio/sms     an SMS reply: "ACK <alarm id or code>" acknowledges (known contacts only)
    POST /v1/twilio/voice   a key press during an alarm call (<Gather>): 1 acknowledges ?alarm=ID
    POST /v1/twilio/status  a delivery status callback: updates the delivery record
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm

from petra.alarms import twiml
from petra.alarms.config import ContactSpec
from petra.alarms.service import AlarmService, UnknownAlarm
from petra.alarms.states import CommandRefused
from supervision import SupervisedActor

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
_ACK = re.compile(r"^\s*(?:ACK|OK|A)\s+([A-Za-z0-9_.\-]+)\s*$", re.IGNORECASE)


def _digits(number: str | None) -> str:
    return re.sub(r"\D", "", number or "")


class TwilioWebhooks:
    """The three handlers, pure of sockets: `handle(path, query, form, signature)` -> (status, TwiML/JSON)."""

    def __init__(self, service: AlarmService) -> None:
        self.service = service
        settings = service.config.twilio
        assert settings is not None and settings.webhook is not None
        self.public_url = settings.webhook.public_url.rstrip("/")
        self.validator = RequestValidator(settings.auth_token or "")
        self.has_token = bool(settings.auth_token)

    def verify(self, path_and_query: str, form: Mapping[str, str], signature: str | None,
               settings_header: str | None = None) -> bool:
        if not signature or not self.has_token:
            return False
        algorithm = get_signature_algorithm(settings_header)
        return bool(self.validator.validate(self.public_url + path_and_query, dict(form), signature, algorithm))

    def handle(self, path: str, query: Mapping[str, str], form: Mapping[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for a verified request."""
        if path == "/v1/twilio/sms":
            return 200, "text/xml", self._sms(form)
        if path == "/v1/twilio/voice":
            return 200, "text/xml", self._voice(query, form)
        if path == "/v1/twilio/status":
            return 200, "text/xml", self._status(form)
        return 404, "text/plain", "no such webhook\n"

    def _contact_by_phone(self, number: str | None) -> ContactSpec | None:
        digits = _digits(number)
        if not digits:
            return None
        for contact in self.service.config.contacts.values():
            if contact.phone and _digits(contact.phone) == digits:
                return contact
        return None

    def _ack(self, key: str, who: str) -> str:
        try:
            alarm_id = self.service.resolve(key)
            self.service.command(alarm_id, "ack", who)
        except UnknownAlarm:
            return f"Unknown alarm or code '{key}'."
        except CommandRefused as exc:
            return f"Not acknowledged: {exc}."
        except TimeoutError:
            return "PETRA is busy; please try again."
        self.service.audit("alarm.ack", who, alarm=alarm_id, via="twilio")
        return f"Alarm {alarm_id} acknowledged."

    def _sms(self, form: Mapping[str, str]) -> str:
        sender = form.get("From", "")
        match = _ACK.match(form.get("Body", ""))
        if match is None:
            self.service.metrics.webhooks.labels("sms", "ignored").inc()
            return twiml.message("Reply ACK <alarm id or code> to acknowledge an alarm.")
        contact = self._contact_by_phone(sender)
        if contact is None:
            self.service.metrics.webhooks.labels("sms", "unknown_sender").inc()
            self.service.audit("alarm.ack_refused", f"sms:{sender}", reason="sender is not a contact")
            log.warning("SMS acknowledgement from %s refused: not a contact's number", sender)
            return twiml.message("This number may not acknowledge alarms.")
        self.service.metrics.webhooks.labels("sms", "ack").inc()
        return twiml.message(self._ack(match.group(1), f"sms:{contact.id}"))

    def _voice(self, query: Mapping[str, str], form: Mapping[str, str]) -> str:
        alarm = query.get("alarm", "")
        if form.get("Digits") != "1" or not alarm:
            self.service.metrics.webhooks.labels("voice", "ignored").inc()
            return twiml.say("The alarm is not acknowledged. Goodbye.")
        contact = self._contact_by_phone(form.get("To"))
        who = f"voice:{contact.id}" if contact else f"voice:{form.get('To', '?')}"
        self.service.metrics.webhooks.labels("voice", "ack").inc()
        return twiml.say(self._ack(alarm, who) + " Goodbye.")

    def _status(self, form: Mapping[str, str]) -> str:
        sid = form.get("MessageSid") or form.get("CallSid") or ""
        status = form.get("MessageStatus") or form.get("CallStatus") or form.get("SmsStatus") or ""
        error = form.get("ErrorCode")
        record = self.service.delivery_status(sid, status, error) if sid and status else None
        self.service.metrics.webhooks.labels("status", "known" if record else "unknown").inc()
        return twiml.empty()


class _Handler(BaseHTTPRequestHandler):
    server: _Server  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("webhook %s", format % args)

    def _reply(self, status: int, content_type: str, body: str) -> None:
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        hooks = self.server.hooks
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, "text/plain", "body too large\n")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        form = dict(parse_qsl(body, keep_blank_values=True))
        split = urlsplit(self.path)
        if not hooks.verify(self.path, form, self.headers.get("X-Twilio-Signature"),
                            self.headers.get("X-Twilio-Webhooks-Signature-Settings")):
            kind = split.path.rsplit("/", 1)[-1]
            hooks.service.metrics.webhooks.labels(kind, "refused").inc()
            log.warning("refused a webhook to %s from %s: missing or invalid Twilio signature", split.path,
                        self.client_address[0])
            self._reply(403, "text/plain", "invalid signature\n")
            return
        try:
            status, content_type, text = hooks.handle(split.path, dict(parse_qsl(split.query)), form)
        except Exception:
            log.exception("webhook %s failed", split.path)
            status, content_type, text = 500, "text/plain", "internal error\n"
        self._reply(status, content_type, text)

    def do_GET(self) -> None:
        self._reply(405, "text/plain", "POST only\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hooks: TwilioWebhooks


class WebhookActor(SupervisedActor):
    """Owns the webhook listener; a restart rebinds it."""

    def __init__(self, service: AlarmService) -> None:
        super().__init__()
        self.service = service
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None

    def on_start(self) -> None:
        self.service.attach(self.registry, self.path)
        settings = self.service.config.twilio
        assert settings is not None and settings.webhook is not None
        hook = settings.webhook
        self.server = _Server((hook.host, hook.port), _Handler)
        self.server.hooks = TwilioWebhooks(self.service)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="petra-twilio-webhooks", daemon=True)
        self.thread.start()
        log.info("Twilio webhooks on http://%s:%d (public URL %s)", hook.host, self.bound_port(), hook.public_url)
        if not settings.auth_token:
            log.error("no Twilio auth token: every webhook will be refused")

    def bound_port(self) -> int:
        return 0 if self.server is None else int(self.server.server_address[1])

    def check_health(self) -> None:
        if self.thread is not None and not self.thread.is_alive():
            raise RuntimeError("webhook listener thread stopped")

    def _after_exit(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
