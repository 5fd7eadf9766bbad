"""Messages between the alarm subsystem's actors (commands imperative, events past tense)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


class ChangeBatch:
    """The Evaluates the router sent for one change batch; the alarm that finishes the last one commits.

    Each alarm only queues its transitions (`submit(defer=True)`) and then counts
    its Evaluate as handled; the one that counts last commits what all queued
    (`commit_queued`), so the batch's transitions land in one transaction. A lost
    Evaluate (its alarm stopped) only delays its own batch: the store's writer
    commits what waits within `store.LINGER_S`.
    """

    __slots__ = ("_handled", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._handled = itertools.count(1)

    def handled(self) -> bool:
        """One Evaluate of the batch was handled, its transitions queued (or it was lost); True for the last."""
        return next(self._handled) >= self.size  # next() on a count is atomic under the GIL


@dataclass(frozen=True, slots=True)
class Evaluate:
    """A signal the alarm watches changed at `stamp` (epoch seconds); read the table and evaluate."""

    stamp: float
    batch: ChangeBatch | None = field(default=None, compare=False)
    """Set by the router: the change batch this Evaluate is one of."""


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
class AlarmsChanged:
    """The changes one group commit made durable, in commit order (one message instead of one per alarm)."""

    changes: tuple[AlarmChanged, ...]


@dataclass(frozen=True, slots=True)
class Deliver:
    """Send (or retry) one notification; `record` is the delivery record as stored."""

    record: dict[str, Any] = field(hash=False, compare=False)
