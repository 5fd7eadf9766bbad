"""The trend ring: the last points of every numeric and bool signal, in memory, for a plant without storage.

`GET /v1/history` answers from the Parquet history when the plant has a `storage` section; without one the
web section keeps, per numeric or bool signal, its last `web.trend_ring_points` points here and the API
answers from them in the same JSON shape (`TrendRing.history`), so the trend page shows the last minutes of
a plant without a historian and without loading pyarrow.

A point is one second at most: a change within the same whole second as the signal's newest point replaces
it (the last value of that second), so 600 points are at least the last 10 minutes whatever the scan time,
and a signal that changes every scan costs no more than one that changes once a second. Memory: three
arrays per signal, allocated at its first change (17 bytes a point: 600 points ~10 KB a signal).

`record` runs in the publishing owner's thread (the bus listener), so it takes column tuples as
`SignalsChanged` carries them and builds no objects; `history` runs in the API's thread pool. One lock per
ring keeps a reader from seeing half a write.
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

    __slots__ = ("count", "head", "lock", "quality", "size", "times", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.times = array("d", bytes(8 * size))
        self.values = array("d", bytes(8 * size))
        self.quality = array("b", bytes(size))
        self.head = 0
        """Where the next new point goes."""
        self.count = 0
        self.lock = threading.Lock()

    def add(self, ts: float, value: float, quality: int) -> None:
        with self.lock:
            newest = (self.head - 1) % self.size
            if self.count and int(self.times[newest]) == int(ts) and ts >= self.times[newest]:
                self.times[newest], self.values[newest], self.quality[newest] = ts, value, quality
                return
            self.times[self.head], self.values[self.head], self.quality[self.head] = ts, value, quality
            self.head = (self.head + 1) % self.size
            self.count = min(self.count + 1, self.size)

    def points(self) -> list[tuple[float, float, int]]:
        """Every point held, oldest first."""
        with self.lock:
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
        self._lock = threading.Lock()

    def recorded(self) -> frozenset[int]:
        """The slots of numeric and bool signals (again after a reload added signals)."""
        types = self.table.types
        if len(types) != self._layout:
            self._recorded = frozenset(slot for slot, dtype in enumerate(list(types)) if dtype in RECORDED)
            self._layout = len(types)
        return self._recorded

    def record(self, event: Any) -> None:
        """Keep the numeric and bool values of one `SignalsChanged` (in the publisher's thread: keep it cheap)."""
        recorded, rings, ts = self.recorded(), self._rings, event.timestamp
        for slot, value, quality in zip(event.slots, event.values, event.qualities, strict=True):
            if slot not in recorded:
                continue
            ring = rings.get(slot)
            if ring is None:
                with self._lock:
                    ring = rings.setdefault(slot, SignalRing(self.points))
            ring.add(ts, float(value), quality)

    def seed(self, now: float) -> None:
        """One point per recorded signal with its current value, so a trend opened at once is not empty."""
        table = self.table
        for slot in self.recorded():
            if slot < len(table.values):
                with self._lock:
                    ring = self._rings.setdefault(slot, SignalRing(self.points))
                ring.add(now, float(table.values[slot]), table.quality[slot])

    def history(self, signal: str, since: float | None, until: float | None, max_points: int) -> dict[str, Any]:
        """The body `GET /v1/history` gives: raw rows when they fit in `max_points`, else equal time buckets
        with min, max, mean, last and count (as `petra.storage.query.query_history`), plus `"source": "ring"`."""
        slot = self.table.index.get(signal)
        if slot is None:
            raise KeyError(signal)
        dtype = self.table.types[slot]
        ring = self._rings.get(slot)
        found = [p for p in (ring.points() if ring else ())
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
