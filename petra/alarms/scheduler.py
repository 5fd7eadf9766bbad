"""One timer thread for the whole alarm subsystem: "tell this actor that message at time T".

Delays, shelve expiry, escalation steps and notification retries all need
timers; a thread per timer (threading.Timer) would cost a thread each. Times are
wall-clock epoch seconds, the same clock the durable state uses, so a deadline
read back after a restart means the same moment.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

log = logging.getLogger(__name__)


class Scheduler:
    """A heap of (when, callback); a daemon thread runs each callback when it is due."""

    def __init__(self, name: str = "alarm-timers") -> None:
        self.name = name
        self._heap: list[tuple[float, int, Callable[[], Any]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

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
            self._cond.notify()

    def call_at(self, when: float, callback: Callable[[], Any]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._counter), callback))
            if self._heap[0][2] is callback:
                self._cond.notify()

    def tell_at(self, when: float, ref: pykka.ActorRef[Any], message: Any) -> None:
        """Tell `ref` `message` at wall time `when` (dropped silently if the actor is gone by then)."""

        def deliver() -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(message)

        self.call_at(when, deliver)

    def pending(self) -> int:
        return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.time()
                    if delay <= 0:
                        break
                    self._cond.wait(min(delay, 1.0))
                if self._stopped:
                    self._thread = None
                    return
                _when, _n, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                log.exception("alarm timer callback failed")
