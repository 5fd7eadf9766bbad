"""Storage metrics (`petra_wal_*`, `petra_storage_*`) in the plant's registry, created once per plant."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from petra.plant import Plant
from petra.wiring import Wiring


class StorageMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.wal_head = Gauge("petra_wal_head_sequence", "Last acknowledged (committed) WAL sequence", registry=r)
        self.wal_used = Gauge("petra_wal_used_bytes", "Bytes of WAL pages holding samples", registry=r)
        self.wal_file = Gauge("petra_wal_file_bytes", "Size of the WAL file on disk", registry=r)
        self.wal_map = Gauge("petra_wal_map_bytes", "Current LMDB map size", registry=r)
        self.wal_samples = Counter("petra_wal_samples", "Samples acknowledged by the WAL", registry=r)
        self.wal_commits = Counter("petra_wal_commits", "WAL group commits", registry=r)
        self.wal_dropped = Counter("petra_wal_dropped_samples",
                                   "Samples refused because the WAL was full (never acknowledged)", registry=r)
        self.wal_unstorable = Counter("petra_wal_unstorable_samples",
                                      "Samples whose value no column can hold: stored as no value, quality bad",
                                      registry=r)
        self.wal_full = Gauge("petra_wal_full", "1 while the WAL is full and refuses new samples", registry=r)
        self.lag = Gauge("petra_storage_consumer_lag_samples", "WAL head minus the consumer's cursor",
                         ["consumer"], registry=r)
        self.oldest = Gauge("petra_storage_oldest_unforwarded_seconds",
                            "Age of the oldest sample the consumer has not written yet (0 when caught up)",
                            ["consumer"], registry=r)
        self.rows = Counter("petra_storage_rows_written", "Rows written per tier", ["tier"], registry=r)
        self.failures = Counter("petra_storage_failures", "Failed writes per tier", ["tier"], registry=r)
        self.disk = Gauge("petra_storage_bytes_on_disk", "Bytes of files a tier keeps on local disk", ["tier"],
                          registry=r)
        self.pending_files = Gauge("petra_storage_pending_files", "Closed files waiting for upload", ["tier"],
                                   registry=r)


def storage_metrics(plant: Plant, wiring: Wiring) -> StorageMetrics:
    """The plant's storage metrics, kept in the wiring's storage state: made once, they outlive restarts and reloads
    (a registry refuses a second metric of the same name)."""
    state = wiring.section_state("storage")
    existing = state.get("metrics")
    if not isinstance(existing, StorageMetrics):
        existing = StorageMetrics(plant.metrics.registry)
        state["metrics"] = existing
    return existing
