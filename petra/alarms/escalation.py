"""Walking an alarm's escalation chain, as pure logic (no threads, no clock).

An `Escalation` is the progress of one alarm through its chain: notify the
first eligible contact, wait that contact's `escalation_delay_s`, notify the next,
and so on. After the last contact, a new round starts `repeat_interval_s` after
the previous round began (no repeat when 0). The walk stops when the alarm is
acknowledged or reset (the owner simply drops the Escalation).

A contact outside its work hours is skipped, and that is reported as a `Skip`.
When a whole round passes without anyone eligible, the policy decides:
``notify_all`` tells every contact of the chain anyway, ``last_contact`` tells
the last one. Nobody is ever silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from petra.alarms.config import ContactSpec

CATCH_UP_S = 5.0
"""A step overdue by more than this (e.g. after a long outage) is timed from now, not from when it was due."""


@dataclass(frozen=True, slots=True)
class Notify:
    contact: str
    method: str
    round: int
    step: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Skip:
    contact: str
    reason: str
    round: int
    step: int


Action = Notify | Skip


@dataclass
class Escalation:
    """One alarm's walk; `to_dict`/`from_dict` make it durable."""

    alarm: str
    chain: tuple[str, ...]
    started_at: float
    repeat_interval_s: float = 0.0
    step: int = 0
    round: int = 1
    round_started_at: float = 0.0
    next_at: float | None = None
    notified_in_round: list[str] = field(default_factory=list)
    notified: int = 0

    @classmethod
    def start(cls, alarm: str, chain: tuple[str, ...], now: float, repeat_interval_s: float = 0.0) -> Escalation:
        return cls(alarm, tuple(chain), now, repeat_interval_s, round_started_at=now, next_at=now)

    @property
    def done(self) -> bool:
        return self.next_at is None

    def advance(self, now: float, contacts: Mapping[str, ContactSpec], policy: str = "notify_all") -> list[Action]:
        """Everything due at `now`; moves `next_at` to the following step (None when finished)."""
        actions: list[Action] = []
        guard = 0
        while self.next_at is not None and self.next_at <= now and guard < 1000:
            guard += 1
            at = self.next_at if now - self.next_at <= CATCH_UP_S else now
            if self.step < len(self.chain):
                actions.extend(self._visit(at, contacts))
                continue
            if not self.notified_in_round:
                actions.extend(self._fallback(contacts, policy))
            if self.repeat_interval_s > 0:
                self.round += 1
                self.step = 0
                self.notified_in_round = []
                self.round_started_at = max(at, self.round_started_at + self.repeat_interval_s)
                self.next_at = self.round_started_at
            else:
                self.next_at = None
        return actions

    def _visit(self, at: float, contacts: Mapping[str, ContactSpec]) -> list[Action]:
        contact_id = self.chain[self.step]
        step = self.step
        self.step += 1
        contact = contacts.get(contact_id)
        if contact is None:
            return [Skip(contact_id, "not defined under alarms.contacts", self.round, step)]
        if not contact.eligible(at):
            return [Skip(contact_id, f"outside work hours ({contact.work_hours.timezone})", self.round, step)]
        self.notified_in_round.append(contact_id)
        self.notified += 1
        self.next_at = at + contact.escalation_delay_s
        return [Notify(contact_id, contact.preferred_method, self.round, step)]

    def _fallback(self, contacts: Mapping[str, ContactSpec], policy: str) -> list[Action]:
        known = [c for c in self.chain if c in contacts]
        if not known:
            return []
        chosen = known[-1:] if policy == "last_contact" else list(dict.fromkeys(known))
        self.notified_in_round.extend(chosen)
        self.notified += len(chosen)
        reason = f"nobody in the chain is within work hours: policy {policy}"
        return [Notify(c, contacts[c].preferred_method, self.round, self.chain.index(c), reason) for c in chosen]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chain"] = list(self.chain)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Escalation:
        values = dict(data)
        values["chain"] = tuple(values.get("chain") or ())
        return cls(**values)
