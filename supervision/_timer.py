"""One timer thread for every timed event of supervision in the process.

A supervisor needs a liveness-probe tick every ``probe_interval`` and a one-shot
timer per restart back-off; an actor pool needs a periodic check for stuck
workers. Each used to cost a thread (a ticker per supervisor, a
``threading.Timer`` per back-off, a monitor per pool). Here they are entries in
one heap served by one daemon thread, ``supervision-timer``: it exists only while
something is scheduled (it ends when the heap is empty and starts again on the
next ``call_later``), so a stopped tree leaves no thread behind.

Callbacks run in the timer thread and must be quick and never block: they
``tell`` an actor or take a lock for a moment. One that raises is logged and, if
periodic, keeps its schedule.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["TIMER_THREAD", "Scheduled", "call_every", "call_later"]

logger = logging.getLogger("supervision")

TIMER_THREAD = "supervision-timer"
"""The name of the one timer thread."""


class Scheduled:
    """A scheduled call; ``cancel()`` it from any thread (idempotent)."""

    __slots__ = ("cancelled", "due", "fn", "interval")

    def __init__(self, due: float, fn: Callable[[], object], interval: float | None) -> None:
        self.due = due
        self.fn = fn
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        """Never run again; the timer thread ends once nothing else is scheduled."""
        _TIMER.cancel(self)


class _Timer:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Scheduled]] = []
        self._seq = itertools.count()
        self._live = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, entry: Scheduled) -> Scheduled:
        with self._cond:
            heapq.heappush(self._heap, (entry.due, next(self._seq), entry))
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=TIMER_THREAD, daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry

    def cancel(self, entry: Scheduled) -> None:
        with self._cond:
            if entry.cancelled:
                return
            entry.cancelled = True
            self._live -= 1
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._live <= 0:
                        self._heap.clear()
                        self._thread = None
                        return
                    due, _, entry = self._heap[0]
                    if entry.cancelled:
                        heapq.heappop(self._heap)
                        continue
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._heap)
                        if entry.interval is None:
                            entry.cancelled = True
                            self._live -= 1
                        else:
                            entry.due = max(due + entry.interval, time.monotonic())
                            heapq.heappush(self._heap, (entry.due, next(self._seq), entry))
                        break
                    self._cond.wait(wait)
            try:
                entry.fn()
            except Exception:
                logger.exception("supervision timer: %r failed", entry.fn)


_TIMER = _Timer()


def call_later(delay: float, fn: Callable[[], object]) -> Scheduled:
    """Run ``fn`` once in the timer thread after ``delay`` seconds."""
    return _TIMER.add(Scheduled(time.monotonic() + max(0.0, delay), fn, None))


def call_every(interval: float, fn: Callable[[], object]) -> Scheduled:
    """Run ``fn`` in the timer thread every ``interval`` seconds (first after one interval) until cancelled.

    A call that runs late is not made up for: the next one is one interval after it was due,
    or now if that has passed too.
    """
    if not interval > 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    return _TIMER.add(Scheduled(time.monotonic() + interval, fn, interval))
