"""The control API's HTTP server (aiohttp): a Unix socket (default) and optional TCP with TLS.

The Unix socket is created with mode 0660 and identifies callers by their
peer credentials (`uid:1000`); TCP requires a bearer token and identifies
callers by the token's name (`token:ops`). Both hand requests to the same
`ControlApi`, in a small thread pool because a handler may wait on an actor.
`GET /v1/events` streams signal changes as server-sent events from a bounded
queue: a client that cannot keep up loses events (counted in `dropped`), never
memory. Limits (body size, timeouts, backlog) are `petra.control.http_host`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fnmatch
import hmac
import json
import logging
import os
import socket
import ssl
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from petra.control.api import ControlApi, Request, Response
from petra.control.http_host import Limits, read_body
from petra.messages import SignalsChanged
from petra.rate_limited_log import RateLimitedLog
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

_STREAMS: web.AppKey[set[asyncio.Queue[dict[str, Any] | None]]] = web.AppKey("streams", set)
"""The queue of every open event stream."""


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
    """The aiohttp application: every method and path goes to `ControlApi.handle`, events are streamed."""

    def __init__(self, api: ControlApi, tokens: dict[str, str], limits: Limits, rejected: Counter) -> None:
        self.api = api
        self.tokens = tokens
        self.limits = limits
        self.rejected = rejected
        self.refusals = RateLimitedLog(log)
        self.executor = ThreadPoolExecutor(API_THREADS, thread_name_prefix="petra-control-api")
        self.app = web.Application(client_max_size=limits.max_body_bytes)
        self.app[_STREAMS] = set()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.app.on_shutdown.append(self._end_streams)
        self.app.on_cleanup.append(self._release)

    def identify(self, request: web.Request) -> str | None:
        """`uid:N` from the Unix socket's peer credentials; `token:NAME` for a valid bearer token on TCP."""
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and sock.family == socket.AF_UNIX:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return f"uid:{struct.unpack('3i', creds)[1]}"
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        offered = header[len("Bearer "):].strip().encode()
        for name, token in self.tokens.items():
            if hmac.compare_digest(offered, token.encode()):
                return f"token:{name}"
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        caller = self.identify(request)
        if caller is None:
            return self._refuse(request, "?", Response(401, {"error": "missing or invalid bearer token"}))
        try:
            body = await read_body(request, self.limits)
        except web.HTTPException as exc:
            return self._refuse(request, caller, Response(exc.status, {"error": exc.text or exc.reason}), close=True)
        if request.method == "GET" and request.path.rstrip("/") == "/v1/events":
            if len(self.app[_STREAMS]) >= SSE_MAX_STREAMS:
                return self._refuse(request, caller, Response(503, {
                    "error": f"{SSE_MAX_STREAMS} event streams are open already; close one or try again later"}))
            return await self._stream_events(request, request.query.get("pattern", "*"))
        call = Request(request.method, request.path, dict(request.query), body, caller)
        response = await asyncio.get_running_loop().run_in_executor(self.executor, self.api.handle, call)
        return self._refuse(request, caller, response) if 400 <= response.status < 500 else _json(response)

    def _refuse(self, request: web.Request, caller: str, response: Response, close: bool = False) -> web.Response:
        """A client's mistake: counted, logged once per kind and interval (never a traceback), answered."""
        reason = str(response.status)
        self.rejected.labels(SERVER_NAME, reason).inc()
        message = response.body.get("error", "") if isinstance(response.body, dict) else ""
        self.refusals.info(f"{reason}:{request.method}", "control API refused %s %s from %s: %d %s",
                           request.method, request.path[:200], caller, response.status, str(message)[:300])
        return _json(response, close)

    async def _stream_events(self, request: web.Request, pattern: str) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SSE_QUEUE)
        dropped = 0

        def enqueue(item: dict[str, Any]) -> None:
            nonlocal dropped
            try:
                events.put_nowait(item)
            except asyncio.QueueFull:
                dropped += 1

        def listener(event: SignalsChanged) -> None:  # runs in the signal owner's thread
            changes = [
                {"name": c.name, "value": c.value, "quality": c.quality.name.lower(), "timestamp": c.timestamp}
                for c in event.changes
                if pattern in ("", "*") or fnmatch.fnmatchcase(c.name, pattern)
            ]
            if changes:
                with contextlib.suppress(RuntimeError):  # the loop closed before the stream could unsubscribe
                    loop.call_soon_threadsafe(enqueue, {"owner": str(event.owner), "changes": changes})

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        response.force_close()  # one stream per connection: it ends with the stream
        bus = self.api.plant.bus
        streams = self.app[_STREAMS]
        bus.subscribe(listener)
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
                data = json.dumps({**item, "dropped": dropped}, default=str)
                await response.write(f"event: changes\ndata: {data}\n\n".encode())
            await response.write_eof()
        except ConnectionError:
            pass  # the client left
        finally:
            bus.unsubscribe(listener)
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


def _json(response: Response, close: bool = False) -> web.Response:
    reply = web.Response(status=response.status, body=response.encode(), content_type="application/json")
    if close:
        reply.force_close()
    return reply

