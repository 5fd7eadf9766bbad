"""Whole-plant checks of the `alarms` and `twilio` sections.

`declare` records the signals the alarm runtime writes (each alarm's
`alarm.<id>.active|acked|state`, and the `alarms.*` summary) and the signals
alarms and Twilio actions read; `check` reports what the schema cannot:
repeated ids, a contact whose preferred method it cannot be reached by,
escalation chains naming unknown alarms or contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from petra.config.context import CheckContext, Writer, mappings, section
from petra.config.errors import Path_, did_you_mean, near_miss
from petra.values import DataType

ALARM_STATE_SIGNALS = {"active": DataType.BOOL, "acked": DataType.BOOL, "state": DataType.STRING}
"""The implicit signals `alarm.<id>.<field>` each alarm writes (group "alarms")."""


def alarm_state_slots(names: Sequence[str]) -> dict[int, str]:
    """Slot -> alarm id of every `alarm.<id>.<field>` state signal among a signal table's `names` (the web
    stream and the OPC-UA conditions follow an alarm through them)."""
    found: dict[int, str] = {}
    for slot, name in enumerate(names):
        head, _, field = name.rpartition(".")
        if name.startswith("alarm.") and field in ALARM_STATE_SIGNALS and head != "alarm":
            found[slot] = head[len("alarm."):]
    return found


ALARM_SUMMARY_SIGNALS = {"alarms.flood": DataType.BOOL, "alarms.active_count": DataType.INT,
                         "alarms.unacked_count": DataType.INT}
"""Written by the alarm runtime once there is an alarm, unless a block writes one of them."""


def declare(ctx: CheckContext) -> None:
    """Alarms write their state signals and read `signal`, `suppress_when` and a signal `setpoint`;
    Twilio actions read their `trigger_signal`."""
    alarms = section(ctx.data, "alarms")
    # While sections declare, ctx.writers holds the blocks' outputs only: a block may own the summary.
    summary = not ctx.writers.keys() & ALARM_SUMMARY_SIGNALS.keys()
    first_of: dict[str, int] = {}
    for index, alarm in mappings(alarms.get("alarms")):
        path = ("alarms", "alarms", index)
        if first_of.setdefault(str(alarm.get("id")), index) == index and _state_signals(ctx, alarm, path, summary):
            summary = False
        ctx.read_signal(alarm, "signal", path)
        ctx.read_signal(alarm, "suppress_when", path)
        if isinstance(alarm.get("setpoint"), str):
            ctx.read_signal(alarm, "setpoint", path)
    for index, action in mappings(section(ctx.data, "twilio").get("actions")):
        ctx.read_signal(action, "trigger_signal", ("twilio", "actions", index))


def _state_signals(ctx: CheckContext, alarm: dict[str, Any], path: Path_, summary: bool) -> bool:
    """Each alarm's state is visible as signals that logic, MQTT and OPC UA can read; True if it wrote any."""
    alarm_id = alarm.get("id")
    if not isinstance(alarm_id, str) or ctx.signal_name(alarm_id, (*path, "id")) is None:
        return False
    if summary:
        for name, dtype in ALARM_SUMMARY_SIGNALS.items():
            ctx.write(name, Writer("the alarm runtime", ("alarms",), dtype, "alarms"))
    for field, dtype in ALARM_STATE_SIGNALS.items():
        ctx.write(f"alarm.{alarm_id}.{field}", Writer(f"alarm '{alarm_id}'", (*path, "id"), dtype, "alarms"))
    return True


def check(ctx: CheckContext) -> None:
    """Unique alarm, contact and action ids; reachable contacts; escalation chains that name what exists."""
    alarms = section(ctx.data, "alarms")
    alarm_ids = ctx.unique(alarms.get("alarms"), "id", ("alarms", "alarms"), "alarm id")
    contact_ids = ctx.unique(alarms.get("contacts"), "id", ("alarms", "contacts"), "contact id")
    for index, contact in mappings(alarms.get("contacts")):
        if contact.get("preferred_method") in ("sms", "call") and "phone" not in contact:
            ctx.error(("alarms", "contacts", index, "preferred_method"),
                      f"preferred_method {contact['preferred_method']} needs a phone number")
        if contact.get("preferred_method") == "email" and "email" not in contact:
            ctx.error(("alarms", "contacts", index, "preferred_method"),
                      "preferred_method email needs an email address")
    ctx.unique(section(ctx.data, "twilio").get("actions"), "name", ("twilio", "actions"), "action name")
    chains = alarms.get("escalation_chains")
    if isinstance(chains, dict):
        _check_chains(ctx, chains, alarm_ids, contact_ids)


def _check_chains(ctx: CheckContext, chains: dict[str, Any], alarm_ids: list[str], contact_ids: list[str]) -> None:
    for alarm_id, contacts in chains.items():
        path = ("alarms", "escalation_chains", alarm_id)
        if alarm_id not in alarm_ids:
            hint = did_you_mean(alarm_id, alarm_ids)
            ctx.error(path, f"escalation chain for unknown alarm '{alarm_id}'{hint}", key=True)
        if not isinstance(contacts, list):
            continue
        for position, contact in enumerate(contacts):
            if not isinstance(contact, str) or contact in contact_ids:
                continue
            typo = near_miss(contact, contact_ids)
            if typo is not None:  # a misspelt step would silently never notify anyone
                ctx.error((*path, position), f"contact '{contact}' is not defined under alarms.contacts "
                                             f"(did you mean '{typo}'?)")
                continue
            ctx.warn((*path, position), f"contact '{contact}' is not defined under alarms.contacts"
                                        f"{did_you_mean(contact, contact_ids)}; it will be skipped")
