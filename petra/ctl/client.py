"""A small standard-library client for PETRA's control API.

HTTP/1.1 + JSON over the Unix control socket (default) or over TCP, with TLS
and a bearer token. Failures come out as two exceptions the CLI maps to exit
codes::

    CtlError
     ├── Unreachable   PETRA cannot be reached (no socket, permission, refused, TLS, timeout) → exit 3
     └── Refused       PETRA answered with a 4xx/5xx and a message → exit 1
"""

from __future__ import annotations

import errno
import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

REQUEST_TIMEOUT_S = 35.0  # the server allows an actor restart 30 s
EVENTS_TIMEOUT_S = 10.0  # twice the server's keep-alive interval (SSE_KEEPALIVE_S, 5 s)


class CtlError(Exception):
    """Base of the client's errors; `str()` is a message for the operator."""


class Unreachable(CtlError):
    """PETRA could not be reached or did not answer."""


class Refused(CtlError):
    """PETRA answered with an error status."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Target:
    """Where PETRA is: a Unix socket path, or an http(s) URL with an optional token."""

    socket_path: Path | None = None
    url: str | None = None
    token: str | None = None
    cacert: str | None = None

    def describe(self) -> str:
        return f"unix:{self.socket_path}" if self.url is None else self.url


class UnixHTTPConnection(http.client.HTTPConnection):
    """`HTTPConnection` whose transport is an AF_UNIX stream socket."""

    def __init__(self, path: str, timeout: float = REQUEST_TIMEOUT_S) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def describe_connection_error(exc: BaseException, target: Target) -> str:
    """An operator-facing sentence for a failure to reach PETRA at `target`."""
    if target.url is None:
        path = target.socket_path
        hint = "(set --socket or PETRA_SOCKET)"
        code = getattr(exc, "errno", None)
        if isinstance(exc, FileNotFoundError) or code in (errno.ENOENT, errno.ENOTDIR):
            return f"no PETRA control socket at {path}: is PETRA running? {hint}"
        if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
            return (f"permission denied on the PETRA control socket {path}: the socket is 0660, so your user "
                    "must be in the petra group (sudo usermod -aG petra $USER, then log in again) or run as root")
        if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return f"nothing is listening on the PETRA control socket {path} (stale socket?): is PETRA running? {hint}"
        if code == errno.ENOTSOCK:
            return f"{path} is not a socket {hint}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate of {target.url} not trusted: {exc.verify_message} (pass --cacert FILE)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error talking to {target.describe()}: {exc}"
    if isinstance(exc, TimeoutError):
        return f"PETRA at {target.describe()} did not answer in time"
    if isinstance(exc, http.client.RemoteDisconnected):
        return f"PETRA at {target.describe()} closed the connection without answering"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot reach PETRA at {target.describe()}: connection refused: is PETRA running with TCP enabled?"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host of {target.url}: {exc.strerror}"
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"cannot reach PETRA at {target.describe()}: {reason}"


def _error_message(status: int, body: Any, target: Target) -> str:
    if isinstance(body, dict):
        if status == 422 and body.get("accepted") is False:
            problems = body.get("problems") or []
            lines = [f"reload refused: {body.get('reason') or 'no reason given'}"]
            lines += [f"  - {p}" for p in problems]
            return "\n".join(lines)
        if isinstance(body.get("error"), str):
            message = body["error"]
            if status == 401:
                message += " (pass --token or set PETRA_TOKEN)"
            return message
    return f"HTTP {status} from {target.describe()}"


class ControlClient:
    """Requests to one PETRA; each call opens a fresh connection (the API is cheap to reach)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.target.url is None:
            return UnixHTTPConnection(str(self.target.socket_path), timeout=timeout)
        split = urlsplit(self.target.url)
        if split.scheme == "https":
            context = ssl.create_default_context(cafile=self.target.cacert)
            return http.client.HTTPSConnection(split.hostname or "localhost", split.port or 443,
                                               timeout=timeout, context=context)
        if split.scheme == "http":
            return http.client.HTTPConnection(split.hostname or "localhost", split.port or 80, timeout=timeout)
        raise Unreachable(f"--url must start with https:// or http://, not {self.target.url!r}")

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.target.token:
            headers["Authorization"] = f"Bearer {self.target.token}"
        return headers

    def _open(self, method: str, path: str, payload: Any = None,
              timeout: float = REQUEST_TIMEOUT_S) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        body = None if payload is None else json.dumps(payload).encode()
        conn = self._connection(timeout)
        try:
            conn.request(method, path, body=body, headers=self._headers(body))
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Unreachable(describe_connection_error(exc, self.target)) from None

    def request(self, method: str, path: str, payload: Any = None, timeout: float = REQUEST_TIMEOUT_S) -> Any:
        """Send one request; the decoded JSON body on 2xx, else `Refused`."""
        conn, response = self._open(method, path, payload, timeout)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(describe_connection_error(exc, self.target)) from None
        finally:
            conn.close()
        body = _decode(raw.decode("utf-8", errors="replace")) if raw else None
        if response.status >= 400:
            raise Refused(response.status, _error_message(response.status, body, self.target), body)
        if body is None and raw:
            raise Unreachable(f"PETRA at {self.target.describe()} answered with something that is not JSON")
        return body

    # --- the API -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.request("GET", "/v1/status")

    def tree(self) -> dict[str, Any]:
        return self.request("GET", "/v1/tree")

    def signals(self, pattern: str = "*") -> list[dict[str, Any]]:
        return self.request("GET", "/v1/signals?" + urlencode({"pattern": pattern}))["signals"]

    def get(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/signals/{_quote(name)}")

    def set(self, name: str, value: Any) -> dict[str, Any]:
        return self.request("PUT", f"/v1/signals/{_quote(name)}", {"value": value})

    def force(self, name: str, value: Any, reason: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {"value": value}
        if reason is not None:
            payload["reason"] = reason
        return self.request("POST", f"/v1/signals/{_quote(name)}/force", payload)

    def unforce(self, name: str, reason: str | None) -> dict[str, Any]:
        payload = {} if reason is None else {"reason": reason}
        return self.request("DELETE", f"/v1/signals/{_quote(name)}/force", payload)

    def reload(self) -> dict[str, Any]:
        return self.request("POST", "/v1/reload", {}, timeout=120.0)

    def restart(self, path: str) -> dict[str, Any]:
        return self.request("POST", "/v1/actors/restart", {"path": path})

    def inject(self, path: str, kind: str, arg: float | None) -> dict[str, Any]:
        return self.request("POST", "/v1/actors/inject", {"path": path, "kind": kind, "arg": arg})

    def events(self, pattern: str = "*") -> Iterator[dict[str, Any]]:
        """Yield each `changes` event of the server-sent event stream; `Unreachable` when the server closes it."""
        conn, response = self._open("GET", "/v1/events?" + urlencode({"pattern": pattern}),
                                    timeout=EVENTS_TIMEOUT_S)
        try:
            if response.status >= 400:
                body = _decode(response.read().decode("utf-8", errors="replace"))
                raise Refused(response.status, _error_message(response.status, body, self.target), body)
            yield from parse_sse(_lines(response, self.target))
            raise Unreachable(f"PETRA at {self.target.describe()} closed the event stream (stopping?)")
        finally:
            conn.close()


def _lines(response: http.client.HTTPResponse, target: Target) -> Iterator[str]:
    while True:
        try:
            line = response.readline()
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(describe_connection_error(exc, target)) from None
        if not line:
            return
        yield line.decode("utf-8", errors="replace").rstrip("\r\n")


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Decode server-sent events: the JSON `data` of every `changes` event; comments are skipped."""
    event = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data and event == "changes":
                decoded = _decode("\n".join(data))
                if decoded is not None:
                    yield decoded
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field_name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field_name == "event":
                event = value
            elif field_name == "data":
                data.append(value)


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _quote(name: str) -> str:
    return quote(name, safe="")
