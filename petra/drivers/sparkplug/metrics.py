"""`petra_sparkplug_*` metrics of one edge node, labelled ``node="<group_id>/<edge_node_id>"``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

_DOCS = {
    "petra_sparkplug_messages_out": (Counter, ("node", "kind"), "Sparkplug messages published, by message type"),
    "petra_sparkplug_births": (Counter, ("node",), "NBIRTHs published (sessions and rebirths)"),
    "petra_sparkplug_commands_written": (Counter, ("node",), "NCMD/DCMD metrics written to signals"),
    "petra_sparkplug_commands_refused": (Counter, ("node", "reason"), "NCMD/DCMD metrics refused, by reason"),
    "petra_sparkplug_historical_sent": (Counter, ("node",), "Samples sent from the WAL flagged is_historical"),
    "petra_sparkplug_historical_lost": (Counter, ("node",), "Samples of an offline period the WAL no longer held"),
    "petra_sparkplug_errors": (Counter, ("node",), "Connection and payload errors"),
    "petra_sparkplug_connected": (Gauge, ("node",), "1 while the edge node's MQTT session is up"),
    "petra_sparkplug_host_online": (Gauge, ("node",), "1 while the primary host says it is online"),
    "petra_sparkplug_backfill_pending": (Gauge, ("node",), "1 while samples wait in the WAL for the host"),
}


def _family(registry: CollectorRegistry, name: str) -> Any:
    existing = registry._names_to_collectors.get(name)
    if existing is not None:
        return existing
    kind, labels, doc = _DOCS[name]
    try:
        return kind(name, doc, list(labels), registry=registry)
    except ValueError:  # another actor registered it in the meantime
        return registry._names_to_collectors[name]


class SparkplugMetrics:
    def __init__(self, registry: CollectorRegistry, node: str) -> None:
        self.node = node
        self._registry = registry
        f = self._child
        self.births = f("petra_sparkplug_births")
        self.written = f("petra_sparkplug_commands_written")
        self.historical = f("petra_sparkplug_historical_sent")
        self.lost = f("petra_sparkplug_historical_lost")
        self.errors = f("petra_sparkplug_errors")
        self.connected = f("petra_sparkplug_connected")
        self.host_online = f("petra_sparkplug_host_online")
        self.pending = f("petra_sparkplug_backfill_pending")
        self._out = _family(registry, "petra_sparkplug_messages_out")
        self._refused = _family(registry, "petra_sparkplug_commands_refused")

    def _child(self, name: str) -> Any:
        return _family(self._registry, name).labels(self.node)

    def sent(self, kind: str) -> None:
        self._out.labels(self.node, kind).inc()

    def refused(self, reason: str) -> None:
        self._refused.labels(self.node, reason).inc()
