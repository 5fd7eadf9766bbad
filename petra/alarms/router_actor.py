"""`alarm-router`: owns the ChangeBus subscription and hands each change to the alarms it can move.

Its callback runs in the publisher's thread, so it only looks the changed signal
up in a precomputed signal -> alarm ids index, drops changes a `Gate` says
cannot move the alarm, and hands the rest an `Evaluate`, each carrying the
batch's `ChangeBatch`, so that the transitions one change batch causes are
committed in one transaction by the alarm that finishes the batch's last
Evaluate. A change of a signal group (a driver's value) is evaluated in the
publisher's thread by each alarm that is idle (`AlarmActor.evaluate`): no pool
hand-off between the change and its durable transition. A change a chain
publishes (the scan) is told, so the scan never waits for alarms.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import pykka

from petra.alarms.messages import ChangeBatch, Evaluate
from petra.alarms.service import AlarmService
from petra.messages import SignalsChanged
from supervision import SupervisedActor

log = logging.getLogger(__name__)

TRIM_FIRST_S = 60.0
TRIM_EVERY_S = 3600.0


@dataclass(frozen=True)
class TrimEvents:
    """Time to drop alarm events past their retention."""


class AlarmRouter(SupervisedActor):
    """Owns the bus subscription (`alarm-router` under `alarms`)."""

    def __init__(self, service: AlarmService) -> None:
        super().__init__()
        self.service = service
        index: dict[str, list[str]] = {}
        for spec in service.config.alarms:
            for name in dict.fromkeys(spec.signals()):
                index.setdefault(name, []).append(spec.id)
        self.index = index
        table = service.plant.table
        self._watched = frozenset(table.index[name] for name in index if name in table.index)
        self._by_slot = {table.index[name]: ids for name, ids in index.items() if name in table.index}
        """slot -> the alarms it feeds: the change columns are walked without a `Change` per change."""
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._subscriber: Any = None

    def on_start(self) -> None:
        self.service.attach(self.registry, self.path)
        self._subscriber = self.service.plant.bus.subscribe(self._on_change)
        self._evaluate_what_changed_before()
        self.service.scheduler.tell_at(self.service.plant.time.time() + TRIM_FIRST_S, self.actor_ref, TrimEvents())

    def _evaluate_what_changed_before(self) -> None:
        """Evaluate once more every alarm whose signal was written since start.

        The alarm actors start (and evaluate) before the router subscribes: a change
        published between the two reached no alarm. Evaluating again is idempotent; a
        signal still at its initial value is left alone (a restored state stands).
        """
        table = self.service.plant.table
        due: dict[str, float] = {}
        for name, ids in self.index.items():
            slot = table.index.get(name)
            if slot is not None and self.service.fresh(slot):
                stamp = table.timestamps[slot]
                for alarm_id in ids:
                    due[alarm_id] = stamp if not math.isnan(stamp) else self.service.plant.time.time()
        for alarm_id, stamp in due.items():
            ref = self.service.alarm_ref(alarm_id)
            if ref is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    ref.tell(Evaluate(stamp))

    def _after_exit(self) -> None:
        if self._subscriber is not None:
            self.service.plant.bus.unsubscribe(self._subscriber)
            self._subscriber = None

    def on_stop(self) -> None:
        # A normal stop (shutdown or reload): the timer thread goes too; the next attach() restarts it.
        self.service.scheduler.stop()

    def check_health(self) -> None:
        self.service.scheduler.ensure_running()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, TrimEvents):
            self.trim_events()
            self.service.scheduler.tell_at(self.service.plant.time.time() + TRIM_EVERY_S, self.actor_ref, TrimEvents())
            return None
        return super().on_receive(message)

    def trim_events(self, now: float | None = None) -> int:
        """Delete alarm events older than `alarms.event_retention_days` (checked hourly)."""
        now = self.service.plant.time.time() if now is None else now
        removed = self.service.store.trim_events(now - self.service.config.event_retention_s)
        if removed:
            log.info("alarm events: removed %d older than %.0f days", removed,
                     self.service.config.event_retention_s / 86400)
        return removed

    def _on_change(self, event: SignalsChanged) -> None:
        # The publisher's thread (a scan's chain for most changes): a set test, then for each watched change a
        # dict lookup and a gate test on the event's own columns, nothing built for what the gate drops.
        if self._watched.isdisjoint(event.slots):
            return
        by_slot = self._by_slot
        gates = self.service.gates
        table = self.service.plant.table
        stamp = event.timestamp if not math.isnan(event.timestamp) else time.time()
        tells: list[tuple[str, pykka.ActorRef[Any], float]] = []
        for slot, value, quality in zip(event.slots, event.values, event.qualities, strict=True):
            ids = by_slot.get(slot)
            if ids is None:
                continue
            for alarm_id in ids:
                gate = gates.get(alarm_id)
                if gate is not None and gate.unmoved(table, slot, value, quality):
                    continue
                ref = self._refs.get(alarm_id)
                if ref is None or not ref.is_alive():
                    ref = self.service.alarm_ref(alarm_id)
                    if ref is None:
                        continue
                    self._refs[alarm_id] = ref
                tells.append((alarm_id, ref, stamp))
        if not tells:
            return
        batch = ChangeBatch(len(tells))
        here = self.service.evaluators if not event.owner.is_chain else {}  # a scan's change never waits here
        for alarm_id, ref, stamp in tells:
            try:
                evaluate = here.get(alarm_id)
                if evaluate is not None:
                    evaluate(Evaluate(stamp, batch))
                else:
                    ref.tell(Evaluate(stamp, batch))
            except pykka.ActorDeadError:
                self._refs.pop(alarm_id, None)
                if batch.handled():
                    self.service.store.commit_queued()
