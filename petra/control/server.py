"""The control API's HTTP server (aiohttp): a Unix socket (default) and optional TCP with TLS.

The Unix socket is created with mode 0660 and identifies callers by their
peer credentials (`uid:1000`); TCP takes a bearer token (`token:ops`, or a
user's API token) or a session cookie from `POST /v1/login`
(`petra.control.auth`). Every request is turned into a `Principal` first: no
credentials get 401 (unless `security.anonymous_viewer`), a locked-out client
429 with Retry-After, a cookie request that changes something without its
session's `X-CSRF-Token` 403; then `ControlApi` checks the route's least role
(`petra.control.access`, 403) and runs it. Authentication and the API run
in a small thread pool because a handler may wait on an actor, a login hashes
a password, and the audit trail fsyncs: the event loop never does either.
`GET /v1/events` streams signal changes as server-sent events from a bounded
queue: a client that cannot keep up loses events (counted in `dropped`), never
memory. Limits (body size, timeouts, backlog) are `petra.control.http_host`'s.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from petra.control import access
from petra.control.api import ControlApi
from petra.control.auth import CSRF_HEADER, SESSION_COOKIE, Authenticator, Refused, csrf_refusal
from petra.control.calls import Request, Response
from petra.control.event_filter import EventFanout
from petra.control.http_host import Limits, read_body
from petra.rate_limited_log import RateLimitedLog, RateLimiter
from petra.security.roles import Principal, Role
from petra.security.tls import apply_cipher_suites

log = logging.getLogger(__name__)

LIMITS = Limits()
SERVER_NAME = "petra-control"
"""The `server` label of this API's rejections (petra_http_rejected_total)."""
SSE_QUEUE = 10_000
SSE_KEEPALIVE_S = 5.0
SSE_MAX_STREAMS = 64
"""Every open stream is a bus listener called on each change: past this many, a new one gets 503."""
API_THREADS = 8
UNAUTHENTICATED_AUDIT_S = 60.0

_STREAMS: web.AppKey[set[asyncio.Queue[tuple[str, str] | None]]] = web.AppKey("streams", set)
"""The queue of every open event stream: (owner, its changes as JSON), None to end it."""


def bind_unix(path: Path, limits: Limits) -> socket.socket:
    """The listening socket at `path`, born 0660; refuses a path another PETRA is serving."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o117)  # the socket is born 0660, never briefly wider
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o660)
    sock.listen(limits.backlog)
    return sock


def bind_tcp(host: str, port: int, limits: Limits, what: str = "control API") -> socket.socket:
    """The listening TCP socket; a port in use is named as such (`what` says whose port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"{what} port {host}:{port} is in use: is another PETRA running?") from None
        raise
    sock.listen(limits.backlog)
    return sock


def tls_context(cert_file: str, key_file: str, cipher_suites: list[str] | None = None) -> ssl.SSLContext:
    """TLS 1.2 or later with the configured certificate, restricted to security.allowed_cipher_suites."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    for warning in apply_cipher_suites(context, cipher_suites or []):
        log.warning("control API TLS: %s", warning)
    return context


def _remove_stale_socket(path: Path) -> None:
    """Refuse to steal the socket of a PETRA that is still running."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f"control socket {path} is in use: is another PETRA running?")


