"""Prometheus metrics of one PETRA runtime, in a registry of its own.

A registry per runtime (not prometheus-client's global one) keeps tests that
start several runtimes in one process independent. Actor up/down and restart
counts are read from the supervision tree at scrape time, so they can never
disagree with `petra-ctl tree`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from supervision import NodeSnapshot

_SCAN_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
_LATENESS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1)


class PlantMetrics:
    """Every metric the core runtime exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        self.scan_duration = Histogram(
            "petra_scan_duration_seconds", "Scan work: tick dispatch to the last chain's ScanDone",
            buckets=_SCAN_BUCKETS, registry=r,
        )
        self.tick_lateness = Histogram(
            "petra_tick_lateness_seconds", "How late the clock woke after its absolute deadline",
            buckets=_LATENESS_BUCKETS, registry=r,
        )
        self.ticks = Counter("petra_ticks", "Scan ticks sent by the clock", registry=r)
        self.overruns = Counter(
            "petra_scan_overruns", "Ticks skipped because the chain was still busy", ["chain"], registry=r
        )
        self.missed_ticks = Counter(
            "petra_missed_ticks", "Deadlines skipped because the clock woke more than a period late", registry=r
        )
        self.signal_updates = Counter(
            "petra_signal_updates", "Signal value changes written, per owning group or chain", ["group"],
            registry=r,
        )
        self.signal_errors = Counter(
            "petra_signal_update_errors", "Rejected or uncoercible signal writes", ["group"], registry=r
        )
        self.block_errors = Counter(
            "petra_block_errors", "Block evaluations that could not compute (outputs held, bad quality)", ["chain"],
            registry=r,
        )
        self.forced_suppressed = Counter(
            "petra_forced_writes_suppressed", "Writes dropped because the signal is forced", ["group"], registry=r
        )
        self.task_runs = Counter(
            "petra_task_runs", "Runs a task started: a cyclic task's ticks, an event task's triggered runs", ["task"],
            registry=r,
        )
        self.task_lateness = Histogram(
            "petra_task_lateness_seconds",
            "Cyclic task: how late after its deadline it started; event task: from the triggering change to the start",
            ["task"], buckets=_LATENESS_BUCKETS, registry=r,
        )
        self.task_work = Histogram(
            "petra_task_work_seconds", "A task's run: from its start to its last chain's end", ["task"],
            buckets=_SCAN_BUCKETS, registry=r,
        )
        self.task_overruns = Counter(
            "petra_task_overruns", "Chains of a cyclic task that were still busy at its tick (they skipped it)",
            ["task"], registry=r,
        )
        self.task_missed = Counter(
            "petra_task_missed_ticks", "Deadlines of a cyclic task skipped because the clock woke more than an "
            "interval late", ["task"], registry=r,
        )
        self.task_coalesced = Counter(
            "petra_task_coalesced", "Triggering changes of an event task that joined a run already pending "
            "instead of getting their own (runs + coalesced = changes)", ["task"], registry=r,
        )
        self.signals = Gauge("petra_signals", "Signals in the table", registry=r)
        self.scan_time = Gauge("petra_scan_time_seconds", "Configured scan period", registry=r)

    def watch_tree(self, snapshot: Callable[[], NodeSnapshot]) -> None:
        """Export per-actor up and restarts from a `SupervisionTree.tree` callable."""
        self.registry.register(_TreeCollector(snapshot))


class _TreeCollector(Collector):
    def __init__(self, snapshot: Callable[[], NodeSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("petra_actor_up", "1 while the actor at this path is running", labels=["path"])
        restarts = CounterMetricFamily(
            "petra_actor_restarts", "Restarts of the actor at this path", labels=["path"]
        )
        hung = CounterMetricFamily("petra_actor_hung", "Times the actor stopped answering probes", labels=["path"])
        root = self._snapshot()
        for node in root.walk():
            up.add_metric([node.path], 1.0 if node.state == "running" else 0.0)
            restarts.add_metric([node.path], float(node.restarts))
            hung.add_metric([node.path], float(node.hung))
        yield up
        yield restarts
        yield hung
