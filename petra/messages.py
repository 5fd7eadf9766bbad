"""Messages between PETRA's actors: small immutable records named for what happened.

Commands are imperative (`UpdateSignals`), events past tense
(`SignalsChanged`, `ScanDone`).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from petra.owners import Owner
from petra.values import Quality, Value


@dataclass(frozen=True, slots=True)
class Tick:
    """The clock's scan trigger: `scheduled_at` is the absolute monotonic deadline."""

    seq: int
    scheduled_at: float


@dataclass(frozen=True, slots=True)
class ScanDone:
    """A chain finished evaluating tick `seq`; `work_s` is its own evaluation time."""

    chain: str
    seq: int
    work_s: float
    finished_at: float


@dataclass(frozen=True, slots=True)
class SignalUpdate:
    """One new value for a signal; quality None means GOOD."""

    name: str
    value: Value
    quality: Quality | None = None


@dataclass(frozen=True, slots=True)
class UpdateSignals:
    """A batch of new values for signals one group owns (one per poll or message).

    `frames` splits the batch into several changes, applied and announced one after the other: the indexes
    at which the next one starts (MQTT: one network read, one change per message)."""

    updates: tuple[SignalUpdate, ...]
    source: str = ""
    frames: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    slot: int
    name: str
    value: Value
    quality: Quality
    timestamp: float


class SignalsChanged:
    """Signals of one owner changed; published in batches, once per update or scan.

    Kept as columns (slots, values, qualities, one timestamp) rather than one
    `Change` per signal: a scan in which 10,000 signals change would otherwise
    allocate 10,000 objects per tick for every listener. `changes` and `names`
    are built on first use for listeners that want them.
    """

    __slots__ = ("_changes", "_names", "_names_source", "owner", "qualities", "slots", "timestamp", "values")

    def __init__(
        self,
        owner: Owner,
        changes: tuple[Change, ...] | None = None,
        *,
        slots: tuple[int, ...] = (),
        values: tuple[Value, ...] = (),
        qualities: tuple[int, ...] = (),
        timestamp: float = 0.0,
        names: Any = None,
    ) -> None:
        self.owner = owner
        self._changes = changes
        self._names: tuple[str, ...] | None = None
        self._names_source = names
        if changes is not None:
            self.slots = tuple(c.slot for c in changes)
            self.values = tuple(c.value for c in changes)
            self.qualities = tuple(int(c.quality) for c in changes)
            self.timestamp = changes[0].timestamp if changes else timestamp
            self._names = tuple(c.name for c in changes)
        else:
            self.slots, self.values, self.qualities, self.timestamp = slots, values, qualities, timestamp

    @property
    def names(self) -> tuple[str, ...]:
        """Signal names in column order (`names` given as the table's name list resolves lazily)."""
        if self._names is None:
            source = self._names_source
            self._names = tuple(source[s] for s in self.slots) if source is not None else ()
        return self._names

    @property
    def changes(self) -> tuple[Change, ...]:
        if self._changes is None:
            ts = self.timestamp
            self._changes = tuple(
                Change(slot, name, value, Quality(q), ts)
                for slot, name, value, q in zip(self.slots, self.names, self.values, self.qualities, strict=True)
            )
        return self._changes

    def only(self, wanted: AbstractSet[int]) -> tuple[Change, ...]:
        """The changes of the slots in `wanted`.

        Listeners that care about a few signals call this instead of walking
        `changes`: when none of theirs changed (the common case for a scan of a
        big plant) it costs one set test in C and builds nothing.
        """
        if wanted.isdisjoint(self.slots):
            return ()
        ts = self.timestamp
        if self._names is not None:
            names = dict(zip(self.slots, self._names, strict=True))
            name_of = names.__getitem__
        else:
            name_of = self._names_source.__getitem__
        return tuple(
            Change(slot, name_of(slot), value, Quality(q), ts)
            for slot, value, q in zip(self.slots, self.values, self.qualities, strict=True)
            if slot in wanted
        )

    def __len__(self) -> int:
        return len(self.slots)

    def __repr__(self) -> str:
        return f"SignalsChanged({str(self.owner)!r}, {len(self.slots)} changes)"


@dataclass(frozen=True, slots=True)
class ForceSignal:
    """Hold a signal at `value` whatever its writer computes; `value` None releases it.

    Sent to the signal's owner (group or chain), which is its single writer.
    """

    name: str
    value: Value | None
    reason: str = ""
