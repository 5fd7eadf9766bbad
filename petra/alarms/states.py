"""The ISA-18.2 / IEC 62682 alarm state machine, as pure logic (no threads, no clock).

Every method takes the wall-clock time `now` (epoch seconds) and returns the
`Transition`s it caused, so tests drive it with any clock they like and the actor
only persists and announces what comes back.

States (ISA-18.2 figure 5, names as in OPC UA Part 9 where they exist)::

    normal ──condition (after on-delay)──▶ active_unacked ──ack──▶ active_acked
       ▲                                        │                      │
       │                          clear (after clear delay)            │ clear
       │                                        ▼                      │
       └────────────── ack ─────────── rtn_unacked ◀──────────────────┘ (to normal)
    latched:         auto_reset false - stays in alarm after the condition clears until reset
    shelved:         operator hid it (timed, or one-shot until it next clears) - who and why kept
    suppressed:      suppressed by design while the `suppress_when` signal is true
    out_of_service:  disabled (config `enabled: false` or an operator)

While shelved, suppressed or out of service the condition is still evaluated, so
that an alarm still active when the mask lifts is annunciated again (unacknowledged).
An alarm that does not require acknowledgement returns to normal when it clears.
"""

from __future__ import annotations

import enum
import itertools
import math
import operator
import time as _time
from dataclasses import dataclass, field
from typing import Any

from petra.alarms.config import AlarmSpec


class State(enum.StrEnum):
    NORMAL = "normal"
    ACTIVE_UNACKED = "active_unacked"
    ACTIVE_ACKED = "active_acked"
    RTN_UNACKED = "rtn_unacked"
    LATCHED = "latched"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


ACTIVE_STATES = frozenset({State.ACTIVE_UNACKED, State.ACTIVE_ACKED, State.LATCHED})


class CommandRefused(ValueError):
    """An operator command that does not apply in the alarm's current state."""


@dataclass(frozen=True, slots=True)
class Transition:
    """Something that happened to one alarm; `event` is past tense ("raised", "acked", ...)."""

    alarm: str
    event: str
    state: State
    previous: State
    time: float
    value: Any = None
    who: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"alarm": self.alarm, "event": self.event, "state": str(self.state), "previous": str(self.previous),
                "time": self.time, "value": self.value, "who": self.who, **({"details": self.details}
                                                                           if self.details else {})}


def condition_holds(spec: AlarmSpec, value: Any, setpoint: float | None, was_active: bool) -> bool:
    """The raw condition with deadband hysteresis: once active, it clears only `deadband` inside the limit."""
    cond = spec.condition
    if cond == "true":
        return bool(value)
    if cond == "false":
        return not bool(value)
    if setpoint is None or isinstance(value, str):
        return False
    v, sp, db = float(value), float(setpoint), spec.deadband
    if math.isnan(v) or math.isnan(sp):
        return was_active
    if cond == "above":
        return v >= sp - db if was_active else v > sp
    if cond == "below":
        return v <= sp + db if was_active else v < sp
    if cond == "equal":
        return abs(v - sp) <= db if was_active else v == sp
    if cond == "not_equal":
        return abs(v - sp) > db if was_active else v != sp
    if cond == "deviation":
        limit = spec.max_deviation
        return abs(v - sp) >= limit - db if was_active else abs(v - sp) > limit
    raise ValueError(f"unknown condition {cond!r}")


