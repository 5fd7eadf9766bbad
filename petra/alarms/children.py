"""The alarm section's actors, in start order: notifiers, escalations, the alarms, the router."""

from __future__ import annotations

from petra.alarms.config import build_config
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec, Strategy, Supervisor, SupervisorSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """The alarm subsystem's actors for `plant`; [] without an alarms, twilio or email section."""
    config = build_config(plant.config)
    if config is None:
        return []
    from petra.alarms.actions_actor import ActionsActor
    from petra.alarms.alarm_actor import AlarmActor
    from petra.alarms.escalation_actor import EscalationActor
    from petra.alarms.notify.actor import NotifierActor
    from petra.alarms.router_actor import AlarmRouter
    from petra.alarms.service import ALARM_GROUP, AlarmService
    from petra.alarms.webhook_actor import WebhookActor

    service = AlarmService.kept(plant, wiring, config)
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
