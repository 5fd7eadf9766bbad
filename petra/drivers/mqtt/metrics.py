"""`petra_driver_*` metrics of one MQTT bridge, labelled ``driver="mqtt:<client_id>"``.

The collectors are created once per plant registry and shared with any other
driver that uses the same names (a restarted actor, or S7/Modbus drivers that
export the same families), so registering twice never fails.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


def _shared(registry: CollectorRegistry, kind: type, name: str, documentation: str) -> Any:
    existing = registry._names_to_collectors.get(name)
    if existing is not None:
        return existing
    try:
        return kind(name, documentation, ["driver"], registry=registry)
    except ValueError:  # registered by another thread in the meantime
        return registry._names_to_collectors[name]


class DriverMetrics:
    """Children of the shared families for one driver label."""

    def __init__(self, registry: CollectorRegistry, driver: str) -> None:
        def counter(name: str, doc: str) -> Any:
            return _shared(registry, Counter, name, doc).labels(driver)

        def gauge(name: str, doc: str) -> Any:
            return _shared(registry, Gauge, name, doc).labels(driver)

        self.connected = gauge("petra_driver_connected", "1 while the driver's connection is up")
        self.messages_in = counter("petra_driver_messages_in", "Messages or values received from the device")
        self.messages_out = counter("petra_driver_messages_out", "Messages or values sent to the device")
        self.errors = counter("petra_driver_errors", "Connection, payload and protocol errors")
        self.reconnects = counter("petra_driver_reconnects", "Connections re-established after a loss")
        self.buffer_depth = gauge("petra_driver_buffer_depth", "Outbound messages held while disconnected")
        self.dropped = counter("petra_driver_dropped", "Outbound messages dropped because the buffer was full")
        self.refused = counter("petra_driver_writes_refused", "Remote writes refused (signal not writable)")