class AlarmMachine:
    """One alarm's state; see the module docstring."""

    def __init__(self, spec: AlarmSpec, chatter_activations: int = 3, chatter_window_s: float = 60.0) -> None:
        self.spec = spec
        self.chatter_activations = chatter_activations
        self.chatter_window_s = chatter_window_s
        self.raw = False  # the condition right now, with hysteresis
        self.in_alarm = False  # the condition after on- and clear-delays
        self.pending_on: float | None = None
        self.pending_off: float | None = None
        self.acked = True
        self.latched = False
        self.suppressed = False
        self.enabled = spec.enabled
        self.disabled_by: dict[str, Any] | None = None
        self.shelve: dict[str, Any] | None = None  # {kind, until, by, reason, at}
        self.value: Any = None
        self.raised_at: float | None = None
        self.acked_by: str = ""
        self.activations: list[float] = []
        self.occurrences = 0
        self.code = ""

    # -- views ------------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        if not self.enabled:
            return State.OUT_OF_SERVICE
        if self.shelve is not None:
            return State.SHELVED
        if self.suppressed:
            return State.SUPPRESSED
        if self.in_alarm:
            return State.ACTIVE_ACKED if self.acked else State.ACTIVE_UNACKED
        if self.latched:
            return State.LATCHED
        if not self.acked:
            return State.RTN_UNACKED
        return State.NORMAL

    @property
    def masked(self) -> bool:
        return not self.enabled or self.shelve is not None or self.suppressed

    @property
    def needs_attention(self) -> bool:
        """Someone must be told: annunciated and not yet acknowledged."""
        return not self.masked and not self.acked

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def chattering(self, now: float) -> bool:
        recent = [t for t in self.activations if now - t < self.chatter_window_s]
        return len(recent) >= self.chatter_activations

    def next_wake(self) -> float | None:
        """When `wake` has something to do (a delay or a timed shelve runs out)."""
        times = [t for t in (self.pending_deadline(), None if self.shelve is None else self.shelve.get("until"))
                 if t is not None]
        return min(times) if times else None

    # -- inputs -----------------------------------------------------------------------------------

    def evaluate(self, value: Any, setpoint: float | None, suppressed: bool, now: float) -> list[Transition]:
        """A new value of the signal, setpoint or suppression signal."""
        out: list[Transition] = []
        self.value = value
        if suppressed != self.suppressed:
            before = self.state
            self.suppressed = suppressed
            out.append(self._mask_changed("suppressed" if suppressed else "unsuppressed", before, now))
        raw = condition_holds(self.spec, value, setpoint, self.raw)
        if raw != self.raw:
            self.raw = raw
            if raw:
                self.pending_off = None
                if not self.in_alarm:
                    self.pending_on = now
            else:
                self.pending_on = None
                if self.in_alarm:
                    self.pending_off = now
        out.extend(self.wake(now))
        return [t for t in out if t is not None]

    def wake(self, now: float) -> list[Transition]:
        """Apply delays and shelve expiry that are due at `now`."""
        out: list[Transition] = []
        if self.pending_on is not None and now >= self.pending_on + self.spec.delay_s:
            self.pending_on = None
            out.extend(self._set_in_alarm(True, now))
        if self.pending_off is not None and now >= self.pending_off + self.spec.clear_delay_s:
            self.pending_off = None
            out.extend(self._set_in_alarm(False, now))
        if self.shelve is not None and self.shelve.get("until") is not None and now >= self.shelve["until"]:
            before = self.state
            who = self.shelve.get("by", "")
            self.shelve = None
            out.append(self._mask_changed("shelve_expired", before, now, who="system", details={"shelved_by": who}))
        return out

    def _set_in_alarm(self, active: bool, now: float) -> list[Transition]:
        before = self.state
        self.in_alarm = active
        if self.masked:
            if not active and self.shelve is not None and self.shelve.get("kind") == "oneshot":
                self.shelve = None  # a one-shot shelve ends when the alarm clears
                return [self._t("shelve_ended", before, now, who="system")]
            return []
        if active:
            return [self._annunciate(before, now)]
        if not self.spec.require_ack:
            self.acked = True
        return [self._t("cleared", before, now)]

    def _annunciate(self, before: State, now: float) -> Transition:
        self.acked = False
        self.acked_by = ""
        self.raised_at = now
        self.occurrences += 1
        if not self.spec.auto_reset:
            self.latched = True
        self.activations = [t for t in self.activations if now - t < self.chatter_window_s] + [now]
        return self._t("raised", before, now, details={"chattering": True} if self.chattering(now) else {})

    def _mask_changed(self, event: str, before: State, now: float, who: str = "",
                      details: dict[str, Any] | None = None) -> Transition:
        if self.masked:
            self.acked = True  # nothing is annunciated while masked
            return self._t(event, before, now, who=who, details=details)
        if self.in_alarm:
            annunciated = self._annunciate(before, now)
            return self._t(event, before, now, who=who, details={**(details or {}), "raised": True,
                                                                 **annunciated.details})
        return self._t(event, before, now, who=who, details=details)

    def _t(self, event: str, before: State, now: float, who: str = "",
           details: dict[str, Any] | None = None) -> Transition:
        return Transition(self.spec.id, event, self.state, before, now, self.value, who, details or {})

    # -- operator commands ------------------------------------------------------------------------

    def ack(self, who: str, now: float, comment: str = "") -> list[Transition]:
        if self.masked:
            raise CommandRefused(f"alarm '{self.spec.id}' is {self.state}; nothing to acknowledge")
        if self.acked:
            raise CommandRefused(f"alarm '{self.spec.id}' is already acknowledged")
        before = self.state
        self.acked = True
        self.acked_by = who
        return [self._t("acked", before, now, who, {"comment": comment} if comment else {})]

    def reset(self, who: str, now: float) -> list[Transition]:
        """Clear a latched alarm (and acknowledge it) once its condition has cleared."""
        if self.in_alarm:
            raise CommandRefused(f"alarm '{self.spec.id}' is still active; it can be reset once it clears")
        if not self.latched and self.acked:
            raise CommandRefused(f"alarm '{self.spec.id}' is {self.state}; nothing to reset")
        before = self.state
        self.latched = False
        self.acked = True
        self.acked_by = self.acked_by or who
        return [self._t("reset", before, now, who)]

    def shelve_for(self, who: str, reason: str, now: float, duration_s: float | None) -> list[Transition]:
        """Shelve for `duration_s` seconds, or one-shot (until it next clears) when None."""
        if not self.enabled:
            raise CommandRefused(f"alarm '{self.spec.id}' is out of service")
        if not reason.strip():
            raise CommandRefused("shelving needs a reason")
        before = self.state
        self.shelve = {"kind": "oneshot" if duration_s is None else "timed",
                       "until": None if duration_s is None else now + duration_s, "by": who, "reason": reason,
                       "at": now}
        return [self._mask_changed("shelved", before, now, who, {"reason": reason, "until": self.shelve["until"],
                                                                 "kind": self.shelve["kind"]})]

    def unshelve(self, who: str, now: float) -> list[Transition]:
        if self.shelve is None:
            raise CommandRefused(f"alarm '{self.spec.id}' is not shelved")
        before = self.state
        self.shelve = None
        return [self._mask_changed("unshelved", before, now, who)]

    def set_enabled(self, enabled: bool, who: str, reason: str, now: float) -> list[Transition]:
        """Take out of service (False) or return to service (True)."""
        if enabled == self.enabled:
            raise CommandRefused(f"alarm '{self.spec.id}' is already {'in' if enabled else 'out of'} service")
        before = self.state
        self.enabled = enabled
        self.disabled_by = None if enabled else {"by": who, "reason": reason, "at": now}
        return [self._mask_changed("enabled" if enabled else "disabled", before, now, who,
                                   {"reason": reason} if reason else {})]

    # -- durability -------------------------------------------------------------------------------

    _FIELDS = ("raw", "in_alarm", "pending_on", "pending_off", "acked", "latched", "suppressed", "enabled",
               "disabled_by", "shelve", "value", "raised_at", "acked_by", "activations", "occurrences", "code")

    _SHOWN_ONLY = frozenset({"value"})
    """Stored with every snapshot, but a new value alone is not a change worth a write."""

    _get_fields = operator.attrgetter(*_FIELDS)
    _get_durable = operator.attrgetter(*itertools.filterfalse(_SHOWN_ONLY.__contains__, _FIELDS))

    def snapshot(self) -> dict[str, Any]:
        return dict(zip(self._FIELDS, self._get_fields(self), strict=True))

    def durable_key(self) -> tuple[Any, ...]:
        """Everything a restart needs; when it differs from the stored one, the snapshot must be written.

        Not only transitions change it: an on-delay or clear delay that starts or is
        cancelled, or a condition that changes while the alarm is masked, changes
        what the alarm will do next without changing its state.
        """
        return self._get_durable(self)

    def pending_deadline(self) -> float | None:
        """When the running on-delay or clear delay runs out (onset + delay), None when none runs."""
        if self.pending_on is not None:
            return self.pending_on + self.spec.delay_s
        if self.pending_off is not None:
            return self.pending_off + self.spec.clear_delay_s
        return None

    def restore(self, data: dict[str, Any]) -> None:
        for name in self._FIELDS:
            if name in data:
                setattr(self, name, data[name])
        if not self.spec.enabled and self.enabled and self.disabled_by is None:
            self.enabled = False  # the config took it out of service
        elif self.spec.enabled and not self.enabled and self.disabled_by is None:
            self.enabled = True  # the config put it back

    def view(self, now: float | None = None) -> dict[str, Any]:
        """What the alarm list shows."""
        now = _time.time() if now is None else now
        spec = self.spec
        state = self.state
        active = state in ACTIVE_STATES
        return {
            "id": spec.id, "name": spec.title, "state": str(state), "severity": spec.severity,
            "active": active, "acked": self.acked, "acked_by": self.acked_by, "value": self.value,
            "signal": spec.signal, "condition": spec.condition, "setpoint": spec.setpoint,
            "raised_at": self.raised_at, "since_s": None if self.raised_at is None or not active
            else round(now - self.raised_at, 3), "shelve": self.shelve, "suppressed": self.suppressed,
            "out_of_service": not self.enabled, "latched": self.latched, "chattering": self.chattering(now),
            "occurrences": self.occurrences, "code": self.code, "pending_delay": self.pending_on is not None,
            "pending_since": self.pending_on if self.pending_on is not None else self.pending_off,
            "pending_until": self.pending_deadline(),
        }
