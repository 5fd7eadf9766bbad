"""A local Twilio-shaped REST server for tests and benchmarks (the real `twilio` client talks to it).

It answers like api.twilio.com: `POST /2010-04-01/Accounts/{Sid}/Messages.json`
and `/Calls.json`, form-encoded, HTTP Basic auth `AccountSid:AuthToken`; 201 with
JSON (`sid`, `account_sid`, `status: "queued"`, `to`, `from`, `body`,
`date_created` in RFC 2822); 400 with code 21211 for a number that is not E.164;
401 with code 20003 for bad credentials. `fail_next(n, status)` makes the next n
requests fail (500: Twilio's 20500, 503, 429) to prove retries. `status_callback`
posts a signed delivery status to the URL the client gave, as Twilio would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import ssl
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/(?P<kind>Messages|Calls)\.json$")


@dataclass
class Received:
    kind: str  # "Messages" or "Calls"
    form: dict[str, str]
    at: float  # time.perf_counter() on arrival
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 0


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 tls: ssl.SSLContext | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.received: list[Received] = []
        self._failures: list[int] = []
        self._cond = threading.Condition()
        self._connections: set[socket.socket] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        if tls is not None:  # HTTPS like api.twilio.com: the handshake runs when a connection is accepted
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.base_url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="fake-twilio")

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the connections clients keep alive, so that no handler thread outlives it."""
        self.server.shutdown()
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self.server.server_close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def open_connections(self) -> int:
        """Connections a client keeps open to this server right now."""
        with self._cond:
            return len(self._connections)

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._cond:
            self._failures.extend([status] * count)

    def accepted(self, kind: str | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.status == 201 and (kind is None or r.kind == kind)]

    def wait_for(self, count: int, kind: str | None = None, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests were accepted (201); returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.received if r.status == 201 and (kind is None or r.kind == kind)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} accepted {kind or 'requests'}, got {len(found)}: "
                                         f"{[(r.kind, r.status, r.form.get('To')) for r in self.received]}")
                self._cond.wait(left)

    def status_callback(self, received: Received, status: str, url: str | None = None) -> int:
        """POST a signed status callback for `received` to its StatusCallback URL (or `url`)."""
        target = url or received.form["StatusCallback"]
        key = "MessageSid" if received.kind == "Messages" else "CallSid"
        form = {key: received.response["sid"], "AccountSid": self.account_sid,
                "MessageStatus" if received.kind == "Messages" else "CallStatus": status,
                "To": received.form.get("To", ""), "From": received.form.get("From", "")}
        return post_signed(target, form, self.auth_token)

    def _record(self, received: Received) -> None:
        with self._cond:
            self.received.append(received)
            self._cond.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *_: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with fake._cond:
                    fake._connections.add(self.connection)

            def finish(self) -> None:
                with fake._cond:
                    fake._connections.discard(self.connection)
                super().finish()

            def _json(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                at = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                match = _PATH.match(self.path)
                if match is None:
                    self._json(404, {"code": 20404, "message": "The requested resource was not found",
                                     "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404})
                    return
                received = Received(match["kind"], form, at)
                status, body = fake._answer(match["sid"], match["kind"], form, self.headers.get("Authorization"))
                received.status, received.response = status, body
                fake._record(received)
                self._json(status, body)

        return Handler

    def _answer(self, sid: str, kind: str, form: dict[str, str], auth: str | None) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if sid != self.account_sid or auth != expected:
            return 401, {"code": 20003, "message": "Authenticate",
                         "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
        with self._cond:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            code = {500: 20500, 503: 20503, 429: 20429}.get(failure, 20500)
            text = "Internal Server Error" if failure >= 500 else "Too Many Requests"
            return failure, {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                             "status": failure}
        to = form.get("To", "")
        if not E164.match(to):
            return 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.",
                         "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
        prefix = "SM" if kind == "Messages" else "CA"
        new_sid = prefix + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        body: dict[str, Any] = {
            "sid": new_sid, "account_sid": self.account_sid, "status": "queued", "to": to, "from": form.get("From"),
            "date_created": now, "date_updated": now, "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{new_sid}.json",
        }
        if kind == "Messages":
            body.update(body=form.get("Body", ""), direction="outbound-api", num_segments="1", price=None,
                        error_code=None, error_message=None, messaging_service_sid=None)
        else:
            body.update(direction="outbound-api", parent_call_sid=None, duration=None, price=None)
        return 201, body


def post_signed(url: str, form: dict[str, str], auth_token: str, signature: str | None = None) -> int:
    """POST `form` to `url` as Twilio does: form-encoded with X-Twilio-Signature (or the given signature)."""
    signature = signature if signature is not None else RequestValidator(auth_token).compute_signature(url, form)
    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def post_signed_body(url: str, form: dict[str, str], auth_token: str) -> tuple[int, str]:
    signature = RequestValidator(auth_token).compute_signature(url, form)
    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
