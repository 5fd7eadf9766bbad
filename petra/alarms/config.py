"""The `alarms`, `twilio` and `email` sections' settings, and the alarm subsystem's resolved config.

`AlarmSpec`, `ContactSpec`, `TwilioSettings` and `EmailSettings` are the one
declaration of their keys (schema, defaults, model; `petra.alarms.schema`
generates the schemas from them). Their fields keep the runtime's names
(`delay_s`); `key=` names the YAML key where it differs (`delay_seconds`).
`AlarmsSettings` is the `alarms` key; `AlarmsConfig` is what the subsystem
runs with, resolved once from the three sections. `build_config(plant_config)`
returns None when none of the three sections is present. Times are in seconds.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petra.alarms.workhours import WorkHours
from petra.config.model import PlantConfig
from petra.config.schema_builders import NAME_PATTERN, array, string
from petra.config.settings import parse, setting
from supervision import BackoffPolicy

SEVERITIES = ("info", "warning", "critical", "emergency")
CONDITIONS = ("above", "below", "equal", "not_equal", "true", "false", "deviation")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
DEFAULT_API_BASE = "https://api.twilio.com"
@dataclass(frozen=True)
class AlarmSpec:
    """One alarm definition (`alarms.alarms[]`)."""

    id: str = setting(doc="Unique alarm id; escalation chains refer to it.", pattern=NAME_PATTERN)
    signal: str = setting(doc="The signal the condition watches.", minLength=1)
    condition: str = setting(doc="above/below/equal/not_equal compare with setpoint; true/false watch a bool "
                                 "signal; deviation: |signal - setpoint| > max_deviation.", enum=CONDITIONS)
    name: str = setting("", schema_default=False, doc="Human-readable name, used in messages as {name}.")
    setpoint: float | str | None = setting(None, doc="A number, or the name of a signal that holds the limit.",
                                           schema={"type": ["number", "string"]})
    """A literal limit, or the name of the signal that holds it."""
    max_deviation: float = setting(0.0, schema_default=False, minimum=0,
                                   doc="Allowed |signal - setpoint| for condition deviation.")
    deadband: float = setting(0.0, minimum=0, doc="Hysteresis: the alarm clears only this far back inside the "
                                                  "limit.")
    delay_s: float = setting(0.0, key="delay_seconds", unit="s", minimum=0,
                             doc="The condition must hold this long before the alarm raises.")
    clear_delay_s: float = setting(0.0, key="clear_delay_seconds", unit="s", minimum=0,
                                   doc="The condition must be gone this long before it clears.")
    severity: str = setting("warning", enum=SEVERITIES)
    message_template: str = setting(
        "", schema_default=False,
        doc="Notification text; {name}, {value}, {setpoint}, {unit}, {severity}, {time}, {signal}, {id} and "
            "{code} (the short code for 'ACK <code>' replies) are filled in.")
    require_ack: bool = setting(False, key="require_acknowledgment", doc="An operator must acknowledge it.")
    auto_reset: bool = setting(True, doc="Clears by itself when the condition is gone.")
    repeat_interval_s: float = setting(0.0, key="repeat_interval_seconds", unit="s", minimum=0,
                                       doc="Re-notify while active; 0 = never.")
    enabled: bool = setting(True)
    suppress_when: str | None = setting(None, doc="A bool signal; while it is true the alarm is suppressed.",
                                        minLength=1)
    unit: str = setting("", schema_default=False, doc="Unit shown as {unit}; defaults to the watched signal's "
                                                      "unit.")
    description: str = setting("", schema_default=False, doc="Free text for operators.")

    @property
    def title(self) -> str:
        return self.name or self.id

    @property
    def setpoint_signal(self) -> str | None:
        return self.setpoint if isinstance(self.setpoint, str) else None

    def signals(self) -> list[str]:
        """Every signal whose change can change this alarm's state."""
        names = [self.signal]
        if self.setpoint_signal:
            names.append(self.setpoint_signal)
        if self.suppress_when:
            names.append(self.suppress_when)
        return names


