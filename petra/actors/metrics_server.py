"""The metrics actor: serves the plant's Prometheus registry over HTTP."""

from __future__ import annotations

import errno
import logging

from prometheus_client import start_http_server

from petra.plant import Plant
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class MetricsServerActor(SupervisedActor):
    """Owns the HTTP server thread; a restart rebinds the port."""

    def __init__(self, plant: Plant, host: str, port: int) -> None:
        super().__init__()
        self.plant = plant
        self.host = host
        self.port = port
        self._server = None

    def on_start(self) -> None:
        try:
            self._server, _thread = start_http_server(self.port, addr=self.host,
                                                      registry=self.plant.metrics.registry)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(f"metrics port {self.host}:{self.port} is in use: is another PETRA running? "
                              "(choose another with --metrics-port or metrics.port; 0 disables)") from None
            raise
        self.port = self._server.server_port
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    def on_stop(self) -> None:
        self._close()

    def on_failure(self, *_exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bound_port(self) -> int:
        return self.port
