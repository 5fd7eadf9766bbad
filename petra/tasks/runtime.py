"""Tasks at run time: each task's tick board and statistics, event triggering, and the gate.

Plain objects without threads of their own, kept in the `Plant` (so a
restarted clock keeps the same boards and counts into the same statistics):

- `TaskRun`: one per task. Its `TickBoard` knows the task's chains and which
  are still busy; its `ScanStats` and the `petra_task_*{task}` metrics count
  its runs, lateness, work, overruns and (event tasks) coalesced changes. The
  `main` task's board and stats are the plant's `ticks` and `stats`, and it
  also feeds the scan metrics every plant had before tasks
  (`petra_scan_duration_seconds`, `petra_ticks`, ...), so they keep their
  names and meaning: the main task's scan.
- `EventTask`: a ChangeBus subscriber (installed by the clock actor) that
  starts the task's chains when a trigger signal changes. A change that comes
  while a run is open or waiting is coalesced: at most one more run is ever
  pending, so a flood never queues; each change either starts a run or is
  counted in `petra_task_coalesced_total{task}` (runs + coalesced = changes).
- `TaskGate`: keeps event tasks from starving the cyclic ones. While a cyclic
  task's run is open (its chains were ticked and have not all finished), an
  event task may start at most one run; further changes wait, coalesced, until
  that run is over (or the next cyclic run opens). So a cyclic run is delayed
  by at most one run of each event task, whatever their priority or the rate of
  changes.

Which chain the pool's worker runs first when several are ready is the task's
priority (`PooledActor.pool_priority`, set by the chain actor): 1 before 99.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from petra.clock.scanstats import ScanStats
from petra.clock.ticks import TickBoard
from petra.messages import ScanDone, SignalsChanged
from petra.metrics import PlantMetrics
from petra.tasks.model import MAIN, TaskConfig, TaskKind


class TaskGate:
    """Which cyclic runs are open; event tasks ask it before they start (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[str] = set()
        self.generation = 0
        """Bumped each time a cyclic run opens."""
        self._parked: list[EventTask] = []

    def opened(self, task: str) -> None:
        with self._lock:
            self._open.add(task)
            self.generation += 1
            parked, self._parked = self._parked, []
        _retry(parked)

    def closed(self, task: str) -> None:
        with self._lock:
            if task not in self._open:
                return
            self._open.discard(task)
            parked, self._parked = self._parked, []
        _retry(parked)

    def admit(self, event: EventTask, ran_in: int) -> int | None:
        """The generation `event` may start a run in now, or None: it is parked until a cyclic run opens or closes."""
        with self._lock:
            if not self._open or ran_in != self.generation:
                return self.generation
            if event not in self._parked:
                self._parked.append(event)
            return None

    def forget(self, event: EventTask) -> None:
        with self._lock:
            if event in self._parked:
                self._parked.remove(event)


def _retry(parked: Iterable[EventTask]) -> None:
    for event in parked:
        event.retry()


class TaskRun:
    """One task of the running plant: its board, statistics and metrics."""

    def __init__(self, config: TaskConfig, board: TickBoard, stats: ScanStats, metrics: PlantMetrics,
                 gate: TaskGate, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.monotonic = monotonic
        """The clock an event run is stamped with: the one the cyclic deadlines are read from."""
        self.board = board
        self.stats = stats
        self.gate = gate
        self.main = config.name == MAIN
        self._metrics = metrics
        self._runs = metrics.task_runs.labels(config.name)
        self._lateness = metrics.task_lateness.labels(config.name)
        self._work = metrics.task_work.labels(config.name)
        self._overruns = metrics.task_overruns.labels(config.name)
        self._missed = metrics.task_missed.labels(config.name)
        self.coalesced_counter = metrics.task_coalesced.labels(config.name)
        self.coalesced = 0
        self.event: EventTask | None = None
        self.configure(config)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def priority(self) -> int:
        return self.config.priority

    @property
    def cyclic(self) -> bool:
        return self.config.kind is TaskKind.CYCLIC

    def configure(self, config: TaskConfig, trigger_slots: Iterable[int] = ()) -> None:
        """Take a (re)loaded config of the same task; an event task gets its trigger slots."""
        self.config = config
        if config.kind is TaskKind.EVENT:
            if self.event is None:
                self.event = EventTask(self, self.monotonic)
            self.event.slots = frozenset(trigger_slots)
        else:
            self.event = None

    def tick(self, seq: int, deadline: float, woke: float) -> list[str]:
        """The clock's call for a cyclic task's deadline: tick its idle chains; returns those that overran."""
        lateness = woke - deadline
        self.stats.record_tick(woke, lateness)
        self._lateness.observe(lateness)
        self._runs.inc()
        if self.main:
            self._metrics.tick_lateness.observe(lateness)
            self._metrics.ticks.inc()
        self.gate.opened(self.name)
        sent, overran = self.board.dispatch(seq, deadline, woke)
        if not sent:
            self.gate.closed(self.name)
        if overran:
            self._overruns.inc(len(overran))
            for chain in overran:
                self._metrics.overruns.labels(chain).inc()
        return overran

    def missed(self, count: int) -> None:
        self.stats.record_missed(count)
        self._missed.inc(count)
        if self.main:
            self._metrics.missed_ticks.inc(count)

    def done(self, report: ScanDone) -> None:
        """A chain of this task finished its run (called on the chain's thread). A chain's hot path calls
        `board.done` itself and `finished` only when it returns the run's work (one call fewer per chain)."""
        work = self.board.done(report)
        if work is not None:
            self.finished(work)

    def leave(self, chain: str, ref: Any) -> None:
        """A chain of this task stops or failed: it will not report; a run waiting only for it is over."""
        work = self.board.unsubscribe(chain, ref, self.monotonic())
        if work is not None:
            self.finished(work)

    def finished(self, work: float) -> None:
        """The task's run is over (its last chain reported, or left): `work` seconds from start to end."""
        self._work.observe(work)
        if self.main:
            self._metrics.scan_duration.observe(work)
        if self.cyclic:
            self.gate.closed(self.name)
        elif self.event is not None:
            self.event.finished()

    def coalesce(self) -> None:
        self.coalesced += 1
        self.coalesced_counter.inc()

    def started_event(self, at: float, lateness: float) -> None:
        self.stats.record_tick(at, lateness)
        self._lateness.observe(lateness)
        self._runs.inc()

    def summary(self) -> dict[str, object]:
        """What `petra-ctl status` and `top` show of this task."""
        stats = self.stats.summary()
        config = self.config
        return {
            "kind": config.kind.value,
            "interval_ms": config.interval_ms if self.cyclic else None,
            "trigger": list(config.trigger),
            "priority": config.priority,
            "chains": len(self.board.chains()),
            "runs": stats.ticks,
            "overruns": stats.overruns,
            "missed": stats.missed_ticks,
            "coalesced": self.coalesced,
            "lateness_p99_ms": stats.lateness_p99_ms,
            "work_p50_ms": stats.work_p50_ms,
            "work_p99_ms": stats.work_p99_ms,
            "work_max_ms": stats.work_max_ms,
        }


INLINE_DEPTH = 4
"""Event runs nested in one thread (a run's change triggering another event task) before the next goes to
the pool: a chain of event tasks runs at once, a loop of them cannot grow the stack."""


class _InlineDepth(threading.local):
    depth = 0


_inline = _InlineDepth()


class EventTask:
    """Starts its task's chains when a trigger slot changes; coalesces what comes while a run is open or waiting."""

    def __init__(self, run: TaskRun, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.run = run
        self.slots: frozenset[int] = frozenset()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._since = 0.0
        self._ran_in = -1
        self._seq = 0
        self._here: int | None = None
        """The thread running this task's run inline, while it does."""

    def on_change(self, event: SignalsChanged) -> None:
        """The ChangeBus subscriber: cheap, never blocks (a set test, at most one tell per chain)."""
        if self.slots.isdisjoint(event.slots):
            return
        with self._lock:
            if self._pending:
                self.run.coalesce()
                return
            self._pending = True
            self._since = self._monotonic()
            if self._running:
                return
        self._start()

    def retry(self) -> None:
        """The gate let parked tasks try again."""
        self._start()

    def finished(self) -> None:
        """The last chain of the open run reported; start the coalesced run if one is pending."""
        with self._lock:
            self._running = False
            if not self._pending or self._here == threading.get_ident():
                return  # nothing to start, or the run was inline: `_start`'s loop, below on this stack, starts it
        self._start()

    def _start(self) -> None:
        """Start the pending run if it may start now: in this thread when every chain can run here (see
        `TickBoard.run_here`) and this thread is not already INLINE_DEPTH event runs deep, else in the pool."""
        inline = _inline.depth < INLINE_DEPTH
        while True:
            with self._lock:
                if self._running or not self._pending:
                    return
                generation = self.run.gate.admit(self, self._ran_in)
                if generation is None:
                    return
                self._ran_in = generation
                self._running = True
                self._pending = False
                self._seq += 1
                seq, since = self._seq, self._since
            now = self._monotonic()
            self.run.started_event(now, now - since)
            board = self.run.board
            if inline:
                _inline.depth += 1
                self._here = threading.get_ident()
                try:
                    sent = board.run_here(seq, now, now)
                finally:
                    self._here = None
                    _inline.depth -= 1
                if sent is not None:
                    if not sent:
                        self._idle()
                    inline = False  # what came in meanwhile (from other threads) runs in the pool
                    continue
            sent, _busy = board.dispatch(seq, now, now)
            if not sent:  # no chains (a task without blocks), or all of them gone: nothing will report
                self._idle()
            return

    def _idle(self) -> None:
        with self._lock:
            self._running = False

    def detach(self) -> None:
        """The subscriber is removed (the clock stops): forget any parking."""
        self.run.gate.forget(self)


def build_runs(tasks: Iterable[TaskConfig], existing: dict[str, TaskRun], main_board: TickBoard,
               main_stats: ScanStats, metrics: PlantMetrics, gate: TaskGate,
               slot_of: Callable[[str], int | None],
               monotonic: Callable[[], float] = time.monotonic) -> dict[str, TaskRun]:
    """Task name -> TaskRun for `tasks`; a task that already runs keeps its board, statistics and event state."""
    runs: dict[str, TaskRun] = {}
    for config in tasks:
        slots = [s for s in (slot_of(name) for name in config.trigger) if s is not None]
        run = existing.get(config.name)
        if run is None:
            stats = main_stats if config.name == MAIN else ScanStats()
            # Per-chain figures stay the plant's, whichever task a chain is in (status' chain_work_ms lists all).
            stats.chain_work_s, stats.chain_overruns = main_stats.chain_work_s, main_stats.chain_overruns
            board = main_board if config.name == MAIN else TickBoard(stats)
            run = TaskRun(config, board, stats, metrics, gate, monotonic)
        run.configure(config, slots)
        runs[config.name] = run
    return runs


def task_status(runs: dict[str, TaskRun]) -> dict[str, dict[str, object]]:
    """Task name -> its summary, `main` first."""
    return {name: run.summary() for name, run in runs.items()}
