"""The clock actor: ticks every cyclic task's chains on its own absolute deadlines, and installs the event tasks.

Deadlines are `start + n * interval`, never "now + interval", so no task
drifts (the arithmetic is `petra.clock.deadlines`). One timing thread serves
every cyclic task (`main` at `scan_time_ms`, and each `tasks:` entry with
`interval_ms`): it keeps the tasks' next deadlines in a heap, sleeps to the
earliest, and ticks every task then due, the most urgent priority first,
through the task's `TickBoard` (`petra.tasks.runtime.TaskRun.tick`), which
sends `Tick` to each of its chains not still busy with the previous one (a
busy chain is an overrun: counted, never queued). One thread for all tasks,
not one per task: a thread per task would cost a thread each and make the
tasks' wake-ups fight over the GIL, while a wake-up here costs the same for
one task or ten, and two tasks due at once are ticked in priority order
microseconds apart.

The thread reads and waits for the time through `plant.tick_time`: the real
clocks in production (a `Condition.wait` to the deadline), a `ManualTime`
in tests that count ticks per task without sleeping.

Event tasks need no thread: on start the actor subscribes each one's
`EventTask.on_change` to the ChangeBus (and removes it on stop), so a
trigger's change starts the chains in the thread that published it.

The actor itself answers the supervisor's liveness probe: a timing thread
that died or stopped ticking fails the probe and gets the clock restarted.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from petra.clock.deadlines import next_deadline
from petra.clock.source import SYSTEM_TIME
from petra.messages import SignalsChanged
from petra.plant import Plant
from petra.tasks.runtime import EventTask, TaskRun
from supervision import SupervisedActor

log = logging.getLogger(__name__)

HALT_CHECK_S = 0.05
"""The longest the real clock sleeps before it looks at its halt flag again."""


class ClockStalled(RuntimeError):
    """The timing thread stopped ticking: the liveness probe reports it."""


class ClockActor(SupervisedActor):
    """Owns the timing thread of every cyclic task and the event tasks' subscriptions."""

    def __init__(self, plant: Plant) -> None:
        super().__init__()
        self.plant = plant
        self.period = plant.scan_time_s
        self._halt = threading.Event()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._cyclic: list[TaskRun] = [run for run in plant.tasks.values() if run.cyclic]
        self._events: list[EventTask] = [run.event for run in plant.tasks.values() if run.event is not None]
        self._listeners: list[Callable[[SignalsChanged], None]] = []

    def on_start(self) -> None:
        for event in self._events:
            self._listeners.append(self.plant.bus.subscribe(event.on_change))
        self._thread = threading.Thread(target=self._run_guarded, name="petra-clock", daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._stop_ticking()
        self._leave_bus()

    def on_failure(self, *_exc_info: object) -> None:
        self._stop_ticking()
        self._leave_bus()

    def _stop_ticking(self) -> None:
        self._halt.set()
        with self._wake:
            self._wake.notify_all()

    def _leave_bus(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            self.plant.bus.unsubscribe(listener)
        for event in self._events:
            event.detach()

    def check_health(self) -> None:
        last = self.plant.stats.last_tick_monotonic
        if self._thread is None or not self._thread.is_alive():
            raise ClockStalled("clock timing thread is not running")
        now = self.plant.tick_time.monotonic()
        if last is not None and now - last > max(5 * self.period, 2.0):
            raise ClockStalled(f"no tick for {now - last:.1f} s")

    def _run_guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # the actor must learn its timing thread died
            log.exception("clock timing thread failed")
            self.fail(exc)

    def _run(self) -> None:
        runs = self._cyclic
        source = self.plant.tick_time
        monotonic = source.monotonic
        wake = self._wake
        real = source is SYSTEM_TIME
        start = monotonic()
        periods = [run.config.interval_s for run in runs]
        seqs = [run.stats.ticks for run in runs]
        # (deadline, priority, index): the earliest deadline first; of two due at once, the more urgent.
        due_at = [(start + periods[i], run.priority, i) for i, run in enumerate(runs)]
        heapq.heapify(due_at)
        # An abandoned (hung) clock instance must stop ticking: its replacement ticks now.
        while due_at and not self._halt.is_set() and not self.abandoned:
            if real:
                # time.sleep, not Condition.wait: waking from a timed lock wait came back 2-4 ms late at p99
                # under the scan benchmark (0.3 ms, the bare loop's floor, with sleep). Slices bound how long
                # a stop waits for a slow task's deadline.
                delay = due_at[0][0] - monotonic()
                if delay > 0:
                    time.sleep(min(delay, HALT_CHECK_S))
                    continue
            else:
                with wake:  # the time is read holding `wake`, so a ManualTime's move cannot slip in before the wait
                    delay = due_at[0][0] - monotonic()
                    if delay > 0:
                        if not self._halt.is_set():
                            source.wait(wake, delay)
                        continue
            woke = monotonic()
            due = []
            while due_at and due_at[0][0] <= woke:
                due.append(heapq.heappop(due_at))
            due.sort(key=lambda entry: (entry[1], entry[0]))
            for deadline, priority, index in due:
                seqs[index] += 1
                runs[index].tick(seqs[index], deadline, woke)
                following, missed = next_deadline(deadline, periods[index], monotonic())
                if missed:
                    runs[index].missed(missed)
                heapq.heappush(due_at, (following, priority, index))
