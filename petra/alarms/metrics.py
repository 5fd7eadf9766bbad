"""Prometheus metrics of the alarm subsystem (`petra_alarm_*`, `petra_notify_*`)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1.0)


class AlarmMetrics:
    def __init__(self, registry: CollectorRegistry, views: Callable[[], Mapping[str, Mapping[str, Any]]],
                 flood: Callable[[], bool]) -> None:
        r = registry
        self.transitions = Counter("petra_alarm_transitions", "Alarm state transitions by event", ["event"],
                                   registry=r)
        self.latency = Histogram("petra_alarm_latency_seconds",
                                 "Signal change to durable alarm state change", buckets=_LATENCY_BUCKETS, registry=r)
        self.floods = Counter("petra_alarm_floods", "Alarm floods started", registry=r)
        self.requests = Counter("petra_notify_requests", "Notifications requested", ["channel"], registry=r)
        self.sent = Counter("petra_notify_sent", "Notifications accepted by the provider", ["channel"], registry=r)
        self.failed = Counter("petra_notify_failed", "Notifications given up on", ["channel"], registry=r)
        self.retries = Counter("petra_notify_retries", "Notification attempts retried after a transient failure",
                               ["channel"], registry=r)
        self.status = Counter("petra_notify_delivery_status", "Delivery status reports (callbacks)",
                              ["channel", "status"], registry=r)
        self.suppressed = Counter("petra_notify_suppressed", "Notifications not sent (cool-down, consolidated)",
                                  ["reason"], registry=r)
        self.skipped = Counter("petra_notify_skipped_contacts", "Contacts skipped while escalating", ["reason"],
                               registry=r)
        self.summaries = Counter("petra_notify_flood_summaries", "Consolidated flood summaries sent", registry=r)
        self.webhooks = Counter("petra_notify_webhooks", "Inbound Twilio webhooks by result", ["kind", "result"],
                                registry=r)
        registry.register(_StateCollector(views, flood))


class _StateCollector(Collector):
    def __init__(self, views: Callable[[], Mapping[str, Mapping[str, Any]]], flood: Callable[[], bool]) -> None:
        self._views = views
        self._flood = flood

    def collect(self) -> Iterator[GaugeMetricFamily]:
        views = list(self._views().values())
        states = GaugeMetricFamily("petra_alarms", "Alarms by ISA-18.2 state", labels=["state"])
        for state, count in sorted(Tally(v.get("state") for v in views).items()):
            states.add_metric([str(state)], float(count))
        yield states
        yield GaugeMetricFamily("petra_alarm_chattering", "Alarms flagged as chattering",
                                value=float(sum(1 for v in views if v.get("chattering"))))
        yield GaugeMetricFamily("petra_alarm_unacked", "Alarms waiting for acknowledgement",
                                value=float(sum(1 for v in views if v.get("acked") is False)))
        yield GaugeMetricFamily("petra_alarm_flood", "1 while an alarm flood is on", value=float(self._flood()))
