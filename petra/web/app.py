"""The web listener's aiohttp application: the control API's `ControlApp` plus the page, its files and its stream.

One application, so `/v1/...` is exactly the control API (the same routes, authentication, roles, CSRF and
audit: `petra.control.server.ControlApp`), with a middleware in front that serves what only a browser needs:

- `GET /` -> `static/index.html` (the app; it shows its login form when `GET /v1/session` answers 401);
- `GET /static/PATH` -> a file under `petra/web/static/` and nothing outside it (no `..`, no symbolic link
  out, no dot-files), `Cache-Control: no-cache` with an ETag (a reload revalidates, an unchanged file costs
  a 304), `.js` as `text/javascript` (browsers refuse ES modules served otherwise);
- `GET /v1/stream` -> the tab's one event stream (`petra.web.stream`), authenticated like every API call.

The page and its files need no credentials (the login page must load); every `/v1` call does. Pages are
served with a Content-Security-Policy of `'self'` (no inline script, no third-party origin) and
`frame-ancestors 'none'`: a control screen must not be framed by another site.

No way in: with no user in the users file (and no `control.tcp.tokens`), nobody could log in. The listener
still serves the page, and every `/v1` call answers with why and how to add a user (GET /v1/session 401,
so the page shows its login form with that message; the rest 503). The users file is looked at again at
most every `WAY_IN_RECHECK_S`, and at every login attempt, so after `petra user add` the next login works
without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from petra import jsontext
from petra.control.auth import SESSION_COOKIE, Refused
from petra.control.calls import ApiError, Request
from petra.control.server import ControlApp
from petra.security.roles import Principal
from petra.web.ring import TrendRing
from petra.web.stream import KEEPALIVE_S, STATUS_S, StatusCache, Stream, StreamHub, change_items

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STREAM_PATHS = ("/v1/stream", "/v1/stream/")
WAY_IN_RECHECK_S = 2.0
RING_SAMPLE_S = 1.0
RING_SLICES = 20
"""The ring is sampled a twentieth at a time (every 50 ms): each signal once a second, no slice over ~0.3 ms."""
REAUTH_S = 5.0
"""How often an open stream checks that its caller is still who it was: a session that ended (logout, expiry,
a password or role change, a lock) ends the stream within this long (a session lookup: no hashing)."""
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".txt": "text/plain", ".map": "application/json"}
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


def static_file(root: Path, relative: str) -> Path | None:
    """The regular file `relative` names under `root`, or None for anything else (outside it, hidden, absent)."""
    parts = [part for part in relative.split("/") if part]
    if not parts or any(part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    base = root.resolve()
    try:
        target = base.joinpath(*parts).resolve()
    except (OSError, ValueError):
        return None
    return target if target.is_relative_to(base) and target.is_file() else None


def content_type(path: Path) -> str:
    kind = TYPES.get(path.suffix.lower(), "application/octet-stream")
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind == "application/json" else kind


class WebApp:
    """The control API's application with the page, the static files and the stream in front (one app)."""

    def __init__(self, control: ControlApp, hub: StreamHub, way_in: Callable[[], str | None],
                 static_dir: Path = STATIC_DIR, ring: TrendRing | None = None) -> None:
        self.control = control
        self.hub = hub
        self.static_dir = static_dir
        self.way_in = way_in
        """Why nobody could log in now (None: someone can); looked at again every WAY_IN_RECHECK_S."""
        self._nobody: str | None = way_in()
        self._checked_at = time.monotonic()
        self.status = StatusCache(self._status)
        self.app = control.app
        self.app.middlewares.append(self._middleware)
        self.app.on_shutdown.insert(0, self._end_streams)
        self.ring = ring
        self._sampler: asyncio.Task[None] | None = None
        self._tender: asyncio.Task[None] | None = None
        self.app.on_startup.append(self._start_tasks)
        self.app.on_cleanup.append(self._stop_tasks)
        self._open: set[Stream] = set()
        self._reloads: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def nobody(self) -> str | None:
        return self._nobody

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if request.method in ("GET", "HEAD"):
            if path == "/" or path == "/index.html":
                return self._file(static_file(self.static_dir, "index.html"), "index.html")
            if path.startswith("/static/"):
                relative = path[len("/static/"):]
                return self._file(static_file(self.static_dir, relative), relative)
        if path.startswith("/v1/") and self._nobody is not None:
            logging_in = request.method == "POST" and path.rstrip("/") == "/v1/login"  # just after `petra user add`
            if logging_in or time.monotonic() - self._checked_at >= WAY_IN_RECHECK_S:
                self._nobody = await asyncio.get_running_loop().run_in_executor(self.control.executor, self.way_in)
                self._checked_at = time.monotonic()
            if self._nobody is not None:
                status = 401 if path.rstrip("/") == "/v1/session" else 503
                return _json(status, {"error": self._nobody, "reason": "no_users"})
        if request.method == "GET" and path in STREAM_PATHS:
            return await self._stream(request)
        if request.method == "POST" and path.rstrip("/") == "/v1/reload":
            return await self._reload(request, handler)
        response: web.StreamResponse = await handler(request)
        return response

    async def _reload(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """A reload asked on this listener: answered by the API, unless the reload replaces this very listener
        (it changed `web:`): then `answer_reloads` answers 202 before the listener stops, and the reload goes on
        (its outcome is in the log and the audit trail). Waiting for it would have the listener's stop wait on
        the request and the request on the stop."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        stopping: asyncio.Future[None] = loop.create_future()
        self._reloads.add(stopping)
        task = asyncio.ensure_future(handler(request))
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._reloads.discard(stopping)
        if task.done():
            response: web.StreamResponse = task.result()
            return response
        return _json(202, {"accepted": True, "reason": "applying: the new config changes web:, so the web HMI "
                                                       "restarts with it; reconnect in a moment"})

    def answer_reloads(self, timeout: float = 2.0) -> None:
        """Called (from any thread but the loop's) before the listener stops: answer the reloads in flight."""
        loop = self._loop
        if loop is None or not self._reloads:
            return

        async def release() -> None:
            for stopping in list(self._reloads):
                if not stopping.done():
                    stopping.set_result(None)
            await asyncio.sleep(0.05)  # let the handlers write their answers

        with contextlib.suppress(Exception):  # the loop stopped: nothing left to answer
            asyncio.run_coroutine_threadsafe(release(), loop).result(timeout)

    async def _start_tasks(self, _app: web.Application) -> None:
        self._tender = asyncio.ensure_future(self._tend())
        if self.ring is not None:
            self._sampler = asyncio.ensure_future(self._sample())

    async def _stop_tasks(self, _app: web.Application) -> None:
        for task in (self._tender, self._sampler):
            if task is not None:
                task.cancel()

    async def _sample(self) -> None:
        """The trend ring's once-a-second sample, on the loop (petra.web.ring: off the scan's path)."""
        assert self.ring is not None
        part = 0
        while True:
            await self.hub.between_scans()  # Python too: in the gap between two scans
            try:  # one slice at a time, spread over the second (ring.sample)
                self.ring.sample(part, RING_SLICES)
            except Exception:  # a sample that fails must not end the sampling (a reload mid-sample)
                log.exception("web HMI: the trend ring's sample failed")
            part = (part + 1) % RING_SLICES
            await asyncio.sleep(RING_SAMPLE_S / RING_SLICES)

    def _file(self, path: Path | None, asked: str) -> web.StreamResponse:
        if path is None:
            return _json(404, {"error": f"no such file: {asked[:200]}"})
        return web.FileResponse(path, headers={**PAGE_HEADERS, "Content-Type": content_type(path)})

    def _status(self) -> Any:
        """The streams' status; None (no status event) when it fails, which the log says."""
        try:
            return self.control.api.status(process=False)
        except Exception:
            log.exception("web HMI: the status for the streams failed")
            return None

    async def _identify(self, request: web.Request) -> Principal:
        loop = asyncio.get_running_loop()
        address = request.remote or "unknown"
        principal: Principal = await loop.run_in_executor(
            self.control.executor, self.control.identify, "GET", request.path, None, address, request.headers,
            request.cookies.get(SESSION_COOKIE))
        return principal

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        try:
            principal = await self._identify(request)
            stream = self.hub.open(principal.name, asyncio.get_running_loop())
        except Refused as refused:
            headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after is not None else {}
            return _json(refused.status, {"error": refused.message}, headers)
        except ApiError as exc:
            return _json(exc.status, {"error": exc.message})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
        response.force_close()  # one stream per connection: it ends with the stream
        self._open.add(stream)
        try:
            await response.prepare(request)
            await _event(response, "hello", json.dumps({"id": stream.id}))
            await self._pump(request, response, stream, principal)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client left, or the server is stopping
        finally:
            self._open.discard(stream)
            self.hub.close(stream)
        return response

    async def _pump(self, request: web.Request, response: web.StreamResponse, stream: Stream,
                    principal: Principal) -> None:
        """Send the stream's news each time it is woken, until it is closed or its caller may no longer read.

        Nothing here has a timer of its own: the hub wakes the stream in a gap between two scans (a batch
        handed out, `_tend`'s once-a-second round), so 50 tabs are 50 steps of Python in the gap, not 50 sets
        of timers firing into scans. A wake from elsewhere (a PUT's current values, from the API's thread)
        waits for the gap first."""
        loop = asyncio.get_running_loop()
        clock = time.monotonic
        last_write = checked = clock()
        last_status: str | None = None
        while not stream.closed:
            await stream.wake.wait()
            stream.wake.clear()
            transport = request.transport
            if stream.closed or transport is None or transport.is_closing():
                break  # ended, or the tab left (aiohttp does not cancel a handler whose client went away)
            await self.hub.between_scans()  # at once when woken in a gap, as the hub wakes it
            changes, alarms, dropped = stream.take()
            encoded = stream.take_encoded()
            if changes or encoded:
                items = b",".join([*change_items(self.hub.plant.table, changes), *encoded])
                await response.write(b'event: changes\ndata: {"changes":[' + items + b'],"dropped":'
                                     + str(dropped).encode() + b"}\n\n")
                last_write = clock()
            for alarm_id in alarms:
                view = await loop.run_in_executor(self.control.executor, self._alarm, alarm_id, principal)
                if view is not None:
                    await _event(response, "alarms", jsontext.dumps(view, default=str))
                    last_write = clock()
            status = stream.take_status()
            if stream.status_now:  # just subscribed to it: at once
                stream.status_now = False
                if stream.subscription.status:
                    status = await loop.run_in_executor(self.control.executor, self.status.text)
            if status is not None and status is not last_status:  # not the one sent at once again
                await _event(response, "status", status)
                last_write, last_status = clock(), status
            if clock() - last_write >= KEEPALIVE_S:
                await response.write(b": keep-alive\n\n")
                last_write = clock()
            if clock() - checked >= REAUTH_S and principal.via == "session":
                checked = clock()
                try:
                    await self._identify(request)
                except Refused as refused:
                    await _event(response, "ended", json.dumps({"error": refused.message, "status": refused.status}))
                    return

    async def _tend(self) -> None:
        """Once a second, for every open stream together and in a gap between two scans: the forced signals
        looked at, the status computed once and given to each stream that carries it, and every stream woken
        (to send it, to see whether its tab left, whether a keep-alive or its caller's re-check is due)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(STATUS_S)
            streams = list(self._open)
            if not streams:
                continue
            try:
                await self.hub.between_scans()
                self.hub.poll_forced()
                text = None
                if any(stream.subscription.status for stream in streams):
                    text = await loop.run_in_executor(self.control.executor, self.status.text)
                    await self.hub.between_scans()
                for stream in streams:
                    if text is not None and stream.subscription.status:
                        stream.give_status(text)
                    stream.wake.set()
            except Exception:  # one round that fails must not end the streams' rounds
                log.exception("web HMI: the streams' once-a-second round failed")

    def _alarm(self, alarm_id: str, principal: Principal) -> Any:
        response = self.control.api.handle(Request("GET", f"/v1/alarms/{alarm_id}", caller=principal.audit_actor,
                                                   principal=principal))
        return response.body if response.status == 200 else None

    async def _end_streams(self, _app: web.Application) -> None:
        """End every open stream first, so a stop never waits on one."""
        for stream in list(self._open):
            stream.close()


async def _event(response: web.StreamResponse, kind: str, data: str) -> None:
    await response.write(f"event: {kind}\ndata: {data}\n\n".encode())


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    reply = web.Response(status=status, body=(jsontext.dumps(body) + "\n").encode(), content_type="application/json")
    for name, value in (headers or {}).items():
        reply.headers[name] = value
    return reply
