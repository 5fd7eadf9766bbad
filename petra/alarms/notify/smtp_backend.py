"""E-mail over SMTP (smtplib): STARTTLS or implicit TLS, optional login."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from petra.alarms.config import EmailSettings
from petra.alarms.notify.base import DeliveryError, SendResult
from petra.security.tls import client_context


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}", False, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError(f"recipient refused: {exc.recipients}", False)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", 400 <= exc.smtp_code < 500, exc.smtp_code)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS failed: {exc}", transient=False)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server lacks a feature: {exc}", transient=False)
    return DeliveryError(f"SMTP server unreachable: {exc}", transient=True)


class EmailBackend:
    def __init__(self, settings: EmailSettings, cipher_suites: Sequence[str] = ()) -> None:
        self.settings = settings
        self.cipher_suites = tuple(cipher_suites)
        """security.allowed_cipher_suites: the SMTP client offers only these."""

    def close(self) -> None:
        """Nothing to free: each send opens and closes its own SMTP connection."""

    def _context(self) -> ssl.SSLContext:
        return client_context(self.settings.ca_file, cipher_suites=self.cipher_suites)

    def send(self, record: dict[str, Any]) -> SendResult:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.from_address
        message["To"] = record["to"]
        message["Subject"] = " ".join(str(record.get("subject") or "[PETRA] notification").split())
        message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:8], domain="petra")
        message.set_content(record["body"])
        try:
            if s.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout_s,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_s)
            with smtp:
                if not s.tls and s.starttls:
                    smtp.starttls(context=self._context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc
        return SendResult(str(message["Message-ID"]), "sent")
