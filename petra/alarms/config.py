"""Typed models of the `alarms`, `twilio` and `email` sections (already schema-validated).

Times are in seconds. `build_config(plant_config)` returns None when none of the
three sections is present.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from petra.alarms.workhours import WorkHours
from petra.config.model import PlantConfig
from supervision import BackoffPolicy

SEVERITIES = ("info", "warning", "critical", "emergency")
DEFAULT_API_BASE = "https://api.twilio.com"
DEFAULT_NOTIFY_BACKOFF = BackoffPolicy(initial=1.0, maximum=60.0, multiplier=2.0, jitter=0.0)
"""`alarms.retry`'s defaults: 1 s doubling to 60 s, no jitter (a stored `retry_at` is what the config says)."""


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm definition (`alarms.alarms[]`)."""

    id: str
    signal: str
    condition: str
    name: str = ""
    setpoint: float | str | None = None
    """A literal limit, or the name of the signal that holds it."""
    max_deviation: float = 0.0
    deadband: float = 0.0
    delay_s: float = 0.0
    clear_delay_s: float = 0.0
    severity: str = "warning"
    message_template: str = ""
    require_ack: bool = False
    auto_reset: bool = True
    repeat_interval_s: float = 0.0
    enabled: bool = True
    suppress_when: str | None = None
    unit: str = ""

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

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    preferred_method: str = "sms"
    priority: int = 1
    escalation_delay_s: float = 300.0
    work_hours_only: bool = False
    work_hours: WorkHours = field(default_factory=WorkHours)

    def eligible(self, now: float) -> bool:
        """May be notified at wall-clock time `now`."""
        return not self.work_hours_only or self.work_hours.contains(now)

    def address(self, method: str) -> str | None:
        return self.email if method == "email" else self.phone


@dataclass(frozen=True)
class RetryPolicy:
    """How often a notifier tries one delivery (`alarms.retry`), and how long it waits between tries."""

    max_attempts: int = 5
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

    name: str
    trigger_signal: str
    action_type: str
    to_number: str
    content: str = ""
    cooldown_s: float = 300.0


@dataclass(frozen=True)
class WebhookSettings:
    host: str
    port: int
    public_url: str


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str | None
    auth_token: str | None
    from_number: str | None
    api_base_url: str = DEFAULT_API_BASE
    status_callback_url: str | None = None
    timeout_s: float = 10.0
    webhook: WebhookSettings | None = None
    actions: tuple[TwilioAction, ...] = ()

    @property
    def status_callback(self) -> str | None:
        if self.status_callback_url:
            return self.status_callback_url
        if self.webhook is not None:
            return self.webhook.public_url.rstrip("/") + "/v1/twilio/status"
        return None


@dataclass(frozen=True)
class EmailSettings:
    smtp_host: str
    smtp_port: int = 587
    username: str | None = None
    password: str | None = None
    from_address: str = "petra@localhost"
    starttls: bool = True
    tls: bool = False
    ca_file: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class AlarmsConfig:
    """Everything the alarm subsystem needs, from the three sections."""

    alarms: tuple[AlarmSpec, ...] = ()
    contacts: dict[str, ContactSpec] = field(default_factory=dict)
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    state_dir: str = "./data/alarms"
    fsync: bool = False
    """True: fsync every commit; False: fsync in the background every 100 ms (kill -9 safe either way)."""
    cooldown_s: float = 60.0
    when_nobody_eligible: str = "notify_all"
    max_shelve_s: float = 86400.0
    stale_after_s: float = 86400.0
    event_retention_s: float = 90 * 86400.0
    flood_threshold: int = 10
    flood_window_s: float = 600.0
    flood_summary_interval_s: float = 30.0
    chatter_activations: int = 3
    chatter_window_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    twilio: TwilioSettings | None = None
    email: EmailSettings | None = None

    def alarm(self, alarm_id: str) -> AlarmSpec | None:
        for spec in self.alarms:
            if spec.id == alarm_id:
                return spec
        return None

    def channels(self) -> list[str]:
        """Notification channels that can be used: sms and voice need twilio, email needs email."""
        found = []
        if self.twilio is not None:
            found += ["sms", "voice"]
        if self.email is not None:
            found.append("email")
        return found


def _alarm(item: Mapping[str, Any]) -> AlarmSpec:
    setpoint = item.get("setpoint")
    return AlarmSpec(
        id=item["id"],
        signal=item["signal"],
        condition=str(item["condition"]),
        name=str(item.get("name") or ""),
        setpoint=float(setpoint) if isinstance(setpoint, int | float) and not isinstance(setpoint, bool) else setpoint,
        max_deviation=float(item.get("max_deviation") or 0.0),
        deadband=float(item.get("deadband") or 0.0),
        delay_s=float(item.get("delay_seconds") or 0.0),
        clear_delay_s=float(item.get("clear_delay_seconds") or 0.0),
        severity=str(item.get("severity") or "warning"),
        message_template=str(item.get("message_template") or ""),
        require_ack=bool(item.get("require_acknowledgment", False)),
        auto_reset=bool(item.get("auto_reset", True)),
        repeat_interval_s=float(item.get("repeat_interval_seconds") or 0.0),
        enabled=bool(item.get("enabled", True)),
        suppress_when=item.get("suppress_when"),
        unit=str(item.get("unit") or ""),
    )


def _contact(item: Mapping[str, Any]) -> ContactSpec:
    hours = item.get("work_hours") or {}
    return ContactSpec(
        id=item["id"],
        name=str(item.get("name") or item["id"]),
        email=item.get("email"),
        phone=item.get("phone"),
        preferred_method=str(item.get("preferred_method") or "sms"),
        priority=int(item.get("priority") or 1),
        escalation_delay_s=float(item.get("escalation_delay_seconds", 300)),
        work_hours_only=bool(item.get("work_hours_only", False)),
        work_hours=WorkHours.from_config(hours),
    )


def twilio_settings(section: Mapping[str, Any] | None,
                    environ: Mapping[str, str] | None = None) -> TwilioSettings | None:
    """The `twilio` section; credentials fall back to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""
    if section is None:
        return None
    env = os.environ if environ is None else environ
    hook = section.get("webhook")
    webhook = None
    if isinstance(hook, Mapping):
        webhook = WebhookSettings(str(hook.get("host") or "127.0.0.1"), int(hook["port"]), str(hook["public_url"]))
    actions = tuple(
        TwilioAction(name=a["name"], trigger_signal=a["trigger_signal"], action_type=a["action_type"],
                     to_number=a["to_number"], content=str(a.get("content") or ""),
                     cooldown_s=float(a.get("cooldown_seconds", 300)))
        for a in section.get("actions") or []
    )
    return TwilioSettings(
        account_sid=section.get("account_sid") or env.get("TWILIO_ACCOUNT_SID"),
        auth_token=section.get("auth_token") or env.get("TWILIO_AUTH_TOKEN"),
        from_number=section.get("from_number"),
        api_base_url=str(section.get("api_base_url") or DEFAULT_API_BASE),
        status_callback_url=section.get("status_callback_url"),
        timeout_s=float(section.get("timeout_seconds") or 10.0),
        webhook=webhook,
        actions=actions,
    )


