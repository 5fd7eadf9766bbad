"""JSON Schemas of the alarm section's three keys, `alarms`, `twilio` and `email`, generated from their
settings (`config.py`); the loader fills in their defaults."""

from __future__ import annotations

from petra.alarms.config import AlarmSpec, AlarmsSettings, EmailSettings, TwilioSettings
from petra.config.schema_builders import Schema
from petra.config.settings import schema_of

SETPOINT_NEEDED = {
    "if": {"properties": {"condition": {"enum": ["above", "below", "equal", "not_equal", "deviation"]}},
           "required": ["condition"]},
    "then": {"required": ["setpoint"]},
}
DEVIATION_NEEDED = {
    "if": {"properties": {"condition": {"const": "deviation"}}, "required": ["condition"]},
    "then": {"required": ["max_deviation"]},
}
RUNTIME_KEYS = ("state_dir", "durability", "notification_cooldown_seconds", "when_nobody_eligible",
                "max_shelve_seconds", "event_retention_days", "stale_after_seconds", "flood", "chatter", "retry")


def alarms_schema() -> Schema:
    """`AlarmsSettings`; a comparing condition needs a setpoint, deviation a max_deviation."""
    schema = schema_of(AlarmsSettings, AlarmsSettings.__doc__ or "")
    schema["properties"]["alarms"]["items"] = {**schema_of(AlarmSpec), "allOf": [SETPOINT_NEEDED, DEVIATION_NEEDED]}
    return schema


def alarm_runtime_properties() -> Schema:
    """Settings of the alarm runtime (durable state, escalation policy, flood, chatter, retries)."""
    properties: Schema = alarms_schema()["properties"]
    return {key: properties[key] for key in RUNTIME_KEYS}


def twilio_schema() -> Schema:
    return schema_of(TwilioSettings, TwilioSettings.__doc__ or "")


def email_schema() -> Schema:
    return schema_of(EmailSettings, EmailSettings.__doc__ or "")
