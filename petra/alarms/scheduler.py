"""One timer thread for the whole alarm subsystem: "tell this actor that message at time T".

Delays, shelve expiry, escalation steps and notification retries all need
timers; a thread per timer (threading.Timer) would cost a thread each. Times are
wall-clock epoch seconds, the same clock the durable state uses, so a deadline
read back after a restart means the same moment.

The time comes from the plant's `TimeSource` (`plant.time`): with a
`ManualTime` the thread fires what is due when a test advances the clock, and
`settle()` tells the test when it has.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

import pykka

from petra.clock.source import SYSTEM_TIME, TimeSource

log = logging.getLogger(__name__)


class Scheduler:
    """A heap of (when, callback); a daemon thread runs each callback when it is due."""

    def __init__(self, name: str = "alarm-timers", time_source: TimeSource = SYSTEM_TIME) -> None:
        self.name = name
        self.clock = time_source
        self._heap: list[tuple[float, int, Callable[[], Any]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._running = False  # a callback is being run right now

    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread (again); timers scheduled meanwhile are kept."""
        with self._cond:
            self._stopped = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def ensure_running(self) -> None:
        """Start a new thread if the current one died (liveness check)."""
        with self._cond:
            if self._thread is not None and not self._thread.is_alive():
                self._thread = None
        self.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def call_at(self, when: float, callback: Callable[[], Any]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._counter), callback))
            if self._heap[0][2] is callback:
                self._cond.notify_all()  # the timer thread, not only a settle() waiter

    def tell_at(self, when: float, ref: pykka.ActorRef[Any], message: Any) -> None:
        """Tell `ref` `message` at wall time `when` (dropped silently if the actor is gone by then)."""

        def deliver() -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(message)

        self.call_at(when, deliver)

    def pending(self) -> int:
        return len(self._heap)

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait until every callback due by the clock's current time has run; False on timeout.

        For tests with a manual clock: after `advance`, this returns once the timers it
        made due have been delivered (what the receiving actors do with them is theirs).
        """
        with self._cond:
            return self._cond.wait_for(self._settled, timeout)

    def _settled(self) -> bool:
        return not self._running and (not self._heap or self._heap[0][0] > self.clock.time())

    def _run(self) -> None:
        clock = self.clock
        while True:
            with self._cond:
                self._running = False
                self._cond.notify_all()  # settle() waiters
                while not self._stopped:
                    if not self._heap:
                        clock.wait(self._cond, None)
                        continue
                    delay = self._heap[0][0] - clock.time()
                    if delay <= 0:
                        break
                    clock.wait(self._cond, min(delay, 1.0))
                if self._stopped:
                    self._thread = None
                    return
                _when, _n, callback = heapq.heappop(self._heap)
                self._running = True
            try:
                callback()
            except Exception:
                log.exception("alarm timer callback failed")
