"""The trend ring: the last points of every numeric and bool signal, in memory, for a plant without storage.

`GET /v1/history` answers from the Parquet history when the plant has a `storage` section; without one the
web section keeps, per numeric or bool signal, its last `web.trend_ring_points` points here and the API
answers from them in the same JSON shape (`TrendRing.history`), so the trend page shows the last minutes of
a plant without a historian and without loading pyarrow.

A point is one second at most: `sample`, once a second, takes each recorded signal whose timestamp moved
since the last sample, with the time of its last change; a point within the same whole second as the
signal's newest point replaces it (the last value of that second). So 600 points are at least the last
10 minutes whatever the scan time, and a signal that changes every scan costs no more than one that
changes once a second. Memory: three arrays per signal, allocated at its first point (17 bytes a point:
600 points ~10 KB a signal).

Why sampling and not a bus listener: a listener runs in the publishing owner's thread, so recording every
change of the 10,000-signal plant would add a Python loop over every change to every scan's work; the
sample reads the table once a second on the HTTP loop (`petra.web.app`), off the scan's path (4-6 ms when
all of 10,000 signals changed, 0.3 ms when none did, on the development VM). `history` runs in the API's
thread pool; the ring's lock keeps a reader from seeing half a write.

A signal that has not changed since PETRA started has no ring (no memory): its history is its current value.
A plant whose 10,000 signals all change costs ~100 MB at 600 points; lower `web.trend_ring_points` there.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Sequence
from typing import Any

from petra.signals import SignalTable
from petra.values import DataType

RECORDED = (DataType.BOOL, DataType.INT, DataType.FLOAT)


class SignalRing:
    """One signal's last `size` points (time, value, quality), oldest first from `head`."""

    __slots__ = ("count", "head", "quality", "size", "times", "values")

    _ZEROS = array("d", [0.0])
    _NONE = array("b", [0])

    def __init__(self, size: int) -> None:
        self.size = size
        self.times = self._ZEROS * size
        self.values = self._ZEROS * size
        self.quality = self._NONE * size
        self.head = 0
        """Where the next new point goes."""
        self.count = 0

    def add(self, ts: float, value: float, quality: int) -> None:
        """One point (the caller holds the `TrendRing`'s lock)."""
        head = self.head
        newest = head - 1 if head else self.size - 1
        if self.count and int(self.times[newest]) == int(ts) and ts >= self.times[newest]:
            self.times[newest], self.values[newest], self.quality[newest] = ts, value, quality
            return
        self.times[head], self.values[head], self.quality[head] = ts, value, quality
        self.head = head + 1 if head + 1 < self.size else 0
        if self.count < self.size:
            self.count += 1

    def points(self) -> list[tuple[float, float, int]]:
        """Every point held, oldest first (the caller holds the `TrendRing`'s lock)."""
        start = (self.head - self.count) % self.size
        order = [(start + i) % self.size for i in range(self.count)]
        return [(self.times[i], self.values[i], self.quality[i]) for i in order]


