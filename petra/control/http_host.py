"""Run aiohttp applications on one shared event loop thread, with limits every client meets.

The actor that owns a listener (control API, metrics, Twilio webhooks) binds its
sockets itself, so a port or socket that is taken fails its start with a clear
error, then hands them to an `HttpHost`. One event loop thread (`petra-http`)
serves every listener and every connection of the process:
an idle, slow or half-open client costs a coroutine, not a thread, and never
holds up anyone else. Past `Limits` a client is answered (413, 408) or cut off;
malformed requests are logged rate-limited without a traceback and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CollectorRegistry, Counter

from petra.rate_limited_log import RateLimitedLog

if TYPE_CHECKING:
    from petra.config.model import PlantConfig

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


class PlaintextRefused(RuntimeError):
    """security.require_tls is set and a listener would carry requests in plain text beyond this machine."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: a listener there is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_plaintext_beyond_loopback(config: PlantConfig, what: str, host: str) -> None:
    """With security.require_tls, a plain-HTTP listener may only be reachable from this machine."""
    if config.security.require_tls and not is_loopback(host):
        raise PlaintextRefused(f"security.require_tls is set but {what} speaks plain HTTP on {host}: bind it to "
                               "127.0.0.1 (behind a TLS-terminating proxy if others must reach it)")


@dataclass(frozen=True)
class Limits:
    """How much and how long one client may take before it is answered or cut off."""

    max_body_bytes: int = 1 << 20
    idle_timeout_s: float = 15.0
    """A connection that sends no request (at first or between keep-alive requests) is closed."""
    body_timeout_s: float = 10.0
    """Reading one request's body; a client that stops sending gets 408. After an answer sent before
    the whole body arrived, the rest is read and dropped for as long again before the connection closes."""
    handshake_timeout_s: float = 10.0
    """The TLS handshake of a TCP connection."""
    shutdown_timeout_s: float = 2.0
    """On stop, requests still running get this long before they are cancelled."""
    backlog: int = 128


def http_rejections(registry: CollectorRegistry) -> Counter:
    """Requests refused for what the client sent (malformed, too large, too slow), per server and reason."""
    name = "petra_http_rejected"
    existing = registry._names_to_collectors.get(f"{name}_total")  # one per registry, shared by every server
    if isinstance(existing, Counter):
        return existing
    return Counter(name, "HTTP requests refused for what the client sent", ["server", "reason"], registry=registry)


async def read_body(request: web.Request, limits: Limits) -> bytes:
    """The whole body within the limits: 413 when too large, 408 when the client stalls."""
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=limits.max_body_bytes, actual_size=request.content_length)
    try:
        return await asyncio.wait_for(request.read(), limits.body_timeout_s)
    except TimeoutError:
        raise web.HTTPRequestTimeout(text=f"the body did not arrive within {limits.body_timeout_s:g} s\n") from None


class _ClientErrorLog(logging.LoggerAdapter):
    """aiohttp's server logger: a client's malformed request is one rate-limited line, counted; bugs keep tracebacks."""

    def __init__(self, server: str, rejected: Counter) -> None:
        super().__init__(log, {})
        self.server = server
        self.rejected = rejected
        self.limited = RateLimitedLog(log)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.rejected.labels(self.server, "malformed").inc()
            self.limited.warning(f"{self.server}:malformed", "%s: refused a malformed request: %s",
                                 self.server, str(exc_info).replace("\n", " "))
            return
        if isinstance(exc_info, (ConnectionError, asyncio.CancelledError)):
            log.debug("%s: connection ended: %s", self.server, exc_info)
            return
        log.error(msg, *args, exc_info=exc_info, **kwargs)


class _BoundSite(web.BaseSite):
    """A site on a socket the owner bound itself, with a TLS handshake timeout (aiohttp's sites have none)."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, ssl_context: ssl.SSLContext | None,
                 limits: Limits) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=limits.backlog)
        self._sock = sock
        self._handshake_timeout = limits.handshake_timeout_s if ssl_context is not None else None

    @property
    def name(self) -> str:
        return str(self._sock.getsockname())

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog,
            ssl_handshake_timeout=self._handshake_timeout,
        )


@dataclass(frozen=True)
class BoundSocket:
    """A listening socket to serve, and the TLS context for it (None: plain)."""

    sock: socket.socket
    ssl_context: ssl.SSLContext | None = None


SERVICES_POOL = "services"
"""The actor pool of the listeners' owners (control, metrics): after start they only answer probes and
lookups (their requests run on the shared loop and the control API's executor), so one worker serves them."""

LOOP_THREAD = "petra-http"
"""The one event loop thread every listener of the process shares."""


class _SharedLoop:
    """One event loop thread for every `HttpHost` of the process (control API, metrics, Twilio webhooks).

    Each host only adds coroutines (its runner and sites); a loop per host would cost a thread each
    for nothing. The loop runs while some host uses it and ends with the last one, so a stopped
    plant leaves no thread behind. A host's `stop` cleans up its own runner and sockets only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def acquire(self) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        with self._lock:
            if self.loop is None or self.thread is None or not self.thread.is_alive():
                loop = asyncio.new_event_loop()
                self.loop, self.thread = loop, threading.Thread(target=self._run, args=(loop,), name=LOOP_THREAD,
                                                                daemon=True)
                self._users = 0
                self.thread.start()
            self._users += 1
            return self.loop, self.thread

    def release(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if loop is not self.loop:
                return  # a loop that already ended (its thread died): nothing to stop
            self._users -= 1
            if self._users > 0:
                return
            thread, self.loop, self.thread = self.thread, None, None
        with contextlib.suppress(RuntimeError):  # closed already
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_TIMEOUT_S)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()


_LOOP = _SharedLoop()


class HttpHost:
    """An aiohttp application on the shared loop thread; `stop` releases every socket so a restart can bind again."""

    def __init__(self, app: web.Application, sockets: list[BoundSocket], limits: Limits, name: str,
                 rejected: Counter) -> None:
        self.app = app
        self.sockets = sockets
        self.limits = limits
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner = web.AppRunner(
            app, access_log=None, logger=_ClientErrorLog(name, rejected), handle_signals=False,
            keepalive_timeout=limits.idle_timeout_s, shutdown_timeout=limits.shutdown_timeout_s,
            lingering_time=limits.body_timeout_s,
        )

    def start(self) -> None:
        """Serve every socket; raises (and releases everything) if the application cannot start."""
        self.loop, self._thread = _LOOP.acquire()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    async def _start(self) -> None:
        await self._runner.setup()
        for bound in self.sockets:
            await _BoundSite(self._runner, bound.sock, bound.ssl_context, self.limits).start()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Graceful: stop accepting, let running requests finish (bounded), close every socket; idempotent."""
        loop, self.loop = self.loop, None
        if loop is not None:
            if self.is_alive() and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
                try:
                    future.result(self.limits.shutdown_timeout_s + START_TIMEOUT_S)
                except Exception as exc:
                    log.warning("%s: stop was not clean: %s", self.name, exc)
            _LOOP.release(loop)
        for bound in self.sockets:
            with contextlib.suppress(OSError):
                bound.sock.close()
