"""What the alarm subsystem's actors of one plant share: config, store, timers, metrics, live views.

One `AlarmService` per plant (kept in the wiring's alarm state, so a reload
that rebuilds the child specs reuses it). It is plain data plus thread-safe helpers; all state
changes happen in the actors. The control API and the webhooks reach the
actors through `command()` (an ask to `alarm:<id>`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

from petra.alarms.config import AlarmsConfig
from petra.alarms.messages import AlarmChanged, AlarmsChanged, Command, Deliver, Evaluate
from petra.alarms.metrics import AlarmMetrics
from petra.alarms.scheduler import Scheduler
from petra.alarms.states import CommandRefused, Transition
from petra.alarms.store import AlarmStore, open_store
from petra.messages import SignalUpdate
from petra.paths import section_group
from petra.plant import Plant
from petra.signal_io import SignalWriter
from petra.wiring import Audit, Wiring, no_audit
from supervision import Registry

log = logging.getLogger(__name__)

PARENT = section_group("alarms")
ALARM_GROUP = "states"
"""The sub-supervisor of the alarm actors: petra/alarms/states/alarm:<id>."""
ASK_TIMEOUT_S = 5.0
CHANNEL_OF_METHOD = {"sms": "sms", "call": "voice", "email": "email"}
STATE_KEY = "alarms"
"""Where the service is kept in `Wiring.state` (the section's name)."""


class UnknownAlarm(KeyError):
    pass


CODE_BLOCK = 1000
"""Short codes reserved per store transaction (see `next_code`)."""

class AlarmService:
    """Shared by the actors of one plant's alarm subsystem."""

    def __init__(self, plant: Plant, config: AlarmsConfig, audit: Audit = no_audit) -> None:
        self.plant = plant
        self.config = config
        self._audit = audit
        self.store: AlarmStore = open_store(config.state_dir, config.fsync)
        self.scheduler = Scheduler(time_source=plant.time)
        self.views: dict[str, dict[str, Any]] = {}
        # alarm id -> alarm_actor.Gate: lets the router drop changes that cannot move an alarm
        self.gates: dict[str, Any] = {}
        self.evaluators: dict[str, Callable[[Evaluate], None]] = {}
        """alarm id -> its running actor's `evaluate` (`AlarmActor.evaluate`): a driver's change evaluated in
        the driver's thread while the alarm is idle."""
        self.flood_active = False
        self.metrics = AlarmMetrics(plant.metrics.registry, lambda: self.views, lambda: self.flood_active)
        self.registry: Registry | None = None
        self.parent = PARENT
        self.transition_listeners: list[Callable[[Transition], None]] = []
        """Called in the alarm actor after each durable transition (tests, benchmarks)."""
        self.boot_stamps = list(plant.table.timestamps)
        """Signal timestamps as the table was built: a signal still at its stamp holds its initial value."""
        self._codes: list[str] = []
        self._codes_lock = threading.Lock()
        # What the transitions of one group commit announce, sent by `flush` once the group is announced.
        # Only the thread committing a group touches them (the store announces one group at a time).
        self._signal_updates: list[SignalUpdate] = []
        self._changes: list[AlarmChanged] = []
        self._counted: dict[str, Any] = {}  # event -> its transitions counter (labels() costs a lock and a lookup)

    @classmethod
    def kept(cls, plant: Plant, wiring: Wiring, config: AlarmsConfig) -> AlarmService:
        """The plant's service with `config`: the one `wiring` keeps, or a new one for a new state_dir."""
        state = wiring.section_state(STATE_KEY)
        service = state.get("service")
        if not isinstance(service, AlarmService) or service.config.state_dir != config.state_dir:
            service = cls(plant, config, wiring.audit)
            state["service"] = service
        service.config = config
        return service

    @staticmethod
    def of(wiring: Wiring) -> AlarmService | None:
        """The service `wiring` keeps, if alarms ever ran."""
        service = wiring.section_state(STATE_KEY).get("service")
        return service if isinstance(service, AlarmService) else None

    # -- helpers for the actors -------------------------------------------------------------------

    def attach(self, registry: Registry, path: str) -> None:
        """Called by each actor on start: learn the registry and where our siblings live."""
        self.registry = registry
        parent = path.rsplit("/", 1)[0]
        self.parent = parent.rsplit("/", 1)[0] if parent.endswith("/" + ALARM_GROUP) else parent
        self.scheduler.start()

    def alarm_ref(self, alarm_id: str) -> pykka.ActorRef[Any] | None:
        return self.ref(f"{ALARM_GROUP}/alarm:{alarm_id}")

    def fresh(self, slot: int | None) -> bool:
        """True when the signal at `slot` was written since start (it is not just its configured initial value)."""
        table = self.plant.table
        return slot is not None and (slot >= len(self.boot_stamps) or table.timestamps[slot] != self.boot_stamps[slot])

    def ref(self, child_id: str) -> pykka.ActorRef[Any] | None:
        return None if self.registry is None else self.registry.get(f"{self.parent}/{child_id}")

    def tell(self, child_id: str, message: Any) -> bool:
        ref = self.ref(child_id)
        if ref is None:
            return False
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            return False
        return True

    def next_code(self) -> str:
        """A short code for a new alarm occurrence.

        Codes are reserved from the store in blocks: reserving takes the LMDB write
        lock, which the group-commit thread holds most of the time under load, so
        an alarm actor must not do it per occurrence (it stalled the alarm pool and
        dominated the raise latency). Blocks of 1,000 mean one reservation per
        thousand raises; codes cycle through 1000..9999 anyway.
        """
        with self._codes_lock:
            if not self._codes:
                self._codes = list(reversed(self.store.reserve_codes(CODE_BLOCK)))
            return self._codes.pop()

    # -- announcing a group commit (in the committing thread, see AlarmStore.submit) ----------------

    def announce_signals(self, values: dict[str, Any]) -> None:
        """Queue alarm state signals (`alarm.<id>.active|acked|state`) for this group's `flush`."""
        self._signal_updates.extend(SignalUpdate(name, value) for name, value in values.items())

    def announce_change(self, changed: AlarmChanged) -> None:
        """Queue an alarm's change for the escalation manager, sent with the rest of the group by `flush`."""
        self._changes.append(changed)

    def count_transition(self, transition: Transition) -> None:
        counter = self._counted.get(transition.event)
        if counter is None:
            counter = self._counted[transition.event] = self.metrics.transitions.labels(transition.event)
        counter.inc()
        self.notify_transition(transition)

    def flush(self) -> None:
        """Send what the group announced: one UpdateSignals to the "alarms" group, one AlarmsChanged.

        One message per receiver per group commit instead of one per transition: in a
        flood that is what keeps the signal group and the escalation manager from
        waking a thousand times a second.
        """
        updates, self._signal_updates = self._signal_updates, []
        changes, self._changes = self._changes, []
        if updates and self.registry is not None:
            SignalWriter(self.plant, self.registry, "alarms").write(updates)  # a group not running misses them
        if changes:
            self.tell("escalations", AlarmsChanged(tuple(changes)))

    def audit(self, event: str, who: str, **details: Any) -> None:
        self._audit(event, who, **details)

    # -- for the control API and the webhooks -----------------------------------------------------

    def resolve(self, key: str) -> str:
        """An alarm id from an id or a short code."""
        if key in self.views or self.config.alarm(key) is not None:
            return key
        alarm = self.store.get("codes", key)
        if alarm is not None:
            return str(alarm)
        raise UnknownAlarm(key)

    def command(self, alarm_id: str, kind: str, who: str, reason: str = "",
                duration_s: float | None = None) -> dict[str, Any]:
        """Run an operator command on an alarm actor; raises UnknownAlarm, CommandRefused, TimeoutError."""
        if self.config.alarm(alarm_id) is None:
            raise UnknownAlarm(alarm_id)
        ref = self.alarm_ref(alarm_id)
        if ref is None:
            raise TimeoutError(f"alarm:{alarm_id} is not running right now")
        try:
            return ref.ask(Command(kind, who, reason, duration_s), block=True, timeout=ASK_TIMEOUT_S)
        except (pykka.ActorDeadError, pykka.Timeout):
            raise TimeoutError(f"alarm:{alarm_id} did not answer") from None
        except CommandRefused:
            raise

    def delivery_status(self, sid: str, status: str, error: str | None = None) -> dict[str, Any] | None:
        """A provider's status callback: update the delivery record it names."""
        delivery_id = self.store.get("sids", sid)
        if delivery_id is None:
            return None
        record = self.store.get("deliveries", delivery_id) or {}
        record.update(status=status, status_at=time.time())
        if error:
            record["error"] = error
        history = record.setdefault("history", [])
        history.append({"status": status, "time": record["status_at"]})
        events = []
        if record.get("alarm") and status in ("delivered", "failed", "undelivered", "completed", "no-answer",
                                              "busy", "canceled"):
            events.append({"alarm": record["alarm"], "event": f"notification_{status}", "time": time.time(),
                           "who": record.get("contact", ""), "details": {"delivery": delivery_id, "sid": sid}})
        self.store.write(deliveries={delivery_id: record}, events=events)
        self.metrics.status.labels(record.get("channel", "?"), status).inc()
        return record

    def redeliver(self, channel: str, record: dict[str, Any], delay_s: float) -> None:
        ref = self.ref(f"notify:{channel}")
        if ref is not None:
            self.scheduler.tell_at(self.plant.time.time() + delay_s, ref, Deliver(record))

    def notify_transition(self, transition: Transition) -> None:
        for listener in self.transition_listeners:
            with contextlib.suppress(Exception):
                listener(transition)