@dataclass(frozen=True)
class ContactSpec:
    """A person who is notified (`alarms.contacts[]`)."""

    id: str = setting(doc="Unique contact id; escalation chains list these.", pattern=NAME_PATTERN)
    name: str = setting(doc="Full name.")
    email: str | None = setting(None, doc="E-mail address.", pattern=EMAIL_PATTERN)
    phone: str | None = setting(None, doc="Phone number in E.164 form, e.g. +41791234567.",
                                pattern=r"^\+?[0-9 ()-]{5,20}$")
    preferred_method: str = setting("sms", enum=("sms", "call", "email"))
    priority: int = setting(1, doc="1 is notified first.", minimum=1)
    escalation_delay_s: float = setting(300.0, key="escalation_delay_seconds", unit="s", minimum=0,
                                        doc="Wait this long before escalating past this contact.")
    work_hours_only: bool = setting(False)
    work_hours: WorkHours = setting(default_factory=WorkHours)

    def eligible(self, now: float) -> bool:
        """May be notified at wall-clock time `now`."""
        return not self.work_hours_only or self.work_hours.contains(now)

    def address(self, method: str) -> str | None:
        return self.email if method == "email" else self.phone


@dataclass(frozen=True)
class RetrySettings:
    """Retries of notifications after transient failures."""

    max_attempts: int = setting(5, minimum=1)
    initial_backoff_seconds: float = setting(1.0, unit="s", minimum=0)
    max_backoff_seconds: float = setting(60.0, unit="s", minimum=0)


DEFAULT_NOTIFY_BACKOFF = BackoffPolicy(initial=RetrySettings.initial_backoff_seconds,
                                       maximum=RetrySettings.max_backoff_seconds, multiplier=2.0, jitter=0.0)
"""`alarms.retry`'s defaults: 1 s doubling to 60 s, no jitter (a stored `retry_at` is what the config says)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a notifier tries one delivery (`alarms.retry`), and how long it waits between tries."""

    max_attempts: int = RetrySettings.max_attempts
    backoff: BackoffPolicy = DEFAULT_NOTIFY_BACKOFF

    @classmethod
    def from_seconds(cls, max_attempts: int, initial_backoff_s: float, max_backoff_s: float) -> RetryPolicy:
        """The policy for `alarms.retry`; an initial back-off above the maximum waits the maximum every time."""
        backoff = BackoffPolicy(initial=min(initial_backoff_s, max_backoff_s), maximum=max_backoff_s,
                                multiplier=2.0, jitter=0.0)
        return cls(max_attempts, backoff)

    def delay(self, attempt: int) -> float:
        """Back-off before attempt `attempt + 1` (attempt counts from 1)."""
        return self.backoff.base_delay(attempt)


@dataclass(frozen=True)
class TwilioAction:
    """A signal-triggered SMS or call (`twilio.actions[]`), independent of alarms."""

    name: str = setting(pattern=NAME_PATTERN)
    trigger_signal: str = setting(doc="A bool signal; its rising edge triggers the action.", minLength=1)
    action_type: str = setting(enum=("sms", "call"))
    to_number: str = setting(minLength=1)
    content: str = setting("", schema_default=False, doc="SMS text, or TwiML for a call.")
    cooldown_s: float = setting(300.0, key="cooldown_seconds", unit="s", minimum=0)


@dataclass(frozen=True)
class WebhookSettings:
    """Inbound Twilio webhooks (SMS replies, call key presses, status callbacks)."""

    port: int = setting(doc="TCP port of the webhook listener (0: any free port).", minimum=0, maximum=65535)
    public_url: str = setting(doc="The URL Twilio reaches the listener at (e.g. https://plant.example.com); "
                                  "request signatures are checked against it.", minLength=1)
    host: str = setting("127.0.0.1", doc="Listen address of the webhook listener.")


