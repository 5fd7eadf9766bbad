"""JSON Schemas of the alarm section's three keys: `alarms`, `twilio` and `email`.

Defaults given here are filled into `PlantConfig.sections`.
"""

from __future__ import annotations

from petra.config.schema_builders import (
    TIME_OF_DAY,
    Schema,
    array,
    boolean,
    enum,
    integer,
    name,
    number,
    obj,
    signal_ref,
    string,
)


def alarms_schema() -> Schema:
    alarm = obj(
        {
            "id": name("Unique alarm id; escalation chains refer to it."),
            "name": string("Human-readable name, used in messages as {name}."),
            "signal": signal_ref("The signal the condition watches."),
            "condition": enum(
                ["above", "below", "equal", "not_equal", "true", "false", "deviation"],
                "above/below/equal/not_equal compare with setpoint; true/false watch a bool signal; "
                "deviation: |signal - setpoint| > max_deviation.",
            ),
            "setpoint": {
                "description": "A number, or the name of a signal that holds the limit.",
                "type": ["number", "string"],
            },
            "max_deviation": number("Allowed |signal - setpoint| for condition deviation.", minimum=0),
            "deadband": number("Hysteresis: the alarm clears only this far back inside the limit.",
                               default=0.0, minimum=0),
            "delay_seconds": number("The condition must hold this long before the alarm raises.",
                                    default=0, minimum=0),
            "clear_delay_seconds": number("The condition must be gone this long before it clears.",
                                          default=0, minimum=0),
            "severity": enum(["info", "warning", "critical", "emergency"], default="warning"),
            "message_template": string(
                "Notification text; {name}, {value}, {setpoint}, {unit}, {severity}, {time}, {signal}, {id} and "
                "{code} (the short code for 'ACK <code>' replies) are filled in."
            ),
            "unit": string("Unit shown as {unit}; defaults to the watched signal's unit."),
            "require_acknowledgment": boolean("An operator must acknowledge it.", default=False),
            "auto_reset": boolean("Clears by itself when the condition is gone.", default=True),
            "repeat_interval_seconds": number("Re-notify while active; 0 = never.", default=0, minimum=0),
            "enabled": boolean(default=True),
            "suppress_when": signal_ref("A bool signal; while it is true the alarm is suppressed."),
            "description": string("Free text for operators."),
        },
        required=("id", "signal", "condition"),
        allOf=[
            {
                "if": {"properties": {"condition": {"enum": ["above", "below", "equal", "not_equal",
                                                             "deviation"]}},
                       "required": ["condition"]},
                "then": {"required": ["setpoint"]},
            },
            {
                "if": {"properties": {"condition": {"const": "deviation"}}, "required": ["condition"]},
                "then": {"required": ["max_deviation"]},
            },
        ],
    )
    contact = obj(
        {
            "id": name("Unique contact id; escalation chains list these."),
            "name": string("Full name."),
            "email": string("E-mail address.", pattern=r"^[^@\s]+@[^@\s]+$"),
            "phone": string("Phone number in E.164 form, e.g. +41791234567.",
                            pattern=r"^\+?[0-9 ()-]{5,20}$"),
            "preferred_method": enum(["sms", "call", "email"], default="sms"),
            "priority": integer("1 is notified first.", default=1, minimum=1),
            "escalation_delay_seconds": number("Wait this long before escalating past this contact.",
                                               default=300, minimum=0),
            "work_hours_only": boolean(default=False),
            "work_hours": obj(
                {
                    "timezone": string("IANA time zone, e.g. Europe/Zurich.", default="UTC"),
                    "days": array(enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                                  uniqueItems=True, default=["mon", "tue", "wed", "thu", "fri"]),
                    "start": string("HH:MM", default="08:00", pattern=TIME_OF_DAY),
                    "end": string("HH:MM", default="17:00", pattern=TIME_OF_DAY),
                }
            ),
        },
        required=("id", "name"),
    )
    return obj(
        {
            "alarms": array(alarm, "Alarm definitions.", default=[]),
            "contacts": array(contact, "People who are notified.", default=[]),
            "escalation_chains": {
                "type": "object",
                "description": "Alarm id -> contact ids, notified in this order.",
                "additionalProperties": array(string(minLength=1), minItems=1),
                "default": {},
            },
            **alarm_runtime_properties(),
        },
        description="Alarm management: alarms, contacts and escalation chains.",
    )


