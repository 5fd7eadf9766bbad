"""The OPC-UA actor (`services/opcua`): runs the asyncua server in a process of its own.

asyncua's Python work (each notification encoded, signed and encrypted) would otherwise take the GIL from
the scan, so the server runs in `python -m petra.opcua.child`, fed and answered by `petra.opcua.host`. The
actor's thread only starts and stops it and answers probes and status asks. A server process that dies
fails the actor (health check) and the supervisor restarts it: the server binds again and clients
reconnect (their sessions are gone; asyncua's client re-creates them).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from petra.control.auth import Identities
from petra.control.handle import RuntimeHandle
from petra.opcua.metrics import OpcuaMetrics
from petra.opcua.settings import OpcuaSettings
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import SupervisedActor

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
"""A server process that neither listens nor says why within this fails the actor (a hung start)."""


class OpcuaStopped(RuntimeError):
    pass


class OpcuaActor(SupervisedActor):
    """Serves the plant over OPC-UA (asyncua on its own event loop thread)."""

    def __init__(self, plant: Plant, runtime: RuntimeHandle | None, identities: Identities, metrics: OpcuaMetrics,
                 wiring: Wiring) -> None:
        super().__init__()
        self.plant = plant
        self.runtime = runtime
        self.identities = identities
        self.metrics = metrics
        self.wiring = wiring
        self._host: Any = None
        self._crashed: str | None = None
        self._started_at = 0.0
        self.ready = threading.Event()
        """Set once the server listens (`endpoints` says where)."""

    def on_start(self) -> None:
        """Start the server process; returns at once (the plant never waits on OPC-UA's ~2-5 s start). A start
        that fails fails this actor (`fail`), and its supervisor restarts it."""
        from petra.opcua.host import ServerHost

        settings = self.plant.config.settings("opcua", OpcuaSettings)
        host = self._host = ServerHost(self.plant, settings, self.identities, self.runtime, self.metrics, self.wiring,
                                       on_ready=self.ready.set, on_failed=self._failed)
        self._started_at = time.monotonic()
        host.start()

    def _failed(self, reason: str) -> None:
        log.error("OPC-UA: %s", reason)
        self._crashed = reason
        self.fail(OpcuaStopped(reason))

    def check_health(self) -> None:
        host = self._host
        if host is not None and not host.alive():
            self.metrics.gauges.up = 0
            code = host.process.poll() if host.process is not None else None
            raise OpcuaStopped(f"the OPC-UA server process ended (exit code {code}; {self._crashed or 'no reason'})")
        if host is not None and not self.ready.is_set() and time.monotonic() - self._started_at > START_TIMEOUT_S:
            raise OpcuaStopped(f"the OPC-UA server did not start within {START_TIMEOUT_S:.0f} s")

    def release(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            try:
                host.stop()
            except Exception:
                log.exception("OPC-UA: stopping the server failed")

    # --- asks ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Endpoint, policies, sessions (user, role, address), subscriptions, monitored items."""
        host = self._host
        if host is None or not self.ready.is_set():
            return {"endpoint": None, "starting": host is not None, "sessions": []}
        return host.live_status() or {"endpoint": host.info.get("endpoint"), "sessions": []}

    def endpoints(self) -> dict[str, Any]:
        """Where the server listens (None values until it does)."""
        info = self._host.info if self._host is not None and self.ready.is_set() else {}
        return {"opcua": info.get("endpoint"), "port": info.get("port"), "namespace": info.get("namespace")}

    def server_pid(self) -> int | None:
        """The server process's id (None before it starts)."""
        process = self._host.process if self._host is not None else None
        return process.pid if process is not None else None

    def crash_loop(self) -> None:
        """Kill the server process (the chaos tests: a crash the supervisor must see)."""
        if self._host is not None:
            self._host.kill()
