"""The clock actor: broadcasts `Tick` to every block chain on absolute deadlines.

Deadlines are `start + n * period`, never "now + period", so the scan does not
drift (the arithmetic is `petra.clock.deadlines`). A timing thread of the
actor's own sleeps to each deadline and hands the tick to the plant's
`TickBoard` (`petra.clock`), which sends it to every chain that is not still
busy with the previous one (a busy chain is an overrun: counted, never
queued). The actor itself answers the supervisor's liveness probe: a timing
thread that died or stopped ticking fails the probe and gets the clock
restarted.
"""

from __future__ import annotations

import logging
import threading
import time

from petra.clock.deadlines import next_deadline
from petra.plant import Plant
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class ClockStalled(RuntimeError):
    """The timing thread stopped ticking: the liveness probe reports it."""


class ClockActor(SupervisedActor):
    """Owns the scan period and the timing thread."""

    def __init__(self, plant: Plant) -> None:
        super().__init__()
        self.plant = plant
        self.period = plant.scan_time_s
        self._halt = threading.Event()
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
        board = self.plant.ticks
        monotonic = time.monotonic
        deadline = monotonic() + period
        seq = stats.ticks
        # An abandoned (hung) clock instance must stop ticking: its replacement ticks now.
        while not self._halt.is_set() and not self.abandoned:
            delay = deadline - monotonic()
            if delay > 0:
                time.sleep(delay)
            if self._halt.is_set() or self.abandoned:
                break
            woke = monotonic()
            lateness = woke - deadline
            seq += 1
            stats.record_tick(woke, lateness)
            metrics.tick_lateness.observe(lateness)
            metrics.ticks.inc()
            _sent, overran = board.dispatch(seq, deadline, woke)
            for chain in overran:
                metrics.overruns.labels(chain).inc()
            deadline, missed = next_deadline(deadline, period, monotonic())
            if missed:
                stats.record_missed(missed)
                metrics.missed_ticks.inc(missed)