def alarm_runtime_properties() -> Schema:
    """Settings of the alarm runtime (durable state, escalation policy, flood, chatter, retries)."""
    return {
        "state_dir": string("LMDB directory for alarm states, escalations, deliveries and events.",
                            default="./data/alarms"),
        "durability": enum(["batched", "fsync"], "Both survive a crash or kill -9 of PETRA. fsync: every "
                                                 "transition is fsynced before it is announced; batched: "
                                                 "fsynced every 100 ms (a power loss may lose the last 100 ms).",
                           default="batched"),
        "notification_cooldown_seconds": number(
            "The same contact is told about the same alarm at most once in this time.", default=60, minimum=0),
        "when_nobody_eligible": enum(
            ["notify_all", "last_contact"],
            "When every contact of a chain is outside work hours: tell them all anyway, or the last one.",
            default="notify_all"),
        "max_shelve_seconds": number("Longest time an alarm may be shelved.", default=86400, minimum=1),
        "event_retention_days": number("Alarm events (who, when, value) older than this are deleted.",
                                       default=90, minimum=1),
        "stale_after_seconds": number("An alarm active longer than this counts as stale (KPI).",
                                      default=86400, minimum=1),
        "flood": obj({
            "threshold": integer("More than this many alarms raised within window_seconds is a flood.",
                                 default=10, minimum=1),
            "window_seconds": number(default=600, minimum=1),
            "summary_interval_seconds": number("During a flood, notifications per contact are consolidated "
                                               "into one summary at most this often.", default=30, minimum=0),
        }, description="Alarm flood detection and notification consolidation (ISA-18.2).", default={}),
        "chatter": obj({
            "activations": integer("This many activations within window_seconds flag chattering.",
                                   default=3, minimum=2),
            "window_seconds": number(default=60, minimum=1),
        }, description="Chattering alarm detection.", default={}),
        "retry": obj({
            "max_attempts": integer(default=5, minimum=1),
            "initial_backoff_seconds": number(default=1.0, minimum=0),
            "max_backoff_seconds": number(default=60.0, minimum=0),
        }, description="Retries of notifications after transient failures.", default={}),
    }


def twilio_schema() -> Schema:
    action = obj(
        {
            "name": name(""),
            "trigger_signal": signal_ref("A bool signal; its rising edge triggers the action."),
            "action_type": enum(["sms", "call"]),
            "to_number": string(minLength=1),
            "content": string("SMS text, or TwiML for a call."),
            "cooldown_seconds": number(default=300, minimum=0),
        },
        required=("name", "trigger_signal", "action_type", "to_number"),
    )
    return obj(
        {
            "account_sid": string("Defaults to the TWILIO_ACCOUNT_SID environment variable."),
            "auth_token": string("Defaults to the TWILIO_AUTH_TOKEN environment variable."),
            "from_number": string(minLength=1),
            "api_base_url": string(default="https://api.twilio.com"),
            "status_callback_url": string("Delivery status callbacks (default: webhook.public_url + "
                                          "/v1/twilio/status when a webhook is configured)."),
            "timeout_seconds": number("HTTP timeout of REST requests.", default=10, minimum=0.1),
            "webhook": obj(
                {
                    "host": string("Listen address of the webhook listener.", default="127.0.0.1"),
                    "port": integer("TCP port of the webhook listener (0: any free port).", minimum=0,
                                    maximum=65535),
                    "public_url": string("The URL Twilio reaches the listener at (e.g. https://plant.example.com); "
                                         "request signatures are checked against it.", minLength=1),
                },
                required=("port", "public_url"),
                description="Inbound Twilio webhooks (SMS replies, call key presses, status callbacks).",
            ),
            "actions": array(action, default=[]),
        },
        description="Twilio SMS and voice calls.",
    )


def email_schema() -> Schema:
    return obj(
        {
            "smtp_host": string(minLength=1),
            "smtp_port": integer(default=587, minimum=1, maximum=65535),
            "username": string(),
            "password": string(),
            "from_address": string(pattern=r"^[^@\s]+@[^@\s]+$"),
            "starttls": boolean(default=True),
            "tls": boolean("Implicit TLS (port 465).", default=False),
            "ca_file": string("CA certificate(s) to trust for the server's certificate (default: the system's)."),
            "timeout_seconds": number(default=10, minimum=0.1),
        },
        required=("smtp_host",),
        description="SMTP for e-mail notifications.",
    )
