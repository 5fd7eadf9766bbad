"""Alarms and notifications: ISA-18.2 alarm states, escalation, Twilio SMS/voice, e-mail.

```
alarms (one_for_one)
├── notify:sms, notify:voice   Twilio (when a `twilio` section exists)
├── notify:email               SMTP (when an `email` section exists)
├── escalations                walks every alarm's chain (escalation:<id>), cool-downs, flood summaries
├── states (one_for_one)       sub-supervisor with liveness probes every 10 s, not every 1 s: probing
│   └── alarm:<id> ...         1,000 actors each second cost ~50 ms of pool time and showed up as p99 latency;
│                              one pooled actor per alarm (pool "alarms": 2 threads for all of them)
├── alarm-router               the ChangeBus subscription -> Evaluate to the alarm actors
├── webhooks:twilio            inbound SMS replies, key presses, status callbacks (when twilio.webhook is set)
└── twilio-actions             signal-triggered SMS/calls (when twilio.actions is not empty)
```

Pure logic: `states` (the state machine), `escalation` (the walk), `workhours`,
`flood` (flood detection and KPIs). Durable state: `store` (LMDB under
`alarms.state_dir`). Children start in this order so that every actor's
receivers are up before it sends: notifiers, then escalations, then the alarms,
then the router that feeds them. `children.py` builds that list; `checks.py`
declares the signals alarms write and read and checks ids and chains;
`commands.py` is `petra twilio ...` and `petra notify test`, `ctl.py` is
`petra-ctl alarms ...` and `ack`. Importing this package loads none of it:
`SECTION` names it.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="alarms",
    supervisor="alarms",
    schemas=(
        ("alarms", "petra.alarms.schema:alarms_schema"),
        ("twilio", "petra.alarms.schema:twilio_schema"),
        ("email", "petra.alarms.schema:email_schema"),
    ),
    child_specs="petra.alarms.children:child_specs",
    model="petra.alarms.config:AlarmsSettings",
    routes="petra.alarms.api:routes",
    declares="petra.alarms.checks:declare",
    checks="petra.alarms.checks:check",
    commands="petra.alarms.commands:register",
    ctl="petra.alarms.ctl:register",
    reads=("security.allowed_cipher_suites", "security.require_tls"),  # SMTP/Twilio TLS, the webhook's refusal
)
