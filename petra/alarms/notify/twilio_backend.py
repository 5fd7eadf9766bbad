"""Twilio SMS and voice through the official `twilio` client.

`twilio.api_base_url` (default https://api.twilio.com) is honoured with the
client's documented custom-HTTP-client hook: a `TwilioHttpClient` that replaces
the URL prefix, for proxies and for tests against a local Twilio-shaped server.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from petra.alarms.config import DEFAULT_API_BASE, TwilioSettings
from petra.alarms.notify.base import DeliveryError, SendResult
from petra.alarms.twiml import say

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every request at INFO


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends the client's requests to `base_url` instead of https://api.twilio.com."""

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(DEFAULT_API_BASE) and self.base_url != DEFAULT_API_BASE:
            url = self.base_url + url[len(DEFAULT_API_BASE):]
        return super().request(method, url, *args, **kwargs)


def make_client(settings: TwilioSettings) -> Client:
    if not settings.account_sid or not settings.auth_token:
        raise DeliveryError("Twilio credentials missing: set twilio.account_sid/auth_token or "
                            "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN", transient=False)
    return Client(settings.account_sid, settings.auth_token,
                  http_client=BaseUrlHttpClient(settings.api_base_url, settings.timeout_s))


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, TwilioRestException):
        transient = exc.status >= 500 or exc.status == 429
        return DeliveryError(f"Twilio {exc.status} (code {exc.code}): {exc.msg}", transient, exc.code)
    if isinstance(exc, requests.RequestException):
        return DeliveryError(f"Twilio unreachable: {exc}", transient=True)
    return DeliveryError(f"Twilio error: {exc}", transient=False)


class TwilioBackend:
    """`kind` is "sms" (Messages) or "voice" (Calls with TwiML)."""

    def __init__(self, settings: TwilioSettings, kind: str) -> None:
        self.settings = settings
        self.kind = kind
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def close(self) -> None:
        """Close the client's pooled HTTP connections: left to the garbage collector they outlive the notifier."""
        client, self._client = self._client, None
        session = getattr(client.http_client, "session", None) if client is not None else None
        if session is not None:
            session.close()

    def send(self, record: dict[str, Any]) -> SendResult:
        settings = self.settings
        if not settings.from_number:
            raise DeliveryError("twilio.from_number is not configured", transient=False)
        callback = settings.status_callback
        extra = {"status_callback": callback} if callback else {}
        try:
            if self.kind == "sms":
                result = self.client.messages.create(to=record["to"], from_=settings.from_number,
                                                     body=record["body"], **extra)
            else:
                twiml = record.get("twiml") or say(record["body"])
                result = self.client.calls.create(to=record["to"], from_=settings.from_number, twiml=twiml,
                                                  **extra)
        except (TwilioException, requests.RequestException) as exc:
            raise _classify(exc) from exc
        return SendResult(str(result.sid), str(result.status))
