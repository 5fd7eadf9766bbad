"""The metrics actor: serves the plant's Prometheus registry over HTTP.

It runs on `petra.control.http_host` like the control API: the same shared event
loop, the same timeouts, so a scraper that connects and never asks costs no thread.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from petra.control.http_host import (
    SERVICES_POOL,
    BoundSocket,
    HttpHost,
    Limits,
    http_rejections,
    refuse_plaintext_beyond_loopback,
)
from petra.control.server import bind_tcp
from petra.plant import Plant
from supervision import PooledActor

log = logging.getLogger(__name__)

LIMITS = Limits(max_body_bytes=0)
"""A scrape is a GET: no body."""


class MetricsServerActor(PooledActor):
    """Owns the Prometheus endpoint's listener; a restart binds the port again."""

    pool_name = SERVICES_POOL
    pool_workers = 1

    def __init__(self, plant: Plant, host: str, port: int) -> None:
        super().__init__()
        self.plant = plant
        self.host = host
        self.port = port
        self._server: HttpHost | None = None

    def on_start(self) -> None:
        refuse_plaintext_beyond_loopback(self.plant.config, "the metrics endpoint", self.host)
        sock = bind_tcp(self.host, self.port, LIMITS, what="metrics")
        app = web.Application(client_max_size=1)
        app.router.add_route("GET", "/{tail:.*}", self._scrape)
        try:
            self._server = HttpHost(app, [BoundSocket(sock)], LIMITS, "petra-metrics",
                                    http_rejections(self.plant.metrics.registry))
            self._server.start()
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def _scrape(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        # Encoded on the shared loop itself: no collector waits on an actor, and the encode is short (see
        # benchmarks/footprint.py's note in the README), so a thread pool (asyncio's default executor kept
        # a thread alive after the first scrape) would buy a thread for nothing.
        body = encoder(self.plant.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    def check_health(self) -> None:
        if self._server is not None and not self._server.is_alive():
            raise RuntimeError("the metrics listener's event loop stopped")

    def release(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def bound_port(self) -> int:
        return self.port
