"""The `escalations` actor: walks every alarm's chain, applies cool-downs, consolidates floods.

Escalations are one per alarm that needs attention (`escalation:<id>` in the
alarm list and the store), walked here in one actor rather than one actor each,
because cool-downs and flood consolidation need the view across all alarms. Each
walk is the pure `Escalation`; its progress and the deliveries it requests are
written in one LMDB transaction before the notifier is told, so after a kill -9
the walk resumes where it was and a requested notification is sent exactly once
(the notifiers re-send what is still in the outbox when they start). A resumed
walk waits until its alarm has announced that it still needs attention: the
alarm may have been acknowledged while nobody was listening. For the same
reason a restarted escalation manager asks every running alarm to announce
itself again.

During a flood (more than `flood.threshold` alarms raised within
`flood.window_seconds`) notifications are not sent one per alarm: they are
collected per contact and channel and sent as one summary every
`flood.summary_interval_seconds`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from petra.alarms.escalation import Escalation, Notify, Skip
from petra.alarms.flood import FloodDetector, is_raise
from petra.alarms.messages import AlarmChanged, AlarmsChanged, Announce, Deliver, Wake
from petra.alarms.service import ALARM_GROUP, CHANNEL_OF_METHOD, AlarmService
from petra.alarms.twiml import alarm_call
from petra.signal_io import SignalWriter
from supervision import SupervisedActor

log = logging.getLogger(__name__)

SUMMARY_KEY = "__flood_summary__"
SMS_LIMIT = 1500


class EscalationActor(SupervisedActor):
    def __init__(self, service: AlarmService) -> None:
        super().__init__()
        self.service = service
        self.clock = service.plant.time
        """Escalation steps, cool-downs and flood windows are timed on the plant's clock."""
        config = service.config
        self.flood = FloodDetector(config.flood_threshold, config.flood_window_s)
        self.walks: dict[str, dict[str, Any]] = {}  # alarm -> {"walk": Escalation, "message", "severity", "code"}
        self.cooldowns: dict[str, float] = {}
        self.summary: dict[str, list[dict[str, Any]]] = {}  # "contact|channel" -> items
        self.summary_due: float | None = None
        self.attention: set[str] = set()
        self.active: set[str] = set()
        self._wake_at: float | None = None
        self.writer: SignalWriter | None = None
        self._published: tuple[Any, ...] | None = None
        self._summary_dirty = False
        self._dirty_cooldowns: set[str] = set()

    def on_start(self) -> None:
        service = self.service
        service.attach(self.registry, self.path)
        self.writer = SignalWriter(service.plant, self.registry, "escalations")
        self.cooldowns = {k: float(v) for k, v in service.store.items("cooldowns").items()}
        for alarm, record in service.store.items("escalations").items():
            if alarm == SUMMARY_KEY:
                self.summary = record.get("items") or {}
                self.summary_due = record.get("due")
                continue
            if service.config.alarm(alarm) is None:
                continue
            record["walk"] = Escalation.from_dict(record["walk"])
            self.walks[alarm] = record
        self._restore_flood(self.clock.time())
        for alarm_id, view in service.views.items():
            if view.get("acked") is False and view.get("state") not in ("shelved", "suppressed", "out_of_service"):
                self.attention.add(alarm_id)
            if view.get("active"):
                self.active.add(alarm_id)
        if self.walks:
            log.info("resuming %d escalation(s): %s", len(self.walks), ", ".join(sorted(self.walks)))
        self._publish_signals()
        self._run(self.clock.time())
        for alarm_id in list(service.views):
            service.tell(f"{ALARM_GROUP}/alarm:{alarm_id}", Announce(self.actor_ref))

    def _restore_flood(self, now: float) -> None:
        """The flood window is rebuilt from the raises in the event log: a restart must not end a flood."""
        raised = self.service.store.events(since=now - self.flood.window_s, limit=self.flood.threshold + 1,
                                           newest_first=True, where=is_raise)
        self.flood.restore([e["time"] for e in raised], now)
        self.service.flood_active = self.flood.active

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, AlarmsChanged):
            self._changed(*message.changes)
        elif isinstance(message, AlarmChanged):
            self._changed(message)
        elif isinstance(message, Wake):
            self._wake_at = None
            self._run(self.clock.time())
        elif message == "walks":
            return {k: {**v, "walk": v["walk"].to_dict()} for k, v in self.walks.items()}
        else:
            return super().on_receive(message)
        return None

    # -- alarm changes ----------------------------------------------------------------------------

    def _changed(self, *changes: AlarmChanged) -> None:
        """Alarms' changes in commit order (one group commit's, or one alarm's announcement).

        Each is handled as if it came alone (its walk is started and run before the
        next change is looked at, so a flood that the next raise starts does not
        swallow the notification of this one); the state signals are published once.
        """
        for msg in changes:
            events: list[dict[str, Any]] = []
            updates: dict[str, Any] = {}
            stopped: list[tuple[str, int, str]] = []
            self._apply(msg, events, updates, stopped)
            if updates or events:
                self.service.store.write(escalations=updates, events=events)
            self._run(msg.time)
            for alarm, notified, state in stopped:  # logged last: what the change set off has been requested by now
                log.info("escalation %s stopped after %d notification(s): %s", alarm, notified, state)
        self._publish_signals()

    def _apply(self, msg: AlarmChanged, events: list[dict[str, Any]], updates: dict[str, Any],
               stopped: list[tuple[str, int, str]]) -> None:
        now = msg.time
        (self.attention.add if msg.needs_attention else self.attention.discard)(msg.alarm)
        (self.active.add if msg.active else self.active.discard)(msg.alarm)
        if msg.raised:
            flood = self.flood.record(now)
            if flood == "started":
                events.append(self._flood_event("flood_started", now))
        record = self.walks.get(msg.alarm)
        if not msg.needs_attention and record is not None:
            stopped.append((msg.alarm, record["walk"].notified, msg.state))
            del self.walks[msg.alarm]
            updates[msg.alarm] = None
            events.append({"alarm": msg.alarm, "event": "escalation_stopped", "time": now, "who": "",
                           "details": {"after": record["walk"].notified, "because": msg.state}})
        elif msg.needs_attention and record is None:
            spec = self.service.config.alarm(msg.alarm)
            chain = self.service.config.chains.get(msg.alarm, ())
            if spec is not None and chain:
                walk = Escalation.start(msg.alarm, chain, now, spec.repeat_interval_s)
                self.walks[msg.alarm] = {"walk": walk, "message": msg.message, "severity": msg.severity,
                                         "code": msg.code}
                events.append({"alarm": msg.alarm, "event": "escalation_started", "time": now, "who": "",
                               "details": {"chain": list(chain)}})
        elif record is not None and msg.raised:
            record.update(message=msg.message, code=msg.code)  # the rest of the walk tells of the new occurrence
            updates[msg.alarm] = {**record, "walk": record["walk"].to_dict()}

    def _flood_event(self, event: str, now: float) -> dict[str, Any]:
        self.service.flood_active = self.flood.active
        if event == "flood_started":
            self.service.metrics.floods.inc()
            log.warning("alarm flood: more than %d alarms within %g s; notifications are consolidated",
                        self.flood.threshold, self.flood.window_s)
        else:
            log.info("alarm flood over")
        return {"alarm": "", "event": event, "time": now, "who": "",
                "details": {"raised_in_window": len(self.flood.raised)}}

    # -- walking ----------------------------------------------------------------------------------

    def _run(self, now: float) -> None:
        """Advance every walk that is due, send or consolidate what it asks for, persist, reschedule."""
        service = self.service
        config = service.config
        events: list[dict[str, Any]] = []
        if self.flood.check(now) == "ended":
            events.append(self._flood_event("flood_ended", now))
            self.summary_due = now  # send what was collected right away
        deliveries: list[dict[str, Any]] = []
        changed: dict[str, Any] = {}
        for alarm, record in list(self.walks.items()):
            walk: Escalation = record["walk"]
            if walk.next_at is None or walk.next_at > now or alarm not in self.attention:
                continue
            for action in walk.advance(now, config.contacts, config.when_nobody_eligible):
                if isinstance(action, Skip):
                    service.metrics.skipped.labels("outside_work_hours" if "work hours" in action.reason
                                                   else "unknown_contact").inc()
                    log.info("escalation %s: skipped %s (%s)", alarm, action.contact, action.reason)
                    events.append({"alarm": alarm, "event": "contact_skipped", "time": now, "who": action.contact,
                                   "details": {"reason": action.reason, "round": action.round}})
                    continue
                deliveries.extend(self._notify(alarm, record, action, now, events))
            changed[alarm] = {**record, "walk": walk.to_dict()}
        if self.summary and self.summary_due is not None and now >= self.summary_due:
            deliveries.extend(self._summaries(now, events))
        if self._summary_dirty:
            changed[SUMMARY_KEY] = {"items": self.summary, "due": self.summary_due} if self.summary else None
            self._summary_dirty = False
        if changed or deliveries or events:
            service.store.write(
                escalations=changed,
                events=events,
                deliveries={d["id"]: d for d in deliveries},
                outbox={d["id"]: d["channel"] for d in deliveries},
                cooldowns={k: self.cooldowns[k] for k in self._dirty_cooldowns},
            )
            self._dirty_cooldowns.clear()
        for delivery in deliveries:
            service.metrics.requests.labels(delivery["channel"]).inc()
            if not service.tell(f"notify:{delivery['channel']}", Deliver(delivery)):
                log.warning("notify:%s is not running; delivery %s waits in the outbox", delivery["channel"],
                            delivery["id"])
        self._schedule()

    def _channel(self, contact_id: str, method: str) -> tuple[str, str] | None:
        """(channel, address) for a contact: its preferred method, else any configured one it has."""
        contact = self.service.config.contacts.get(contact_id)
        if contact is None:
            return None
        channels = self.service.config.channels()
        for m in (method, "sms", "call", "email"):
            channel = CHANNEL_OF_METHOD[m]
            address = contact.address(m)
            if channel in channels and address:
                return channel, address
        return None

    def _notify(self, alarm: str, record: dict[str, Any], action: Notify, now: float,
                events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        service = self.service
        key = f"{alarm}|{action.contact}"
        last = self.cooldowns.get(key)
        if last is not None and now - last < service.config.cooldown_s:
            service.metrics.suppressed.labels("cooldown").inc()
            events.append({"alarm": alarm, "event": "notification_suppressed", "time": now, "who": action.contact,
                           "details": {"reason": "cooldown", "last": last}})
            return []
        target = self._channel(action.contact, action.method)
        if target is None:
            service.metrics.skipped.labels("no_channel").inc()
            events.append({"alarm": alarm, "event": "contact_skipped", "time": now, "who": action.contact,
                           "details": {"reason": f"no configured channel for {action.method}"}})
            log.warning("escalation %s: cannot reach %s by %s (channel not configured or no address)", alarm,
                        action.contact, action.method)
            return []
        channel, address = target
        self.cooldowns[key] = now
        self._dirty_cooldowns.add(key)
        if self.flood.active:
            self._summary_dirty = True
            service.metrics.suppressed.labels("consolidated").inc()
            items = self.summary.setdefault(f"{action.contact}|{channel}|{address}", [])
            items.append({"alarm": alarm, "message": record["message"], "severity": record["severity"],
                          "code": record["code"]})
            if self.summary_due is None:
                self.summary_due = now + service.config.flood_summary_interval_s
            events.append({"alarm": alarm, "event": "notification_consolidated", "time": now,
                           "who": action.contact, "details": {"channel": channel}})
            return []
        text = record["message"]
        if record.get("code") and channel == "sms":
            text += f" Reply ACK {record['code']} to acknowledge."
        elif channel == "email":
            text += f"\n\nAcknowledge: petra-ctl alarms ack {alarm}" + (
                f", or reply to an alarm SMS with ACK {record['code']}" if record.get("code") else "")
        delivery = self._delivery(channel, address, text, now, alarm=alarm, contact=action.contact,
                                  kind="alarm", round=action.round, step=action.step, reason=action.reason)
        events.append({"alarm": alarm, "event": "notification_requested", "time": now, "who": action.contact,
                       "details": {"channel": channel, "delivery": delivery["id"], "round": action.round,
                                   **({"policy": action.reason} if action.reason else {})}})
        return [delivery]

    def _delivery(self, channel: str, address: str, text: str, now: float, **extra: Any) -> dict[str, Any]:
        delivery: dict[str, Any] = {"id": uuid.uuid4().hex[:16], "channel": channel, "to": address, "body": text,
                                    "created": now, "attempts": 0, "status": "pending", **extra}
        if channel == "voice":
            hook = self.service.config.twilio.webhook if self.service.config.twilio else None
            action = None
            if hook is not None and extra.get("alarm"):
                action = f"{hook.public_url.rstrip('/')}/v1/twilio/voice?alarm={extra['alarm']}"
            delivery["twiml"] = alarm_call(text, action)
        if channel == "email":
            delivery["subject"] = "[PETRA] " + " ".join(text.split())[:80]
        return delivery

    def _summaries(self, now: float, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        deliveries = []
        for key, items in self.summary.items():
            contact, channel, address = key.split("|", 2)
            lines = [f"- {i['alarm']} [{i['severity']}] {i['message']}" + (f" (ACK {i['code']})" if i["code"] else "")
                     for i in items]
            head = f"PETRA alarm flood: {len(items)} alarm notification(s) consolidated."
            text = head + "\n" + "\n".join(lines)
            if channel == "sms" and len(text) > SMS_LIMIT:
                text = text[: SMS_LIMIT - 20] + "\n... (see alarm list)"
            if channel == "voice":
                text = f"{head} Check the alarm list. Alarms: {', '.join(i['alarm'] for i in items[:10])}."
            delivery = self._delivery(channel, address, text, now, contact=contact, kind="summary",
                                      alarms=[i["alarm"] for i in items])
            deliveries.append(delivery)
            self.service.metrics.summaries.inc()
            events.append({"alarm": "", "event": "flood_summary_requested", "time": now, "who": contact,
                           "details": {"channel": channel, "alarms": len(items), "delivery": delivery["id"]}})
        self.summary = {}
        self.summary_due = None
        self._summary_dirty = True
        return deliveries

    def _schedule(self) -> None:
        times = [r["walk"].next_at for alarm, r in self.walks.items()
                 if r["walk"].next_at is not None and alarm in self.attention]
        if self.summary_due is not None:
            times.append(self.summary_due)
        ends = self.flood.ends_at()
        if ends is not None:
            times.append(ends)
        if not times:
            return
        when = min(times)
        if self._wake_at is not None and self._wake_at <= when and self._wake_at > self.clock.time() - 1:
            return
        self._wake_at = when
        self.service.scheduler.tell_at(when, self.actor_ref, Wake())

    def _publish_signals(self) -> None:
        current = (self.flood.active, len(self.active), len(self.attention))
        if current == self._published or self.writer is None or "alarms.flood" not in self.service.plant.table.index:
            return
        self._published = current
        self.writer.write_values({"alarms.flood": current[0], "alarms.active_count": current[1],
                                  "alarms.unacked_count": current[2]})