class TrendRing:
    """Every recorded signal's `SignalRing`, by name; `record` is a `ChangeBus` subscriber."""

    def __init__(self, table: SignalTable, points: int) -> None:
        self.table = table
        self.points = points
        self._rings: dict[int, SignalRing] = {}
        self._layout = -1
        self._recorded: frozenset[int] = frozenset()
        self._seen: dict[int, float] = {}
        """Each slot's timestamp at the last sample."""
        self._lock = threading.Lock()
        self._slices: list[tuple[int, ...]] = []
        self._slices_of: tuple[frozenset[int], int] | None = None

    def recorded(self) -> frozenset[int]:
        """The slots of numeric and bool signals (again after a reload added signals)."""
        types = self.table.types
        if len(types) != self._layout:
            self._recorded = frozenset(slot for slot, dtype in enumerate(list(types))
                                       if dtype in RECORDED and slot < len(self.table.timestamps))
            self._layout = len(types)
        return self._recorded

    def sample(self, part: int = 0, parts: int = 1) -> int:
        """Take the value of every recorded signal that changed since the last sample (its timestamp moved),
        at the time of that change; the first sample only notes the timestamps. Returns how many points it
        took. With `parts` > 1, only the signals of slice `part` of `parts` (the app samples one slice at a
        time, spread over the second, so no sample holds the interpreter for more than a fraction of a
        millisecond: a whole one took 4-6 ms of a scan's work once a second)."""
        table, rings, seen = self.table, self._rings, self._seen
        values, qualities, stamps = table.values, table.quality, table.timestamps
        taken = 0
        recorded = self._sliced(parts)[part % parts]
        with self._lock:
            for slot in recorded:
                ts = stamps[slot]
                before = seen.get(slot)
                if ts == before:
                    continue
                seen[slot] = ts
                if before is None:
                    continue  # its value at start: history() answers it from the table until it changes
                ring = rings.get(slot)
                if ring is None:
                    ring = rings[slot] = SignalRing(self.points)
                ring.add(ts, float(values[slot]), qualities[slot])
                taken += 1
        return taken

    def _sliced(self, parts: int) -> list[tuple[int, ...]]:
        recorded = self.recorded()
        if self._slices_of != (recorded, parts):
            ordered = sorted(recorded)
            self._slices = [tuple(ordered[i::parts]) for i in range(parts)]
            self._slices_of = (recorded, parts)
        return self._slices

    def held(self, signal: str) -> tuple[DataType, list[tuple[float, float, int]]]:
        """A signal's type and the points held for it, oldest first (KeyError: no such signal): a recorded
        signal unchanged since the start has its value at its timestamp; a string signal has none."""
        slot = self.table.index.get(signal)
        if slot is None:
            raise KeyError(signal)
        dtype = self.table.types[slot]
        table = self.table
        with self._lock:
            ring = self._rings.get(slot)
            held = ring.points() if ring else []
        if ring is None and dtype in RECORDED:  # unchanged since the start: its value is the history
            held = [(table.timestamps[slot], float(table.values[slot]), table.quality[slot])]
        return dtype, held

    def history(self, signal: str, since: float | None, until: float | None, max_points: int) -> dict[str, Any]:
        """The body `GET /v1/history` gives: raw rows when they fit in `max_points`, else equal time buckets
        with min, max, mean, last and count (as `petra.storage.query.query_history`), plus `"source": "ring"`."""
        dtype, held = self.held(signal)
        found = [p for p in held
                 if (since is None or p[0] >= since) and (until is None or p[0] < until)]
        if len(found) <= max_points:
            rows = [_row(dtype, *point) for point in found]
        else:
            rows = _buckets(found, since, until, max_points)
        return {"signal": signal, "rows": rows, "source": "ring", "ring_points": self.points}


def _row(dtype: DataType, ts: float, value: float, quality: int) -> dict[str, Any]:
    return {"ts": ts, "value_type": dtype.value,
            "value_bool": bool(value) if dtype is DataType.BOOL else None,
            "value_int": int(value) if dtype is DataType.INT else None,
            "value_float": value if dtype is DataType.FLOAT else None,
            "value_string": None, "quality": quality, "seq": None}


def _buckets(points: Sequence[tuple[float, float, int]], since: float | None, until: float | None,
             max_points: int) -> list[dict[str, Any]]:
    t0 = since if since is not None else points[0][0]
    t1 = until if until is not None else math.nextafter(points[-1][0], math.inf)
    width = (t1 - t0) / max_points or 1e-6
    buckets: dict[int, list[float]] = {}
    for ts, value, _quality in points:
        buckets.setdefault(min(int((ts - t0) / width), max_points - 1), []).append(value)
    return [{"ts": t0 + index * width, "min": min(values), "max": max(values), "mean": sum(values) / len(values),
             "last": values[-1], "count": len(values)} for index, values in sorted(buckets.items())]
