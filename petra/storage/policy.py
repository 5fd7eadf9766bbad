"""Which changes become history samples: on change with deadband, min/max interval, or fixed interval.

Pure logic, no threads: the WAL actor feeds it `Change`s and asks it for due
samples on its timer. Per signal:

* ``on_change``: a change is stored when the quality changed, or the value
  moved by more than ``deadband`` from the last *stored* value (numbers; any
  change for bool and string). One arriving sooner than ``min_interval_ms``
  after the last stored sample is held and stored (with its own timestamp) once
  the interval has passed, unless a newer one replaced it.
* ``max_interval_ms`` > 0: a signal that stored nothing for that long stores its
  current value again, stamped now (the heartbeat that shows it is alive).
* ``interval``: only the periodic sample every ``max_interval_ms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from petra.messages import Change, SignalsChanged
from petra.signals import SignalTable
from petra.storage.rows import Sample
from petra.storage.settings import HistoryPolicy


class Recorder:
    """Recording state for every signal of a table, by slot."""

    def __init__(self, table: SignalTable, policies: Sequence[HistoryPolicy]) -> None:
        self.table = table
        self.policies = list(policies)
        n = len(table)
        self._value: list[object] = [None] * n
        self._quality: list[int] = [-1] * n
        self._stored_at: list[float] = [0.0] * n
        self._held: dict[int, Sample] = {}
        self._heartbeat = [
            i for i, p in enumerate(self.policies) if p.enabled and p.max_interval_ms > 0
        ]
        self._numeric = [not isinstance(v, (bool, str)) for v in table.values]

    def _store(self, slot: int, sample: Sample, out: list[Sample]) -> None:
        out.append(sample)
        self._value[slot] = sample[2]
        self._quality[slot] = sample[3]
        self._stored_at[slot] = sample[0]
        self._held.pop(slot, None)

    def snapshot(self, now: float, out: list[Sample]) -> None:
        """Store every recorded signal's current value unless it is what was last stored (start-up)."""
        table = self.table
        for slot, policy in enumerate(self.policies):
            value, quality = table.values[slot], int(table.quality[slot])
            if policy.enabled and (self._value[slot] != value or type(self._value[slot]) is not type(value)
                                   or self._quality[slot] != quality):
                self._store(slot, (now, table.names[slot], table.values[slot], int(table.quality[slot])), out)

    def offer(self, changes: Iterable[Change], out: list[Sample]) -> None:
        """Append to `out` the samples these changes produce now."""
        for change in changes:
            self.offer_columns((change.slot,), (change.value,), (int(change.quality),), change.timestamp, out)

    def offer_event(self, event: SignalsChanged, out: list[Sample]) -> None:
        """The same for a whole bus event, straight from its columns (the hot path)."""
        self.offer_columns(event.slots, event.values, event.qualities, event.timestamp, out)

    def offer_columns(self, slots: Sequence[int], values: Sequence[Any], qualities: Sequence[int], timestamp: float,
                      out: list[Sample]) -> None:
        policies = self.policies
        names = self.table.names
        for slot, value, quality in zip(slots, values, qualities, strict=True):
            policy = policies[slot]
            if not policy.enabled or policy.mode == "interval":
                continue
            quality = int(quality)
            last = self._value[slot]
            if quality == self._quality[slot]:
                if value == last and type(value) is type(last):
                    continue
                if policy.deadband and self._numeric[slot] and last is not None \
                        and abs(value - last) <= policy.deadband:  # type: ignore[operator]
                    continue
            sample = (timestamp, names[slot], value, quality)
            if policy.min_interval_ms and timestamp - self._stored_at[slot] < policy.min_interval_ms / 1000:
                self._held[slot] = sample
                continue
            self._store(slot, sample, out)

    def due(self, now: float, out: list[Sample]) -> None:
        """Append held samples whose min interval passed, and heartbeats of quiet signals."""
        if self._held:
            for slot, sample in list(self._held.items()):
                if now - self._stored_at[slot] >= self.policies[slot].min_interval_ms / 1000:
                    self._store(slot, sample, out)
        table = self.table
        stored_at = self._stored_at
        for slot in self._heartbeat:
            if now - stored_at[slot] >= self.policies[slot].max_interval_ms / 1000:
                self._store(slot, (now, table.names[slot], table.values[slot], int(table.quality[slot])), out)


def policies_for(table: SignalTable, default: HistoryPolicy) -> list[HistoryPolicy]:
    """Each slot's policy: the config-wide default with the signal's own `history:` applied."""
    return [default.merged(getattr(spec, "history", None)) for spec in table.specs]
