"""Prometheus metrics every field driver shares, labelled by connection (`driver="s7:plc1"`).

One set per plant registry, created on first use and found again afterwards,
so several drivers (and a restarted actor) never register a name twice. The
MQTT driver (petra/drivers/mqtt/metrics.py) shares the families it has in
common (connected, errors, reconnects) the same way: same names, same label.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_POLL_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0)
_lock = threading.Lock()


def _get_or_create(registry: CollectorRegistry, kind: type, name: str, doc: str, **kwargs: Any) -> Any:
    # prometheus_client keeps no public lookup by name; the private map is stable across 0.x.
    existing = registry._names_to_collectors.get(name)
    if existing is None and kind is Counter:
        existing = registry._names_to_collectors.get(f"{name}_total")
    if existing is not None:
        return existing
    try:
        return kind(name, doc, ["driver"], registry=registry, **kwargs)
    except ValueError:  # registered in the meantime by a driver that does not take our lock (MQTT)
        return registry._names_to_collectors[name]


@dataclass(frozen=True)
class DriverMetrics:
    """The children of the shared driver metrics for one connection."""

    connected: Any
    poll_duration: Any
    requests: Any
    errors: Any
    reconnects: Any

    @classmethod
    def for_driver(cls, registry: CollectorRegistry, driver: str) -> DriverMetrics:
        """The metrics of `driver` (e.g. "s7:press") in `registry`, created on first use."""
        with _lock:
            connected = _get_or_create(registry, Gauge, "petra_driver_connected",
                                       "1 while the driver is connected to its device")
            duration = _get_or_create(registry, Histogram, "petra_driver_poll_duration_seconds",
                                      "Time to read a connection's whole mapping once", buckets=_POLL_BUCKETS)
            requests = _get_or_create(registry, Counter, "petra_driver_requests",
                                      "Requests sent to the device (reads and writes)")
            errors = _get_or_create(registry, Counter, "petra_driver_errors",
                                    "Failed requests, error answers and undecodable data")
            reconnects = _get_or_create(registry, Counter, "petra_driver_reconnects",
                                        "Connections re-established after a loss")
        return cls(
            connected=connected.labels(driver),
            poll_duration=duration.labels(driver),
            requests=requests.labels(driver),
            errors=errors.labels(driver),
            reconnects=reconnects.labels(driver),
        )
