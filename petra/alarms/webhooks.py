"""Inbound Twilio webhooks on their own HTTP listener (`webhooks:twilio` under `alarms`).

Why a listener of its own rather than the control API: Twilio cannot send the
control API's bearer token, and the control API listens on a Unix socket by
default. This listener answers only three form-encoded POST routes and accepts
a request only when its `X-Twilio-Signature` verifies (twilio's
`RequestValidator`, against the auth token and `twilio.webhook.public_url` +
path + query - the URL Twilio called); anything else gets 403. Put it behind a
TLS-terminating proxy when public_url is https. It is served by aiohttp on an
event loop of its own with the control API's limits (`petra.control.http_host`):
a slow, idle or malformed client is cut off or answered 4xx, never a thread each.

    POST /v1/twilio/sms     an SMS reply: "ACK <alarm id or code>" acknowledges (known contacts only)
    POST /v1/twilio/voice   a key press during an alarm call (<Gather>): 1 acknowledges ?alarm=ID
    POST /v1/twilio/status  a delivery status callback: updates the delivery record
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

from aiohttp import web
from prometheus_client import Counter
from twilio.request_validator import RequestValidator, get_signature_algorithm

from petra.alarms import twiml
from petra.alarms.config import ContactSpec
from petra.alarms.service import AlarmService, UnknownAlarm
from petra.alarms.states import CommandRefused
from petra.control.http_host import (
    Limits,
    read_body,
)
from petra.rate_limited_log import RateLimitedLog

log = logging.getLogger(__name__)

LIMITS = Limits(max_body_bytes=64 * 1024)
"""Twilio's form posts are small; the timeouts are the control API's."""
WEBHOOK_THREADS = 4
SERVER_NAME = "petra-twilio-webhooks"
_refusals = RateLimitedLog(log)
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


class WebhookApp:
    """The aiohttp application: POST only, the body within `LIMITS`, the signature checked before anything else."""

    def __init__(self, hooks: TwilioWebhooks, rejected: Counter) -> None:
        self.hooks = hooks
        self.rejected = rejected
        self.executor = ThreadPoolExecutor(WEBHOOK_THREADS, thread_name_prefix="petra-twilio-webhooks")
        self.app = web.Application(client_max_size=LIMITS.max_body_bytes)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_cleanup.append(self._release)

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            self.rejected.labels(SERVER_NAME, "405").inc()
            return _reply(405, "text/plain", "POST only\n")
        try:
            body = (await read_body(request, LIMITS)).decode("utf-8", errors="replace")
        except web.HTTPException as exc:
            self.rejected.labels(SERVER_NAME, str(exc.status)).inc()
            reply = _reply(exc.status, "text/plain", exc.text or f"{exc.reason}\n")
            reply.force_close()
            return reply
        form = dict(parse_qsl(body, keep_blank_values=True))
        hooks = self.hooks
        if not hooks.verify(request.raw_path, form, request.headers.get("X-Twilio-Signature"),
                            request.headers.get("X-Twilio-Webhooks-Signature-Settings")):
            kind = request.path.rsplit("/", 1)[-1]
            hooks.service.metrics.webhooks.labels(kind, "refused").inc()
            _refusals.warning(f"refused:{kind}", "refused a webhook to %s from %s: missing or invalid Twilio "
                              "signature", request.path, request.remote)
            return _reply(403, "text/plain", "invalid signature\n")
        query = dict(parse_qsl(request.query_string))
        try:  # a handler may wait on an alarm actor: never on the event loop
            status, content_type, text = await asyncio.get_running_loop().run_in_executor(
                self.executor, hooks.handle, request.path, query, form)
        except Exception:
            log.exception("webhook %s failed", request.path)
            status, content_type, text = 500, "text/plain", "internal error\n"
        return _reply(status, content_type, text)

    async def _release(self, _app: web.Application) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _reply(status: int, content_type: str, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type=content_type)
