"""A real SMTP server (aiosmtpd) on loopback with STARTTLS required and login, for tests.

The certificate is self-signed by openssl (SAN 127.0.0.1/localhost); clients
trust it through `ca_file`. A failed login returns
`AuthResult(success=False, handled=False)` so the server answers 535 rather than
leaving the client hanging. `fail_next(n)` answers the next n messages with a
transient `451` to prove retries.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.peers.certificates import self_signed

USER, PASSWORD = "petra", "mail-s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_cert(directory: Path) -> tuple[Path, Path]:
    return self_signed(directory, "smtp-")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.server.cond:
            if self.server.failures:
                self.server.failures -= 1
                self.server.refused += 1
                return "451 4.3.0 Try again later"
            self.server.messages.append(message_from_bytes(envelope.content))
            self.server.cond.notify_all()
        return "250 OK"


class SmtpServer:
    def __init__(self, directory: Path | None = None) -> None:
        self.dir = Path(directory or tempfile.mkdtemp(prefix="petra-smtp-"))
        self.ca_file, key = make_cert(self.dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key)
        self.port = free_port()
        self.messages: list[Message] = []
        self.failures = 0
        self.refused = 0
        self.logins: list[tuple[str, bool]] = []
        self.cond = threading.Condition()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=self._authenticate, auth_required=True)

    def _authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "?", ok))
        return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def fail_next(self, count: int) -> None:
        with self.cond:
            self.failures += count

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")
                self.cond.wait(left)
            return list(self.messages)