class ControlApp:
    """The aiohttp application: every request is authenticated, then goes to `ControlApi.handle`; events stream."""

    def __init__(self, api: ControlApi, auth: Authenticator, limits: Limits, rejected: Counter) -> None:
        self.api = api
        self.auth = auth
        self.limits = limits
        self.rejected = rejected
        self.refusals = RateLimitedLog(log)
        self.unauthenticated = RateLimiter(UNAUTHENTICATED_AUDIT_S, max_keys=4096)
        """Requests without credentials are audited once per address and interval (a scanner would flood it)."""
        self._admit_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(API_THREADS, thread_name_prefix="petra-control-api")
        self._fanout: EventFanout | None = None
        """The event streams' bus listeners, made with the first stream (it needs the running loop)."""
        self.app = web.Application(client_max_size=limits.max_body_bytes)
        self.app[_STREAMS] = set()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_shutdown.append(self._end_streams)
        self.app.on_cleanup.append(self._release)

    def _peer(self, request: web.Request) -> tuple[int | None, str]:
        """The Unix peer's uid (None on TCP) and the client's address (`unix` on the socket)."""
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and sock.family == socket.AF_UNIX:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return struct.unpack("3i", creds)[1], "unix"
        return None, request.remote or "unknown"

    def identify(self, method: str, path: str, uid: int | None, address: str, headers: Any,
                 cookie: str | None) -> Principal:
        """Who the request acts as; `Refused` (401, 429, 503) when nobody, audited when it is a failed attempt.

        Runs in the API's thread pool: a user token or a session is looked up in the identity, and a
        refusal is written to the audit trail (fsynced), neither of which may hold up the event loop.
        """
        if uid is not None:
            return self.auth.unix(uid)
        if self.api.role_needed(method, path) is access.OPEN:
            return Principal("anonymous", Role.VIEWER, "anonymous", address)  # the login checks the body itself
        try:
            principal = self.auth.tcp(address, headers.get("Authorization"), cookie)
        except Refused as refused:
            if refused.audit is not None and self._admit(refused.audit, address):
                self.api.runtime.audit(refused.audit, f"address:{address}", address=address, method=method,
                                       path=path[:200], reason=refused.message)
            raise
        refusal = csrf_refusal(principal, method, headers.get(CSRF_HEADER))
        if refusal is not None:
            self.api.runtime.audit("access.denied", principal.audit_actor, address=address, method=method,
                                   path=path[:200], user=principal.user, reason=refusal)
            raise Refused(403, refusal)
        return principal

    def _admit(self, event: str, address: str) -> bool:
        """Whether to record `event` for `address` now (at most once per UNAUTHENTICATED_AUDIT_S each)."""
        with self._admit_lock:
            return self.unauthenticated.admit(f"{event}:{address}") is not None

    def _serve(self, call: Request, uid: int | None, address: str, headers: Any, cookie: str | None) -> Response:
        """Authenticate, then handle (one trip to the thread pool per request)."""
        try:
            principal = self.identify(call.method, call.path, uid, address, headers, cookie)
        except Refused as refused:
            return _refused(refused)
        session = cookie if principal.via == "session" else None
        return self.api.handle(Request(call.method, call.path, call.query, call.body, principal.audit_actor,
                                       principal, call.secure, session, call.content_type))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        uid, address = self._peer(request)
        loop = asyncio.get_running_loop()
        if request.method == "GET" and access.EVENTS_PATH.fullmatch(request.path):
            return await self._events(request, uid, address)
        try:
            body = await read_body(request, self.limits)
        except web.HTTPException as exc:
            return self._refuse(request, address, Response(exc.status, {"error": exc.text or exc.reason}),
                                close=True)
        call = Request(request.method, request.path, dict(request.query), body, secure=request.secure,
                       content_type=request.content_type if body else "")
        response = await loop.run_in_executor(self.executor, self._serve, call, uid, address, request.headers,
                                              request.cookies.get(SESSION_COOKIE))
        return self._refuse(request, address, response) if 400 <= response.status < 500 else _json(response)

    async def _events(self, request: web.Request, uid: int | None, address: str) -> web.StreamResponse:
        try:
            principal = await asyncio.get_running_loop().run_in_executor(
                self.executor, self.identify, request.method, request.path, uid, address, request.headers,
                request.cookies.get(SESSION_COOKIE))
        except Refused as refused:
            return self._refuse(request, address, _refused(refused))
        assert access.EVENTS.role is not None and principal.allows(access.EVENTS.role)  # every role may read
        if len(self.app[_STREAMS]) >= SSE_MAX_STREAMS:
            return self._refuse(request, principal.audit_actor, Response(503, {
                "error": f"{SSE_MAX_STREAMS} event streams are open already; close one or try again later"}))
        return await self._stream_events(request, request.query.get("pattern", "*"))

    def _refuse(self, request: web.Request, caller: str, response: Response, close: bool = False) -> web.Response:
        """A client's mistake: counted, logged once per kind and interval (never a traceback), answered."""
        reason = str(response.status)
        self.rejected.labels(SERVER_NAME, reason).inc()
        message = response.body.get("error", "") if isinstance(response.body, dict) else ""
        self.refusals.info(f"{reason}:{request.method}", "control API refused %s %s from %s: %d %s",
                           request.method, request.path[:200], caller, response.status, str(message)[:300])
        return _json(response, close)

    async def _stream_events(self, request: web.Request, pattern: str) -> web.StreamResponse:
        events: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(SSE_QUEUE)
        dropped = 0

        def enqueue(owner: str, encoded: str) -> None:  # on the loop, from the pattern's one bus listener
            nonlocal dropped
            try:
                events.put_nowait((owner, encoded))
            except asyncio.QueueFull:
                dropped += 1

        if self._fanout is None:
            self._fanout = EventFanout(self.api.plant.bus, self.api.plant.table, asyncio.get_running_loop())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        response.force_close()  # one stream per connection: it ends with the stream
        streams = self.app[_STREAMS]
        close = self._fanout.open(pattern, enqueue)
        streams.add(events)
        try:
            await response.prepare(request)
            await response.write(b": connected\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(events.get(), SSE_KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break  # the server is stopping
                data = EventFanout.data(*item, dropped)
                await response.write(f"event: changes\ndata: {data}\n\n".encode())
            await response.write_eof()
        except ConnectionError:
            pass  # the client left
        finally:
            close()
            streams.discard(events)
        return response

    async def _end_streams(self, _app: web.Application) -> None:
        """Tell every stream to end (ahead of the events it has queued) so a stop never waits on one."""
        streams = self.app[_STREAMS]
        for events in list(streams):
            while not events.empty():
                events.get_nowait()
            events.put_nowait(None)

    async def _release(self, _app: web.Application) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _refused(refused: Refused) -> Response:
    headers = (("Retry-After", str(refused.retry_after)),) if refused.retry_after is not None else ()
    return Response(refused.status, {"error": refused.message}, headers)


def _json(response: Response, close: bool = False) -> web.Response:
    reply = web.Response(status=response.status, body=response.encode(), content_type="application/json")
    for name, value in response.headers:
        reply.headers.add(name, value)
    if close:
        reply.force_close()
    return reply

