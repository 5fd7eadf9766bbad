"""Scan timing: tick lateness, scan work and overruns, kept for readers.

The clock writes, anyone reads (status, benchmarks, the systemd watchdog).
Percentiles come from a bounded window of recent samples.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `samples` (0 for none); `fraction` in [0, 1]."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class ScanSummary:
    ticks: int
    overruns: int
    missed_ticks: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    work_p50_ms: float
    work_p99_ms: float
    work_max_ms: float
    last_tick_monotonic: float | None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class ScanStats:
    """Counters and recent samples of the scan."""

    def __init__(self, window: int = 4096) -> None:
        self._lock = threading.Lock()
        self.ticks = 0
        self.overruns = 0
        self.missed_ticks = 0
        self.completed_scans = 0
        self.last_tick_monotonic: float | None = None
        self.last_complete_monotonic: float | None = None
        self._lateness: deque[float] = deque(maxlen=window)
        self._work: deque[float] = deque(maxlen=window)
        self.chain_work_s: dict[str, float] = {}
        self.chain_overruns: dict[str, int] = {}
        self._on_scan: list[Callable[[], None]] = []

    def on_scan(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the thread that finished it, so it must be quick) after each completed scan:
        what waits for the gap between two scans is told, not polling."""
        with self._lock:
            self._on_scan.append(callback)

    def record_tick(self, at: float, lateness_s: float) -> None:
        with self._lock:
            self.ticks += 1
            self.last_tick_monotonic = at
            self._lateness.append(lateness_s)

    def record_missed(self, count: int) -> None:
        with self._lock:
            self.missed_ticks += count

    def record_overrun(self, chain: str) -> None:
        with self._lock:
            self.overruns += 1
            self.chain_overruns[chain] = self.chain_overruns.get(chain, 0) + 1

    def record_chain(self, chain: str, work_s: float) -> None:
        self.chain_work_s[chain] = work_s

    def record_scan(self, at: float, work_s: float) -> None:
        with self._lock:
            self.completed_scans += 1
            self.last_complete_monotonic = at
            self._work.append(work_s)
            told = tuple(self._on_scan)
        for callback in told:
            try:
                callback()
            except Exception:  # a listener's fault must not stop the scan's bookkeeping
                log.exception("a listener of completed scans failed")

    def lateness_samples(self) -> list[float]:
        with self._lock:
            return list(self._lateness)

    def work_samples(self) -> list[float]:
        with self._lock:
            return list(self._work)

    def summary(self) -> ScanSummary:
        late = self.lateness_samples()
        work = self.work_samples()
        return ScanSummary(
            ticks=self.ticks,
            overruns=self.overruns,
            missed_ticks=self.missed_ticks,
            lateness_p50_ms=percentile(late, 0.50) * 1e3,
            lateness_p99_ms=percentile(late, 0.99) * 1e3,
            lateness_max_ms=max(late, default=0.0) * 1e3,
            work_p50_ms=percentile(work, 0.50) * 1e3,
            work_p99_ms=percentile(work, 0.99) * 1e3,
            work_max_ms=max(work, default=0.0) * 1e3,
            last_tick_monotonic=self.last_tick_monotonic,
        )
