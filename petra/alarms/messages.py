"""Messages between the alarm subsystem's actors (commands imperative, events past tense)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Evaluate:
    """A signal the alarm watches changed at `stamp` (epoch seconds); read the table and evaluate."""

    stamp: float


@dataclass(frozen=True, slots=True)
class Wake:
    """A timer (delay, shelve expiry, escalation step, retry) may be due."""

    key: str = ""


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the escalation manager your current state again (it restarted and may have missed changes).

    Answered to `reply_to` directly: the tree registers a restarted actor only
    after its start, so an answer sent by path could be lost.
    """

    reply_to: Any = field(hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Command:
    """An operator command to one alarm: ack, shelve, unshelve, reset, disable, enable (asked)."""

    kind: str
    who: str
    reason: str = ""
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class AlarmChanged:
    """An alarm's transitions, announced to the escalation manager."""

    alarm: str
    events: tuple[str, ...]
    state: str
    needs_attention: bool
    active: bool
    acked: bool
    time: float
    message: str
    severity: str
    code: str
    raised: bool = False


@dataclass(frozen=True, slots=True)
class Deliver:
    """Send (or retry) one notification; `record` is the delivery record as stored."""

    record: dict[str, Any] = field(hash=False, compare=False)
