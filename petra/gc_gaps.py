"""Garbage collection between two scans, not inside one.

CPython's cyclic collector runs in whichever thread allocates the object that crosses its threshold. Once
anything listens on the bus (the web streams, history, alarms, OPC-UA), the chains' thread allocates every
scan's change events, so the collections ran inside the scans: on `benchmarks/hmi.py`'s plant with 50 tabs,
4.5 young collections a second of ~1 ms each (a new event's value tuples are walked once) and a full one of
18-26 ms about every 10 s, all counted in the scan's work.

`GapCollector` raises the collector's own first threshold `SAFETY_FACTOR` times (so it still collects if
scans stop completing: a hung chain, an overrun), and after each completed scan (`ScanStats.on_scan`: in
the scan's thread, in the gap before the next tick) collects the generation CPython would have collected
at its usual thresholds. A full collection runs at most every `FULL_EVERY_S`: CPython also holds it back
(until the objects that survived since the last one are a quarter of the long-lived ones, which it does
not expose).

The thresholds are the process's: the first collector installed sets them, the last one removed puts them
back (tests run several runtimes in one process).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

SAFETY_FACTOR = 50
FULL_EVERY_S = 10.0

_lock = threading.Lock()
_installed = 0
_saved: tuple[int, int, int] | None = None


def generation_due(counts: tuple[int, int, int], thresholds: tuple[int, int, int], full_allowed: bool) -> int | None:
    """The generation CPython's collector would collect at `counts` (`gc.get_count()`) and `thresholds`, or None
    for none (pure: the same choice as its `gc_collect_generations`, a full one only when `full_allowed`)."""
    if thresholds[0] == 0 or counts[0] <= thresholds[0]:
        return None
    if full_allowed and counts[2] > thresholds[2]:
        return 2
    if counts[1] > thresholds[1]:
        return 1
    return 0


class GapCollector:
    """Collects after each completed scan what the collector would have collected during the next one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.active = False
        self.thresholds: tuple[int, int, int] = (0, 0, 0)
        self._last_full = clock()
        self.collections = [0, 0, 0]

    def install(self) -> None:
        global _installed, _saved
        with _lock:
            if self.active:
                return
            if _installed == 0:
                _saved = gc.get_threshold()
                first, second, third = _saved
                gc.set_threshold(first * SAFETY_FACTOR, second, third)
            assert _saved is not None
            self.thresholds = _saved
            _installed += 1
            self.active = True

    def uninstall(self) -> None:
        global _installed, _saved
        with _lock:
            if not self.active:
                return
            self.active = False
            _installed -= 1
            if _installed == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None

    def after_scan(self) -> None:
        """A scan completed (in its thread): collect now what is due, in the gap before the next."""
        if not self.active or not gc.isenabled():  # a reload holds collections back meanwhile
            return
        now = self.clock()
        generation = generation_due(gc.get_count(), self.thresholds, now - self._last_full >= FULL_EVERY_S)
        if generation is None:
            return
        gc.collect(generation)
        self.collections[generation] += 1
        if generation == 2:
            self._last_full = now