@dataclass(frozen=True)
class TwilioSettings:
    """Twilio SMS and voice calls."""

    account_sid: str | None = setting(None, doc="Defaults to the TWILIO_ACCOUNT_SID environment variable.")
    auth_token: str | None = setting(None, doc="Defaults to the TWILIO_AUTH_TOKEN environment variable.")
    from_number: str | None = setting(None, minLength=1)
    api_base_url: str = setting(DEFAULT_API_BASE)
    status_callback_url: str | None = setting(None, doc="Delivery status callbacks (default: webhook.public_url "
                                                        "+ /v1/twilio/status when a webhook is configured).")
    timeout_s: float = setting(10.0, key="timeout_seconds", unit="s", doc="HTTP timeout of REST requests.",
                               minimum=0.1)
    webhook: WebhookSettings | None = setting(None, doc=WebhookSettings.__doc__ or "")
    actions: tuple[TwilioAction, ...] = setting(())

    @property
    def status_callback(self) -> str | None:
        if self.status_callback_url:
            return self.status_callback_url
        if self.webhook is not None:
            return self.webhook.public_url.rstrip("/") + "/v1/twilio/status"
        return None


@dataclass(frozen=True)
class EmailSettings:
    """SMTP for e-mail notifications."""

    smtp_host: str = setting(minLength=1)
    smtp_port: int = setting(587, minimum=1, maximum=65535)
    username: str | None = None
    password: str | None = None
    from_address: str = setting("petra@localhost", schema_default=False, pattern=EMAIL_PATTERN)
    starttls: bool = setting(True)
    tls: bool = setting(False, doc="Implicit TLS (port 465).")
    ca_file: str | None = setting(None, doc="CA certificate(s) to trust for the server's certificate (default: "
                                            "the system's).")
    timeout_s: float = setting(10.0, key="timeout_seconds", unit="s", minimum=0.1)


@dataclass(frozen=True)
class FloodSettings:
    """Alarm flood detection and notification consolidation (ISA-18.2)."""

    threshold: int = setting(10, doc="More than this many alarms raised within window_seconds is a flood.",
                             minimum=1)
    window_seconds: float = setting(600.0, unit="s", minimum=1)
    summary_interval_seconds: float = setting(30.0, unit="s", minimum=0, doc="During a flood, notifications per "
                                              "contact are consolidated into one summary at most this often.")


@dataclass(frozen=True)
class ChatterSettings:
    """Chattering alarm detection."""

    activations: int = setting(3, doc="This many activations within window_seconds flag chattering.", minimum=2)
    window_seconds: float = setting(60.0, unit="s", minimum=1)


@dataclass(frozen=True)
class AlarmsSettings:
    """Alarm management: alarms, contacts and escalation chains."""

    alarms: tuple[AlarmSpec, ...] = setting((), doc="Alarm definitions.")
    contacts: tuple[ContactSpec, ...] = setting((), doc="People who are notified.")
    escalation_chains: dict[str, tuple[str, ...]] = setting(
        default_factory=dict, doc="Alarm id -> contact ids, notified in this order.",
        schema={"type": "object", "additionalProperties": array(string(minLength=1), minItems=1)})
    state_dir: str = setting("./data/alarms", doc="LMDB directory for alarm states, escalations, deliveries and "
                                                  "events.")
    durability: str = setting("batched", enum=("batched", "fsync"), doc="Both survive a crash or kill -9 of "
                              "PETRA: every transition is committed to the OS before it is announced. fsync: each "
                              "group commit is also fsynced before its transitions are announced (a power loss "
                              "loses nothing announced); batched: fsynced every 100 ms (a power loss or OS crash "
                              "may lose the last 100 ms, and on a file system that does not keep write order may "
                              "damage the file, which PETRA then refuses at start).")
    notification_cooldown_seconds: float = setting(
        60.0, unit="s", minimum=0, doc="The same contact is told about the same alarm at most once in this time.")
    when_nobody_eligible: str = setting(
        "notify_all", enum=("notify_all", "last_contact"),
        doc="When every contact of a chain is outside work hours: tell them all anyway, or the last one.")
    max_shelve_seconds: float = setting(86400.0, unit="s", minimum=1, doc="Longest time an alarm may be shelved.")
    event_retention_days: float = setting(90.0, unit="d", minimum=1,
                                          doc="Alarm events (who, when, value) older than this are deleted.")
    stale_after_seconds: float = setting(86400.0, unit="s", minimum=1,
                                         doc="An alarm active longer than this counts as stale (KPI).")
    flood: FloodSettings = setting(default_factory=FloodSettings, doc=FloodSettings.__doc__ or "",
                                   schema_default={})
    chatter: ChatterSettings = setting(default_factory=ChatterSettings, doc=ChatterSettings.__doc__ or "",
                                       schema_default={})
    retry: RetrySettings = setting(default_factory=RetrySettings, doc=RetrySettings.__doc__ or "",
                                   schema_default={})


