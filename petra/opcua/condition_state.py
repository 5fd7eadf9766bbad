"""PETRA's ISA-18.2 alarm state -> the fields of an OPC-UA Part 9 condition, as pure data.

No asyncua here: `condition_fields(view, spec, message)` takes an alarm's view (what
`AlarmMachine.view` gives, as the alarm list shows it) and returns `ConditionFields`;
`petra.opcua.conditions` writes them into the condition's event and nodes.

Which condition type an alarm is (`condition_type`):

    true / false / equal / not_equal   OffNormalAlarmType          (a discrete, off-normal condition)
    above / below                      ExclusiveLimitAlarmType     (LimitState High or Low)
    deviation                          NonExclusiveLimitAlarmType  (HighState or LowState, by the value's side)

The state mapping (`condition_fields`):

    PETRA state     ActiveState  AckedState  EnabledState  Shelving        Suppressed  Retain
    normal          False        True        True          Unshelved       False       False
    active_unacked  True         False       True          Unshelved       False       True
    active_acked    True         True        True          Unshelved       False       True
    rtn_unacked     False        False       True          Unshelved       False       True
    latched         True         as acked    True          Unshelved       False       True
    shelved         False        True        True          Timed/OneShot   False       True (to unshelve)
    suppressed      False        True        True          Unshelved       True        False
    out_of_service  False        True        False         Unshelved       False       False

ConfirmedState is PETRA's reset of a latched alarm (`auto_reset: false`): False while the
alarm is latched, so the OPC-UA Confirm method is PETRA's reset. SuppressedOrShelved is
suppressed or shelved; OutOfServiceState is out of service. Retain is true while the
alarm is active, unacknowledged, latched or shelved: what an operator still has to see
or act on, and what ConditionRefresh replays.

Severity (`severity_of`): PETRA's four severities into the middle of Part 9's bands
(1-200 low, 201-400 medium-low, 401-600 medium, 601-800 medium-high, 801-1000 high).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITY = {"info": 100, "warning": 400, "critical": 700, "emergency": 900}
"""PETRA severity -> OPC-UA Severity (1..1000)."""
DEFAULT_SEVERITY = 400

OFF_NORMAL = "OffNormalAlarmType"
EXCLUSIVE_LIMIT = "ExclusiveLimitAlarmType"
NON_EXCLUSIVE_LIMIT = "NonExclusiveLimitAlarmType"
CONDITION_TYPES = {
    "true": OFF_NORMAL, "false": OFF_NORMAL, "equal": OFF_NORMAL, "not_equal": OFF_NORMAL,
    "above": EXCLUSIVE_LIMIT, "below": EXCLUSIVE_LIMIT, "deviation": NON_EXCLUSIVE_LIMIT,
}

UNSHELVED = "Unshelved"
TIMED_SHELVED = "TimedShelved"
ONE_SHOT_SHELVED = "OneShotShelved"
SHELVING_TEXT = {UNSHELVED: "Unshelved", TIMED_SHELVED: "Timed Shelved", ONE_SHOT_SHELVED: "One Shot Shelved"}
"""ShelvingState/CurrentState's text for each state (the state's DisplayName in Part 9)."""

TWO_STATE_TEXT = {
    "ActiveState": ("Active", "Inactive"),
    "AckedState": ("Acknowledged", "Unacknowledged"),
    "ConfirmedState": ("Confirmed", "Unconfirmed"),
    "EnabledState": ("Enabled", "Disabled"),
    "SuppressedState": ("Suppressed", "Unsuppressed"),
    "OutOfServiceState": ("Out of Service", "In Service"),
    "LatchedState": ("Latched", "Unlatched"),
    "HighState": ("High active", "High inactive"),
    "LowState": ("Low active", "Low inactive"),
}
"""A TwoStateVariable's text for True and False (Part 9's recommended names)."""


def severity_of(severity: str) -> int:
    return SEVERITY.get(severity, DEFAULT_SEVERITY)


def condition_type(condition: str) -> str:
    """The OPC-UA alarm type of a PETRA alarm condition (`AlarmSpec.condition`)."""
    return CONDITION_TYPES.get(condition, OFF_NORMAL)


@dataclass(frozen=True, slots=True)
class ConditionFields:
    """One condition's state as OPC-UA models it."""

    active: bool
    acked: bool
    confirmed: bool
    enabled: bool
    shelving: str
    """UNSHELVED, TIMED_SHELVED or ONE_SHOT_SHELVED."""
    unshelve_in_ms: float
    """For a timed shelve: milliseconds until it ends (ShelvingState/UnshelveTime); else 0."""
    suppressed: bool
    out_of_service: bool
    latched: bool
    retain: bool
    severity: int
    message: str
    limit_state: str | None
    """ExclusiveLimitAlarmType: "High" or "Low" while active, else None."""
    high: bool
    """NonExclusiveLimitAlarmType: HighState (and `low`: LowState)."""
    low: bool

    @property
    def suppressed_or_shelved(self) -> bool:
        return self.suppressed or self.shelving != UNSHELVED

    def text(self, state: str) -> str:
        """The text of TwoStateVariable `state` ("ActiveState", ...) for its current value."""
        true, false = TWO_STATE_TEXT[state]
        value = {"ActiveState": self.active, "AckedState": self.acked, "ConfirmedState": self.confirmed,
                 "EnabledState": self.enabled, "SuppressedState": self.suppressed,
                 "OutOfServiceState": self.out_of_service, "LatchedState": self.latched,
                 "HighState": self.high, "LowState": self.low}[state]
        return true if value else false


