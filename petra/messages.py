"""Messages between PETRA's actors: small immutable records named for what happened.

Commands are imperative (`UpdateSignals`), events past tense
(`SignalsChanged`, `ScanDone`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """A batch of new values for signals one group owns (one per poll or message)."""

    updates: tuple[SignalUpdate, ...]
    source: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    slot: int
    name: str
    value: Value
    quality: Quality
    timestamp: float


@dataclass(frozen=True, slots=True)
class SignalsChanged:
    """Signals of one owner changed; published in batches, once per update or scan."""

    owner: str
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class ForceSignal:
    """Hold a signal at `value` whatever its writer computes; `value` None releases it.

    Sent to the signal's owner (group or chain), which is its single writer.
    """

    name: str
    value: Value | None
    reason: str = ""