def email_settings(section: Mapping[str, Any] | None) -> EmailSettings | None:
    if section is None:
        return None
    tls = bool(section.get("tls", False))
    return EmailSettings(
        smtp_host=str(section["smtp_host"]),
        smtp_port=int(section.get("smtp_port") or (465 if tls else 587)),
        username=section.get("username"),
        password=section.get("password"),
        from_address=str(section.get("from_address") or "petra@localhost"),
        starttls=bool(section.get("starttls", True)),
        tls=tls,
        ca_file=section.get("ca_file"),
        timeout_s=float(section.get("timeout_seconds") or 10.0),
    )


def build_config(config: PlantConfig, environ: Mapping[str, str] | None = None) -> AlarmsConfig | None:
    """The alarm subsystem's config, or None when there is no alarms/twilio/email section."""
    sections = config.sections
    if not any(sections.get(key) is not None for key in ("alarms", "twilio", "email")):
        return None
    section = sections.get("alarms") or {}
    flood = section.get("flood") or {}
    chatter = section.get("chatter") or {}
    retry = section.get("retry") or {}
    contacts = {c.id: c for c in (_contact(item) for item in section.get("contacts") or [])}
    return AlarmsConfig(
        alarms=tuple(_alarm(item) for item in section.get("alarms") or []),
        contacts=contacts,
        chains={k: tuple(v) for k, v in (section.get("escalation_chains") or {}).items()},
        state_dir=str(section.get("state_dir") or "./data/alarms"),
        fsync=section.get("durability", "batched") == "fsync",
        cooldown_s=float(section.get("notification_cooldown_seconds", 60)),
        when_nobody_eligible=str(section.get("when_nobody_eligible") or "notify_all"),
        max_shelve_s=float(section.get("max_shelve_seconds", 86400)),
        stale_after_s=float(section.get("stale_after_seconds", 86400)),
        event_retention_s=float(section.get("event_retention_days", 90)) * 86400.0,
        flood_threshold=int(flood.get("threshold", 10)),
        flood_window_s=float(flood.get("window_seconds", 600)),
        flood_summary_interval_s=float(flood.get("summary_interval_seconds", 30)),
        chatter_activations=int(chatter.get("activations", 3)),
        chatter_window_s=float(chatter.get("window_seconds", 60)),
        retry=RetryPolicy.from_seconds(int(retry.get("max_attempts", 5)),
                                       float(retry.get("initial_backoff_seconds", 1.0)),
                                       float(retry.get("max_backoff_seconds", 60.0))),
        twilio=twilio_settings(sections.get("twilio"), environ),
        email=email_settings(sections.get("email")),
    )
