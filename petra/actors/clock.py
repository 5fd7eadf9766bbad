"""The clock actor: broadcasts `Tick` to every block chain on absolute deadlines.

Deadlines are `start + n * period`, never "now + period", so the scan does not
drift. A timing thread of the actor's own sleeps to each deadline and sends the
ticks; the actor's mailbox takes subscriptions and `ScanDone` reports. A chain
still busy with its previous tick when the next is due gets no new tick: that
is an overrun, counted, never queued.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from petra.messages import ScanDone, SubscribeTicks, Tick, UnsubscribeTicks
from petra.plant import Plant
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class ClockStalled(RuntimeError):
    """The timing thread stopped ticking: the liveness probe reports it."""


@dataclass
class _Target:
    ref: object
    pending: int | None = None


@dataclass
class _OpenScan:
    seq: int
    started: float
    outstanding: int


class ClockActor(SupervisedActor):
    """Owns the scan period and the list of chains to tick."""

    def __init__(self, plant: Plant) -> None:
        super().__init__()
        self.plant = plant
        self.period = plant.scan_time_s
        self._targets: dict[str, _Target] = {}
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._open: _OpenScan | None = None
        self._thread: threading.Thread | None = None

    def on_start(self) -> None:
        self._thread = threading.Thread(target=self._run_guarded, name="petra-clock", daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._halt.set()

    def on_failure(self, *_exc_info: object) -> None:
        self._halt.set()

    def check_health(self) -> None:
        last = self.plant.stats.last_tick_monotonic
        if self._thread is None or not self._thread.is_alive():
            raise ClockStalled("clock timing thread is not running")
        if last is not None and time.monotonic() - last > max(5 * self.period, 2.0):
            raise ClockStalled(f"no tick for {time.monotonic() - last:.1f} s")

    def on_receive(self, message: object) -> object:
        if isinstance(message, ScanDone):
            self._scan_done(message)
        elif isinstance(message, SubscribeTicks):
            with self._lock:
                self._targets[message.chain] = _Target(message.ref)
        elif isinstance(message, UnsubscribeTicks):
            with self._lock:
                target = self._targets.get(message.chain)
                if target is not None and target.ref == message.ref:
                    del self._targets[message.chain]
        else:
            return super().on_receive(message)
        return None

    def subscribers(self) -> list[str]:
        with self._lock:
            return sorted(self._targets)

    def _scan_done(self, done: ScanDone) -> None:
        stats = self.plant.stats
        stats.record_chain(done.chain, done.work_s)
        with self._lock:
            target = self._targets.get(done.chain)
            if target is not None and target.pending == done.seq:
                target.pending = None
            scan = self._open
            if scan is None or scan.seq != done.seq:
                return
            scan.outstanding -= 1
            if scan.outstanding > 0:
                return
            self._open = None
        work = done.finished_at - scan.started
        stats.record_scan(done.finished_at, work)
        self.plant.metrics.scan_duration.observe(work)

    def _run_guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # the actor must learn its timing thread died
            log.exception("clock timing thread failed")
            self.fail(exc)

    def _run(self) -> None:
        period = self.period
        stats = self.plant.stats
        metrics = self.plant.metrics
        monotonic = time.monotonic
        deadline = monotonic() + period
        seq = 0
        while not self._halt.is_set():
            delay = deadline - monotonic()
            if delay > 0:
                time.sleep(delay)
            woke = monotonic()
            lateness = woke - deadline
            seq += 1
            stats.record_tick(woke, lateness)
            metrics.tick_lateness.observe(lateness)
            metrics.ticks.inc()
            self._dispatch(seq, deadline, woke)
            deadline += period
            if deadline <= monotonic():
                missed = int((monotonic() - deadline) // period) + 1
                deadline += missed * period
                stats.record_missed(missed)
                metrics.missed_ticks.inc(missed)

    def _dispatch(self, seq: int, deadline: float, woke: float) -> None:
        tick = Tick(seq, deadline)
        sent = []
        with self._lock:
            for name, target in self._targets.items():
                if target.pending is not None:
                    self.plant.stats.record_overrun(name)
                    self.plant.metrics.overruns.labels(name).inc()
                    continue
                target.pending = seq
                sent.append(target.ref)
            self._open = _OpenScan(seq, woke, len(sent)) if sent else None
        for ref in sent:
            ref.tell(tick)  # type: ignore[attr-defined]