@dataclass(frozen=True)
class AlarmsConfig:
    """Everything the alarm subsystem needs, resolved from the three sections (`build_config`)."""

    alarms: tuple[AlarmSpec, ...]
    contacts: dict[str, ContactSpec]
    chains: dict[str, tuple[str, ...]]
    state_dir: str
    fsync: bool
    """True: fsync every commit; False: fsync in the background every 100 ms (kill -9 safe either way)."""
    cooldown_s: float
    when_nobody_eligible: str
    max_shelve_s: float
    stale_after_s: float
    event_retention_s: float
    flood_threshold: int
    flood_window_s: float
    flood_summary_interval_s: float
    chatter_activations: int
    chatter_window_s: float
    retry: RetryPolicy
    twilio: TwilioSettings | None
    email: EmailSettings | None

    def alarm(self, alarm_id: str) -> AlarmSpec | None:
        return self._by_id.get(alarm_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, AlarmSpec]:
        # a dict, not a scan: the escalation manager asks for every raise (1,000 alarms: ~100 µs a scan)
        return {spec.id: spec for spec in self.alarms}

    def channels(self) -> list[str]:
        """Notification channels that can be used: sms and voice need twilio, email needs email."""
        found = []
        if self.twilio is not None:
            found += ["sms", "voice"]
        if self.email is not None:
            found.append("email")
        return found


def twilio_settings(section: Mapping[str, Any] | None,
                    environ: Mapping[str, str] | None = None) -> TwilioSettings | None:
    """The `twilio` section; credentials fall back to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""
    if section is None:
        return None
    env = os.environ if environ is None else environ
    settings = parse(TwilioSettings, section)
    return dataclasses.replace(settings, account_sid=settings.account_sid or env.get("TWILIO_ACCOUNT_SID"),
                               auth_token=settings.auth_token or env.get("TWILIO_AUTH_TOKEN"))


def email_settings(section: Mapping[str, Any] | None) -> EmailSettings | None:
    """The `email` section; without a port, implicit TLS means 465."""
    if section is None:
        return None
    if "smtp_port" not in section and section.get("tls"):
        section = {**section, "smtp_port": 465}
    return parse(EmailSettings, section)


def build_config(config: PlantConfig, environ: Mapping[str, str] | None = None) -> AlarmsConfig | None:
    """The alarm subsystem's config, or None when there is no alarms/twilio/email section."""
    sections = config.sections
    if not any(sections.get(key) is not None for key in ("alarms", "twilio", "email")):
        return None
    settings = parse(AlarmsSettings, sections.get("alarms") or {})
    flood, chatter, retry = settings.flood, settings.chatter, settings.retry
    return AlarmsConfig(
        alarms=settings.alarms,
        contacts={c.id: c for c in settings.contacts},
        chains=settings.escalation_chains,
        state_dir=settings.state_dir,
        fsync=settings.durability == "fsync",
        cooldown_s=settings.notification_cooldown_seconds,
        when_nobody_eligible=settings.when_nobody_eligible,
        max_shelve_s=settings.max_shelve_seconds,
        stale_after_s=settings.stale_after_seconds,
        event_retention_s=settings.event_retention_days * 86400.0,
        flood_threshold=flood.threshold,
        flood_window_s=flood.window_seconds,
        flood_summary_interval_s=flood.summary_interval_seconds,
        chatter_activations=chatter.activations,
        chatter_window_s=chatter.window_seconds,
        retry=RetryPolicy.from_seconds(retry.max_attempts, retry.initial_backoff_seconds, retry.max_backoff_seconds),
        twilio=twilio_settings(sections.get("twilio"), environ),
        email=email_settings(sections.get("email")),
    )
