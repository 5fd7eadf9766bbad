"""`notify:<channel>` actors (sms, voice, email): send, retry with back-off, record the outcome.

Each has its own thread because sending blocks on the network. A transient
failure (network, HTTP 5xx/429, SMTP 4xx) is retried after an exponentially
growing delay (`alarms.retry`) scheduled on the timer thread, so the actor never
sleeps; a permanent one (bad number, login refused) fails at once. Every outcome
is written to the delivery record and counted. Deliveries still in the outbox
when the actor starts (PETRA was killed before they were sent) are sent then,
or at their stored `retry_at` when they were waiting out a back-off.
"""

from __future__ import annotations

import logging
from typing import Any

from petra.alarms.messages import Deliver
from petra.alarms.notify.base import Backend, DeliveryError
from petra.alarms.service import AlarmService
from petra.security.tls import configured_suites
from supervision import SupervisedActor

log = logging.getLogger(__name__)


def backend_for(channel: str, service: AlarmService) -> Backend:
    config = service.config
    if channel in ("sms", "voice"):
        from petra.alarms.notify.twilio_backend import TwilioBackend

        assert config.twilio is not None
        return TwilioBackend(config.twilio, channel, configured_suites(service.plant.config))
    from petra.alarms.notify.smtp_backend import EmailBackend

    assert config.email is not None
    return EmailBackend(config.email, configured_suites(service.plant.config))


class NotifierActor(SupervisedActor):
    def __init__(self, service: AlarmService, channel: str, backend: Backend | None = None) -> None:
        super().__init__()
        self.service = service
        self.channel = channel
        self.clock = service.plant.time
        """Retry back-offs and delivery times are on the plant's clock."""
        self.backend = backend or backend_for(channel, service)

    def on_start(self) -> None:
        self.service.attach(self.registry, self.path)
        store = self.service.store
        waiting = [d for d, channel in store.items("outbox").items() if channel == self.channel]
        now = self.clock.time()
        for delivery_id in waiting:
            record = store.get("deliveries", delivery_id)
            if record is None or record.get("status") not in ("pending", "retrying", "sending"):
                continue
            retry_at = record.get("retry_at") if record["status"] == "retrying" else None
            if retry_at is not None and retry_at > now:
                log.info("notify:%s: delivery %s left in the outbox is retried at its back-off's end, in %.1f s",
                         self.channel, delivery_id, retry_at - now)
                self.service.scheduler.tell_at(retry_at, self.actor_ref, Deliver(record))
                continue
            log.info("notify:%s: sending delivery %s left in the outbox", self.channel, delivery_id)
            self.actor_ref.tell(Deliver(record))

    def release(self) -> None:
        self.backend.close()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Deliver):
            self._deliver(dict(message.record))
            return None
        return super().on_receive(message)

    def _deliver(self, record: dict[str, Any]) -> None:
        service = self.service
        metrics = service.metrics
        current = service.store.get("deliveries", record["id"])
        if current is not None and current.get("status") not in ("pending", "retrying", "sending"):
            return  # already sent (e.g. a retry raced a restart's outbox scan)
        record["attempts"] = int(record.get("attempts", 0)) + 1
        now = self.clock.time()
        try:
            result = self.backend.send(record)
        except DeliveryError as exc:
            self._failed(record, exc, now)
            return
        except Exception as exc:  # a record the back-end cannot even build must not crash-loop the actor
            log.exception("notify:%s: delivery %s failed unexpectedly", self.channel, record["id"])
            self._failed(record, DeliveryError(f"unexpected {type(exc).__name__}: {exc}", transient=False), now)
            return
        record.update(status=result.status, sid=result.sid, sent_at=self.clock.time(), error=None)
        events = []
        if record.get("alarm"):
            events.append({"alarm": record["alarm"], "event": "notification_sent", "time": record["sent_at"],
                           "who": record.get("contact", ""),
                           "details": {"channel": self.channel, "delivery": record["id"], "sid": result.sid,
                                       "attempts": record["attempts"]}})
        service.store.write(deliveries={record["id"]: record}, sids={result.sid: record["id"]},
                            outbox={record["id"]: None}, events=events)
        metrics.sent.labels(self.channel).inc()
        log.info("notify:%s: %s sent to %s (sid %s, attempt %d)", self.channel, record.get("kind", "message"),
                 record["to"], result.sid, record["attempts"])

    def _failed(self, record: dict[str, Any], exc: DeliveryError, now: float) -> None:
        service = self.service
        policy = service.config.retry
        record["error"] = str(exc)
        record.setdefault("errors", []).append({"time": now, "error": str(exc), "transient": exc.transient})
        if exc.transient and record["attempts"] < policy.max_attempts:
            delay = policy.delay(record["attempts"])
            record["status"] = "retrying"
            record["retry_at"] = now + delay
            service.store.write(deliveries={record["id"]: record})
            service.metrics.retries.labels(self.channel).inc()
            log.warning("notify:%s: attempt %d to %s failed (%s); retrying in %.1f s", self.channel,
                        record["attempts"], record["to"], exc, delay)
            service.redeliver(self.channel, record, delay)
            return
        record["status"] = "failed"
        events = []
        if record.get("alarm"):
            events.append({"alarm": record["alarm"], "event": "notification_failed", "time": now,
                           "who": record.get("contact", ""),
                           "details": {"channel": self.channel, "delivery": record["id"], "error": str(exc),
                                       "attempts": record["attempts"]}})
        service.store.write(deliveries={record["id"]: record}, outbox={record["id"]: None}, events=events)
        service.metrics.failed.labels(self.channel).inc()
        log.error("notify:%s: giving up on %s to %s after %d attempt(s): %s", self.channel,
                  record.get("kind", "message"), record["to"], record["attempts"], exc)
