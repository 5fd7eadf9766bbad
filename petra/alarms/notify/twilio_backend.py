"""Twilio SMS and voice through the official `twilio` client.

`twilio.api_base_url` (default https://api.twilio.com) is honoured with the
client's documented custom-HTTP-client hook: a `TwilioHttpClient` that replaces
the URL prefix, for proxies and for tests against a local Twilio-shaped server.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from petra.alarms.config import DEFAULT_API_BASE, TwilioSettings
from petra.alarms.notify.base import DeliveryError, SendResult
from petra.alarms.twiml import say
from petra.security.tls import client_context

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every request at INFO


class _TlsAdapter(HTTPAdapter):
    """A requests adapter whose HTTPS connections use PETRA's TLS context (TLS 1.2+, the allowed suites)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends the client's requests to `base_url` instead of https://api.twilio.com, over HTTPS with
    `security.allowed_cipher_suites` (`petra.security.tls.client_context`), as every TLS client of PETRA."""

    def __init__(self, base_url: str, timeout: float | None = None, cipher_suites: Iterable[str] = ()) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.mount("https://", _TlsAdapter(client_context(cipher_suites=cipher_suites)))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(DEFAULT_API_BASE) and self.base_url != DEFAULT_API_BASE:
            url = self.base_url + url[len(DEFAULT_API_BASE):]
        return super().request(method, url, *args, **kwargs)


def make_client(settings: TwilioSettings, cipher_suites: Iterable[str] = ()) -> Client:
    if not settings.account_sid or not settings.auth_token:
        raise DeliveryError("Twilio credentials missing: set twilio.account_sid/auth_token or "
                            "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN", transient=False)
    return Client(settings.account_sid, settings.auth_token,
                  http_client=BaseUrlHttpClient(settings.api_base_url, settings.timeout_s, cipher_suites))


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, TwilioRestException):
        transient = exc.status >= 500 or exc.status == 429
        return DeliveryError(f"Twilio {exc.status} (code {exc.code}): {exc.msg}", transient, exc.code)
    if isinstance(exc, requests.RequestException):
        return DeliveryError(f"Twilio unreachable: {exc}", transient=True)
    return DeliveryError(f"Twilio error: {exc}", transient=False)


class TwilioBackend:
    """`kind` is "sms" (Messages) or "voice" (Calls with TwiML)."""

    def __init__(self, settings: TwilioSettings, kind: str, cipher_suites: Iterable[str] = ()) -> None:
        self.settings = settings
        self.kind = kind
        self.cipher_suites = tuple(cipher_suites)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = make_client(self.settings, self.cipher_suites)
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
