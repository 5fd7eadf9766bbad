"""A batch of signal changes made into each stream's bytes: pure logic, run in the fan-out process
(`petra.web.fanout_child`) or, when that process is not there, on the HTTP loop a slice at a time.

A batch is the bus events since the last one, as columns (`Columns`: slots, values, qualities, time). `merge`
keeps each slot's latest (value, quality, time): a signal that changed twice in a batch is sent once, with
its last value. `fan_out` encodes each slot some stream carries once (`Encoder`) and joins each stream's
items, so the work per stream is one set intersection and one bytes join.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

from petra import jsontext
from petra.values import Quality

Columns = tuple[Sequence[int], Sequence[Any], Sequence[int], float]
"""One bus event as the fan-out needs it: its slots, their values and qualities, its time."""
Latest = dict[int, tuple[Any, int, float]]
"""Slot -> its latest (value, quality, time) in a batch."""
Encoded = dict[str, tuple[bytes, int]]
"""Stream id -> its changes' comma-joined JSON items and how many there are."""

ENCODE_SLICE = 250
STREAM_SLICE = 10


def merge(events: Iterable[Columns], latest: Latest | None = None) -> Latest:
    """Each changed slot's latest (value, quality, time), in C (`dict.update` over zipped columns)."""
    latest = {} if latest is None else latest
    for slots, values, qualities, timestamp in events:
        latest.update(zip(slots, zip(values, qualities, repeat(timestamp), strict=False), strict=True))
    return latest


def fan_out(latest: Latest, subscriptions: dict[str, frozenset[int] | None], encoder: Encoder,
            forced: dict[int, tuple[Any, str]], out: Encoded) -> Iterator[None]:
    """Fill `out` with each subscribed stream's items (streams none of whose signals changed get none),
    yielding between slices of the work (`ENCODE_SLICE` slots, `STREAM_SLICE` streams)."""
    changed = latest.keys()
    wanted = [(stream_id, changed if slots is None else slots & changed)
              for stream_id, slots in subscriptions.items()]
    needed: set[int] = set()
    for _, slots in wanted:
        needed.update(slots)
    order = sorted(needed)
    encoded: dict[int, bytes] = {}
    for first in range(0, len(order), ENCODE_SLICE):
        encoded.update(encoder.encode(latest, order[first:first + ENCODE_SLICE], forced))
        yield
    for k, (stream_id, slots) in enumerate(wanted, 1):
        if slots:
            out[stream_id] = (b",".join([encoded[slot] for slot in sorted(slots)]), len(slots))
        if k % STREAM_SLICE == 0:
            yield


class Encoder:
    """A change item's JSON, `{"name", "value", "quality", "timestamp"}` (plus `forced`, `force_reason`),
    as bytes: each signal's name part is made once (again when a reload changes the table), each changed
    slot's item once per batch whatever the number of streams carrying it."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self.names = names
        """The signal table's names now (slots only ever get appended; a reload may add some)."""
        self._names: list[str] = []
        self._heads: list[str] = []
        self._qualities = {int(q): f',"quality":"{q.name.lower()}","timestamp":' for q in Quality}

    def encode(self, latest: Latest, slots: Iterable[int], forced: dict[int, tuple[Any, str]]) -> dict[int, bytes]:
        """Each of `slots`' item for its value in `latest` (one loop: no call per item)."""
        names = self.names()
        if len(names) != len(self._names):
            self._name_parts(names)
        heads, known, qualities, isfinite, out = self._heads, self._names, self._qualities, math.isfinite, {}
        # each (quality, timestamp)'s tail is made once: an event's slots share its time, and a float's
        # repr is most of an item's cost
        tails: dict[tuple[int, float], str] = {}
        for slot in slots:
            if names[slot] is not known[slot] and names[slot] != known[slot]:  # a reload renamed slots
                self._name_parts(names)
                heads, known = self._heads, self._names
            value, quality, ts = latest[slot]
            kind = type(value)
            if kind is float:
                text = repr(value) if isfinite(value) else '"' + jsontext.nonfinite_text(value) + '"'
            elif kind is bool:
                text = "true" if value else "false"
            elif kind is int:
                text = str(value)
            else:
                text = jsontext.dumps(value, default=str)
            force = forced.get(slot) if forced else None
            tail = tails.get((quality, ts))
            if tail is None:
                quality_part = qualities.get(int(quality)) or f',"quality":"{quality}","timestamp":'
                tail = tails[(quality, ts)] = quality_part + repr(float(ts)) + "}"
            if force is not None:
                tail = tail[:-1] + ',"forced":true,"force_reason":' + json.dumps(force[1]) + "}"
            out[slot] = (heads[slot] + text + tail).encode()
        return out

    def _name_parts(self, names: Iterable[str]) -> None:
        self._names = list(names)
        self._heads = ['{"name":' + json.dumps(name) + ',"value":' for name in self._names]
