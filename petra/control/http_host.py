"""Run an aiohttp application on an event loop thread of its own, with limits every client meets.

The actor that owns a listener (control API, Twilio webhooks) binds its sockets
itself, so a port or socket that is taken fails its start with a clear error,
then hands them to an `HttpHost`. One event loop serves every connection:
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


class HttpHost:
    """An aiohttp application on its own loop thread; `stop` releases every socket so a restart can bind again."""

    def __init__(self, app: web.Application, sockets: list[BoundSocket], limits: Limits, name: str,
                 rejected: Counter) -> None:
        self.app = app
        self.sockets = sockets
        self.limits = limits
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._runner = web.AppRunner(
            app, access_log=None, logger=_ClientErrorLog(name, rejected), handle_signals=False,
            keepalive_timeout=limits.idle_timeout_s, shutdown_timeout=limits.shutdown_timeout_s,
            lingering_time=limits.body_timeout_s,
        )

    def start(self) -> None:
        """Serve every socket; raises (and releases everything) if the application cannot start."""
        self._thread.start()
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
        return self._thread.is_alive()

    def stop(self) -> None:
        """Graceful: stop accepting, let running requests finish (bounded), close every socket; idempotent."""
        if self._thread.is_alive() and not self.loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop)
            try:
                future.result(self.limits.shutdown_timeout_s + START_TIMEOUT_S)
            except Exception as exc:
                log.warning("%s: stop was not clean: %s", self.name, exc)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(START_TIMEOUT_S)
        for bound in self.sockets:
            with contextlib.suppress(OSError):
                bound.sock.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()