def condition_fields(view: dict[str, Any], condition: str, severity: str, message: str,
                     now: float) -> ConditionFields:
    """The OPC-UA fields of an alarm whose view (`AlarmMachine.view`) is `view`, at wall-clock `now`."""
    state = str(view.get("state", "normal"))
    active = bool(view.get("active"))
    acked = bool(view.get("acked", True))
    shelve = view.get("shelve")
    shelving = UNSHELVED
    unshelve_in_ms = 0.0
    if shelve:
        shelving = TIMED_SHELVED if shelve.get("kind") == "timed" else ONE_SHOT_SHELVED
        until = shelve.get("until")
        if shelving == TIMED_SHELVED and isinstance(until, int | float):
            unshelve_in_ms = max(0.0, (float(until) - now) * 1000.0)
    out_of_service = bool(view.get("out_of_service")) or state == "out_of_service"
    suppressed = bool(view.get("suppressed")) and not out_of_service
    latched = bool(view.get("latched"))
    limit_state = None
    high = low = False
    kind = condition_type(condition)
    if active and kind == EXCLUSIVE_LIMIT:
        limit_state = "High" if condition == "above" else "Low"
    elif active and kind == NON_EXCLUSIVE_LIMIT:
        high, low = _side(view)
    return ConditionFields(
        active=active, acked=acked, confirmed=not latched, enabled=not out_of_service, shelving=shelving,
        unshelve_in_ms=unshelve_in_ms, suppressed=suppressed, out_of_service=out_of_service, latched=latched,
        retain=not out_of_service and (active or not acked or latched or shelving != UNSHELVED),
        severity=severity_of(severity), message=message, limit_state=limit_state, high=high, low=low,
    )


def _side(view: dict[str, Any]) -> tuple[bool, bool]:
    """(high, low) of a deviation alarm: which side of its setpoint the value is on."""
    value, setpoint = view.get("value"), view.get("setpoint")
    if isinstance(value, bool) or not isinstance(value, int | float) or isinstance(setpoint, bool) or not isinstance(
            setpoint, int | float):
        return True, False  # unknown side (a setpoint signal): report it as high
    return (value >= setpoint), (value < setpoint)
