"""Prometheus metrics of the OPC-UA server (`petra_opcua_*`), made once per plant (kept across restarts).

Counters are counted where things happen (`writes`, `refused`, `events`: B2's conditions count the events
they emit); the gauges are what the server's loop last measured (`Gauges`, refreshed about once a second),
so a scrape never walks asyncua's structures from another thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass
class Gauges:
    up: int = 0
    sessions: int = 0
    subscriptions: int = 0
    monitored_items: int = 0
    publish_queue: int = 0
    """Notifications queued for publishing and not yet acknowledged, over every subscription."""
    pending_values: int = 0
    """Signal changes handed to the server's loop and not yet written to their nodes."""


class OpcuaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.writes = Counter("petra_opcua_writes", "Client writes to signals by result (accepted or the refusal)",
                              ["result"], registry=r)
        self.refused = Counter("petra_opcua_refused", "Clients or requests refused, by reason (login, anonymous, "
                               "locked_out, certificate, sessions, monitored_items, malformed)", ["reason"],
                               registry=r)
        self.events = Counter("petra_opcua_events", "Alarms & Conditions events emitted", registry=r)
        self.value_writes = Counter("petra_opcua_value_updates", "Signal values written to their nodes", registry=r)
        self.gauges = Gauges()
        registry.register(_GaugeCollector(self.gauges))


Counts = dict[tuple[str, tuple[str, ...]], float]
"""(counter, label values) -> its total."""


def counter_values(metrics: OpcuaMetrics) -> Counts:
    """Every counter's totals (the server's process sends them to PETRA's, which adds what is new)."""
    found: Counts = {}
    for name in COUNTERS:
        counter = getattr(metrics, name)
        for family in counter.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    found[(name, tuple(sample.labels.values()))] = sample.value
    return found


def add_count(metrics: OpcuaMetrics, name: str, labels: tuple[str, ...], total: float, seen: Counts) -> None:
    """A counter's total the server's process told at once: add what is new (its reports add the rest)."""
    if name in COUNTERS:
        add_counts(metrics, {(name, labels): total}, seen)


def add_counts(metrics: OpcuaMetrics, counts: Counts, seen: Counts) -> None:
    """Add to `metrics` what `counts` holds beyond `seen` (the last totals of the same process), then remember."""
    for key, total in counts.items():
        grown = total - seen.get(key, 0.0)
        if grown <= 0:
            continue
        name, labels = key
        counter = getattr(metrics, name)
        (counter.labels(*labels) if labels else counter).inc(grown)
        seen[key] = total


COUNTERS = ("writes", "refused", "events", "value_writes")


class _GaugeCollector(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = self._gauges
        yield GaugeMetricFamily("petra_opcua_up", "1 while the OPC-UA server is serving", value=float(g.up))
        yield GaugeMetricFamily("petra_opcua_sessions", "Activated OPC-UA sessions", value=float(g.sessions))
        yield GaugeMetricFamily("petra_opcua_subscriptions", "OPC-UA subscriptions", value=float(g.subscriptions))
        yield GaugeMetricFamily("petra_opcua_monitored_items", "OPC-UA monitored items",
                                value=float(g.monitored_items))
        yield GaugeMetricFamily("petra_opcua_publish_queue", "Notifications waiting to be published or "
                                "acknowledged", value=float(g.publish_queue))
        yield GaugeMetricFamily("petra_opcua_pending_values", "Signal changes waiting for the server's loop",
                                value=float(g.pending_values))
