"""Alarms and notifications: ISA-18.2 alarm states, escalation, Twilio SMS/voice, e-mail.

```
alarms (one_for_one)
├── notify:sms, notify:voice   Twilio (when a `twilio` section exists)
├── notify:email               SMTP (when an `email` section exists)
├── escalations                walks every alarm's chain (escalation:<id>), cool-downs, flood summaries
├── states (one_for_one)       sub-supervisor with liveness probes every 10 s, not every 1 s: probing
│   └── alarm:<id> ...         1,000 actors each second cost ~50 ms of pool time and showed up as p99 latency;
│                              one pooled actor per alarm (pool "alarms": 2 threads for all of them)
├── alarm-router               the ChangeBus subscription -> Evaluate to the alarm actors; control API routes
├── webhooks:twilio            inbound SMS replies, key presses, status callbacks (when twilio.webhook is set)
└── twilio-actions             signal-triggered SMS/calls (when twilio.actions is not empty)
```

Pure logic: `states` (the state machine), `escalation` (the walk), `workhours`,
`flood` (flood detection and KPIs). Durable state: `store` (LMDB under
`alarms.state_dir`). Children start in this order so that every actor's
receivers are up before it sends: notifiers, then escalations, then the alarms,
then the router that feeds them.
"""

from __future__ import annotations

from petra.alarms.config import AlarmsConfig, build_config
from petra.plant import Plant
from supervision import ChildSpec, Strategy, Supervisor, SupervisorSpec

__all__ = ["AlarmsConfig", "build_config", "child_specs"]


def child_specs(plant: Plant) -> list[ChildSpec]:
    """The alarm subsystem's actors for `plant`; [] without an alarms, twilio or email section."""
    config = build_config(plant.config)
    if config is None:
        return []
    from petra.alarms.actions import ActionsActor
    from petra.alarms.alarm_actor import AlarmActor, AlarmRouter
    from petra.alarms.escalation_actor import EscalationActor
    from petra.alarms.notify.actor import NotifierActor
    from petra.alarms.service import ALARM_GROUP, AlarmService
    from petra.alarms.webhooks import WebhookActor

    service = AlarmService.for_plant(plant, config)
    specs = [ChildSpec(f"notify:{channel}", NotifierActor, kwargs={"service": service, "channel": channel})
             for channel in config.channels()]
    specs.append(ChildSpec("escalations", EscalationActor, kwargs={"service": service}))
    alarm_specs = [ChildSpec(f"alarm:{spec.id}", AlarmActor, kwargs={"service": service, "spec": spec})
                   for spec in config.alarms]
    if alarm_specs:
        states = SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=50, period=60.0,
                                children=tuple(alarm_specs), probe_interval=10.0, probe_timeout=10.0)
        specs.append(ChildSpec(ALARM_GROUP, Supervisor, kwargs={"spec": states}, shutdown_timeout=30.0))
    specs.append(ChildSpec("alarm-router", AlarmRouter, kwargs={"service": service}))
    if config.twilio is not None and config.twilio.webhook is not None:
        specs.append(ChildSpec("webhooks:twilio", WebhookActor, kwargs={"service": service}))
    if config.twilio is not None and config.twilio.actions:
        specs.append(ChildSpec("twilio-actions", ActionsActor, kwargs={"service": service}))
    return specs
