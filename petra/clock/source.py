"""Where the plant reads the time: one seam, so tests can advance a clock instead of sleeping.

Actors and schedulers that wait for wall-clock deadlines (alarm delays,
shelving, escalation steps, retries) read `plant.time` instead of the `time`
module, and a thread that sleeps until a deadline waits through
`TimeSource.wait`. In production it is `SYSTEM_TIME`: the `time` module and a
plain `Condition.wait`, nothing more.

`ManualTime` is a clock that moves only when told to (`advance`, `set`). It
lives here, in the package, not in the tests, so a simulator can drive a plant
in virtual time with it too::

    clock = ManualTime()
    plant.time = clock        # before the plant starts
    clock.advance(0.4)        # every deadline up to now + 0.4 s is due, and its waiter is woken
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Protocol


class TimeSource(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall clock)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on `condition` (which the caller holds) until it is notified or `timeout` seconds of
        this clock have passed (None: until notified).

        Like `Condition.wait`, it may also return early: callers re-read the time and loop.
        """
        ...


class SystemTime:
    """The real clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        condition.wait(timeout)


SYSTEM_TIME = SystemTime()


class ManualTime:
    """A clock that stands still until `advance` or `set` moves it; thread-safe.

    It starts at the real wall-clock time (unless `start` is given), so times it
    hands out look like today's and mix with timestamps written elsewhere. A
    condition waited on through `wait` is notified whenever the clock moves, so
    a timer thread wakes at once and fires what became due; a `wait` never
    returns because real time passed.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = time.time() if start is None else start
        self._monotonic = 1_000.0
        self._waiters: weakref.WeakSet[threading.Condition] = weakref.WeakSet()

    def time(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` (>= 0) and wake every waiter; returns the new time."""
        if seconds < 0:
            raise ValueError(f"a clock does not go back ({seconds:g} s)")
        return self._move(seconds)

    def set(self, now: float) -> float:
        """Move the clock forward to wall-clock time `now` (not before the current time) and wake every waiter."""
        with self._lock:
            current = self._now
        if now < current:
            raise ValueError(f"a clock does not go back (from {current} to {now})")
        return self._move(now - current)

    def _move(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            self._monotonic += seconds
            now = self._now
            waiters = list(self._waiters)
        for condition in waiters:  # outside our lock: a waiter holds its condition while it reads the time
            with condition:
                condition.notify_all()
        return now

    def waiters(self) -> int:
        """How many conditions wait on this clock: a thread counted here wakes at every move (tests wait for
        a timer thread to be counted before they move the clock)."""
        with self._lock:
            return len(self._waiters)

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        with self._lock:
            known = condition in self._waiters
            self._waiters.add(condition)
        if not known:
            # The caller read the time before this first registration, so a move in between would
            # not have woken it: return at once and let it read the time again, registered now.
            return
        condition.wait()
