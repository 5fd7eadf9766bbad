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

from petra.config.history import HistoryPolicy
from petra.messages import Change, SignalsChanged
from petra.signals import SignalTable
from petra.storage.rows import Sample


class Recorder:
    """Recording state for every signal of a table, by slot."""

    def __init__(self, table: SignalTable, policies: Sequence[HistoryPolicy],
                 default: HistoryPolicy | None = None) -> None:
        self.table = table
        self.policies = list(policies)
        self.default = default
        self._value: list[object] = []
        self._quality: list[int] = []
        self._stored_at: list[float] = []
        self._numeric: list[bool] = []
        self._held: dict[int, Sample] = {}
        self._heartbeat: list[int] = []
        self._grow()

    def _grow(self) -> None:
        """Cover slots a reload appended to the table (slots never move, they only grow)."""
        table = self.table
        n = len(table.names)
        if self.default is not None:
            self.policies.extend(
                self.default.merged(getattr(table.specs[i], "history", None)) for i in range(len(self.policies), n)
            )
        start = len(self._value)
        self._value.extend([None] * (n - start))
        self._quality.extend([-1] * (n - start))
        self._stored_at.extend([0.0] * (n - start))
        self._numeric.extend(not isinstance(table.values[i], bool | str) for i in range(start, n))
        self._heartbeat.extend(
            i for i in range(start, n) if self.policies[i].enabled and self.policies[i].max_interval_ms > 0
        )

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

    def forget(self, names: Iterable[str]) -> None:
        """These signals' last samples were not stored (the WAL refused them): store them again when offered."""
        index = self.table.index
        for name in names:
            slot = index.get(name)
            if slot is not None and slot < len(self._value):
                self._value[slot] = None
                self._quality[slot] = -1

    def offer(self, changes: Iterable[Change], out: list[Sample]) -> None:
        """Append to `out` the samples these changes produce now."""
        for change in changes:
            self.offer_columns((change.slot,), (change.value,), (int(change.quality),), change.timestamp, out)

    def offer_event(self, event: SignalsChanged, out: list[Sample]) -> None:
        """The same for a whole bus event, straight from its columns (the hot path)."""
        self.offer_columns(event.slots, event.values, event.qualities, event.timestamp, out)

    def offer_columns(self, slots: Sequence[int], values: Sequence[Any], qualities: Sequence[int], timestamp: float,
                      out: list[Sample]) -> None:
        if slots and max(slots) >= len(self._value):
            self._grow()
        # The hot path of history: locals instead of attribute lookups, _store inlined.
        policies = self.policies
        names = self.table.names
        last_values, last_quality, stored_at, numeric = self._value, self._quality, self._stored_at, self._numeric
        held = self._held
        append = out.append
        for slot, value, quality in zip(slots, values, qualities, strict=True):
            policy = policies[slot]
            if not policy.enabled or policy.mode == "interval":
                continue
            quality = int(quality)
            last = last_values[slot]
            if quality == last_quality[slot]:
                if value == last and type(value) is type(last):
                    continue
                if policy.deadband and numeric[slot] and last is not None \
                        and abs(value - last) <= policy.deadband:
                    continue
            sample = (timestamp, names[slot], value, quality)
            if policy.min_interval_ms and timestamp - stored_at[slot] < policy.min_interval_ms / 1000:
                held[slot] = sample
                continue
            append(sample)
            last_values[slot] = value
            last_quality[slot] = quality
            stored_at[slot] = timestamp
            if held:
                held.pop(slot, None)

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
