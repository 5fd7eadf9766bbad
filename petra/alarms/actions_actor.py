"""Signal-triggered Twilio actions (`twilio.actions`), independent of alarms (`twilio-actions`).

An action fires on the rising edge of its `trigger_signal` (false -> true; for a
numeric or text signal: from falsy to truthy) and then not again within its
`cooldown_seconds`. It is sent through the same `notify:sms` / `notify:voice`
actors as alarm notifications, so it is retried and tracked the same way. The
time it last fired is stored with the delivery (`cooldowns`, key
``action:<name>``), so a restart does not end a cool-down early.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from petra.alarms.config import TwilioAction
from petra.alarms.messages import Deliver, Evaluate
from petra.alarms.service import AlarmService
from petra.alarms.twiml import from_content
from petra.messages import SignalsChanged
from supervision import SupervisedActor

log = logging.getLogger(__name__)

COOLDOWN_PREFIX = "action:"


def action_record(action: TwilioAction, now: float, value: Any = None) -> dict[str, Any]:
    """The delivery record of one firing of `action`."""
    channel = "sms" if action.action_type == "sms" else "voice"
    body = action.content or f"PETRA: {action.trigger_signal} is {value}"
    record: dict[str, Any] = {"id": uuid.uuid4().hex[:16], "channel": channel, "to": action.to_number,
                              "body": body, "created": now, "attempts": 0, "status": "pending", "kind": "action",
                              "action": action.name}
    if channel == "voice":
        record["twiml"] = from_content(action.content)
    return record


class ActionsActor(SupervisedActor):
    def __init__(self, service: AlarmService) -> None:
        super().__init__()
        self.service = service
        settings = service.config.twilio
        self.actions = settings.actions if settings is not None else ()
        self.by_signal: dict[str, list[TwilioAction]] = {}
        for action in self.actions:
            self.by_signal.setdefault(action.trigger_signal, []).append(action)
        self.last_value: dict[str, bool] = {}
        self.last_fired: dict[str, float] = {}
        self._subscriber: Any = None

    def on_start(self) -> None:
        self.service.attach(self.registry, self.path)
        self.last_fired = {key.removeprefix(COOLDOWN_PREFIX): float(at)
                           for key, at in self.service.store.items("cooldowns").items()
                           if key.startswith(COOLDOWN_PREFIX)}
        table = self.service.plant.table
        for name in self.by_signal:
            slot = table.index.get(name)
            self.last_value[name] = bool(table.values[slot]) if slot is not None else False
        self._subscriber = self.service.plant.bus.subscribe(self._on_change)

    def _after_exit(self) -> None:
        if self._subscriber is not None:
            self.service.plant.bus.unsubscribe(self._subscriber)
            self._subscriber = None

    def _on_change(self, event: SignalsChanged) -> None:
        for change in event.changes:
            if change.name in self.by_signal:
                self.actor_ref.tell((change.name, change.value, Evaluate(change.timestamp)))

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple) and len(message) == 3 and isinstance(message[2], Evaluate):
            self._changed(message[0], message[1])
            return None
        return super().on_receive(message)

    def _changed(self, name: str, value: Any) -> None:
        now = self.service.plant.time.time()
        was, self.last_value[name] = self.last_value.get(name, False), bool(value)
        if was or not value:
            return
        for action in self.by_signal[name]:
            last = self.last_fired.get(action.name)
            if last is not None and now - last < action.cooldown_s:
                self.service.metrics.suppressed.labels("action_cooldown").inc()
                log.info("twilio action %s: %s rose again within its cool-down; not sent", action.name, name)
                continue
            self.last_fired[action.name] = now
            record = action_record(action, now, value)
            self.service.store.write(deliveries={record["id"]: record}, outbox={record["id"]: record["channel"]},
                                     cooldowns={COOLDOWN_PREFIX + action.name: now})
            self.service.metrics.requests.labels(record["channel"]).inc()
            log.info("twilio action %s fired by %s=%r: %s to %s", action.name, name, value, action.action_type,
                     action.to_number)
            self.service.tell(f"notify:{record['channel']}", Deliver(record))
