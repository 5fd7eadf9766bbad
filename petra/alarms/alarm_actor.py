"""`alarm:<id>` actors (pooled: 1,000 alarms share the "alarms" pool's threads); the router is `router_actor.py`.

An alarm actor reads its signals from the table, runs the pure `AlarmMachine`,
and for every transition: updates the live view, submits state + event to the
store's group commit (one LMDB transaction with whatever other alarms submitted
meanwhile), and once that is durable announces it: its state signals
(`alarm.<id>.active|acked|state`) and its change for the escalation manager go
out with the rest of the group, one message to the "alarms" signal group and
one `AlarmsChanged` per group commit (`AlarmService.flush`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import pykka

from petra.alarms.config import AlarmSpec
from petra.alarms.messages import AlarmChanged, Announce, Command, Evaluate, Wake
from petra.alarms.service import AlarmService
from petra.alarms.states import AlarmMachine, Transition, condition_holds
from petra.values import Quality
from supervision import PooledActor

log = logging.getLogger(__name__)

_WAKE = Wake()


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(spec: AlarmSpec, machine: AlarmMachine, setpoint: Any, unit: str, now: float) -> str:
    """The alarm's message from its template ({name} {value} {setpoint} {unit} {severity} {time} ...)."""
    template = spec.message_template or "{severity}: {name} - {signal} {condition} {setpoint}{unit} (value {value})"
    value = machine.value
    if isinstance(value, float):
        value = round(value, 3)
    fields = _Defaults(
        name=spec.title, id=spec.id, value=value, setpoint=setpoint, unit=unit, severity=spec.severity.upper(),
        signal=spec.signal, condition=spec.condition, code=machine.code, state=str(machine.state),
    )
    if "{time" in template:  # formatting the local time is most of the cost; only when it is shown
        fields["time"] = dt.datetime.fromtimestamp(now).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    try:
        return template.format_map(fields)
    except (ValueError, IndexError, AttributeError):
        return template


class AlarmActor(PooledActor):
    """One alarm's ISA-18.2 state machine (`alarm:<id>` under `alarms`)."""

    pool_name = "alarms"
    pool_workers = 2

    def __init__(self, service: AlarmService, spec: AlarmSpec) -> None:
        super().__init__()
        self.service = service
        self.spec = spec
        config = service.config
        self.machine = AlarmMachine(spec, config.chatter_activations, config.chatter_window_s)
        table = service.plant.table
        self.slot = table.index.get(spec.signal)
        self.setpoint_slot = table.index.get(spec.setpoint_signal) if spec.setpoint_signal else None
        self.suppress_slot = table.index.get(spec.suppress_when) if spec.suppress_when else None
        self.unit = spec.unit or (table.specs[self.slot].unit if self.slot is not None else "")
        self._started = False  # state signals are published once on_start has run
        self._published: tuple[Any, ...] | None = None
        self._wake_at: float | None = None
        self._stored: tuple[Any, ...] | None = None  # the machine's durable_key as last written
        self._prefix = f"alarm.{spec.id}."
        self._defer = False  # handling a change batch's Evaluate: only queue, the batch's last to finish commits
        self.clock = service.plant.time
        """Delays, shelving and chatter are timed on the plant's clock; latency stamps stay on the real one."""

    def on_start(self) -> None:
        self.allow_calls_here()
        self.service.gates.pop(self.spec.id, None)  # a gate of a previous instance says nothing now
        self.service.attach(self.registry, self.path)
        self._started = True
        saved = self.service.store.get("states", self.spec.id)
        if saved:
            self.machine.restore(saved)
            self._stored = self.machine.durable_key() if self.machine.snapshot() == saved else None
        now = self.clock.time()
        self._after([], now, None, announce=True)  # the escalation manager learns the restored state
        if not saved or self.service.fresh(self.slot):
            # After a restart, a signal still at its configured initial value says nothing about the
            # process: the restored state stands until the signal's first real update.
            self._evaluate(now, None)
        self.service.evaluators[self.spec.id] = self.evaluate

    def on_stop(self) -> None:
        self._leave()

    def on_failure(self, *_exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        if self.service.evaluators.get(self.spec.id) == self.evaluate:
            del self.service.evaluators[self.spec.id]

    def evaluate(self, message: Evaluate) -> None:
        """From the thread of a driver's change (the router): evaluate there if this alarm is idle, else tell
        (`SupervisedActor.call_here`): no pool hand-off between a change and its durable transition."""
        self.call_here(lambda: self._on_evaluate(message), message)

    # -- messages ---------------------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Evaluate):
            self._on_evaluate(message)
            return None
        if isinstance(message, Wake):
            now = self.clock.time()
            self._wake_at = None
            self._after(self.machine.wake(now), now, None)
            return None
        if isinstance(message, Command):
            return self._command(message)
        if isinstance(message, Announce):
            self._after([], self.clock.time(), None, announce=True, reply_to=message.reply_to)
            return None
        return super().on_receive(message)

    def _on_evaluate(self, message: Evaluate) -> None:
        batch = message.batch
        self._defer = batch is not None
        try:
            self._evaluate(self.clock.time(), message.stamp)
        finally:
            self._defer = False
            if batch is not None and batch.handled():
                self.service.store.commit_queued()  # the last of the batch to finish: commit what all queued

    def _inputs(self) -> tuple[Any, float | None, bool, bool]:
        table = self.service.plant.table
        spec = self.spec
        value = None if self.slot is None else table.values[self.slot]
        bad = self.slot is None or table.quality[self.slot] == Quality.BAD
        setpoint: float | None = None
        if self.setpoint_slot is not None:
            raw = table.values[self.setpoint_slot]
            if isinstance(raw, int | float):  # a str setpoint is none; a bool one counts as 0.0 or 1.0
                setpoint = float(raw) if isinstance(raw, bool) else raw
        elif isinstance(spec.setpoint, float):
            setpoint = spec.setpoint
        suppressed = self.suppress_slot is not None and bool(table.values[self.suppress_slot])
        return value, setpoint, suppressed, bad

    def _evaluate(self, now: float, stamp: float | None) -> None:
        value, setpoint, suppressed, bad = self._inputs()
        if bad:
            # a value of bad quality says nothing about the process: keep the condition as it is
            self.service.gates.pop(self.spec.id, None)
            if suppressed != self.machine.suppressed:
                self._after(self.machine.evaluate(self.machine.value, setpoint, suppressed, now), now, stamp)
            return
        self._after(self.machine.evaluate(value, setpoint, suppressed, now), now, stamp)
        self._publish_gate()

    def _publish_gate(self) -> None:
        """Let the router skip changes that cannot move this alarm, then re-check once.

        The re-check reads the table after the gate is visible, so a value the
        router dropped against the previous gate is never missed.
        """
        m = self.machine
        gates = self.service.gates
        if self.slot is None or m.pending_on is not None or m.pending_off is not None:
            gates.pop(self.spec.id, None)
            return
        table = self.service.plant.table
        gate = Gate(self.spec, self.slot, self.setpoint_slot, m.raw, int(table.quality[self.slot]))
        gates[self.spec.id] = gate
        if not gate.unmoved(table, self.slot, table.values[self.slot], int(table.quality[self.slot])):
            self.actor_ref.tell(Evaluate(time.time()))

    def _command(self, command: Command) -> dict[str, Any]:
        now = self.clock.time()
        m = self.machine
        kind = command.kind
        if kind == "ack":
            transitions = m.ack(command.who, now, command.reason)
        elif kind == "reset":
            transitions = m.reset(command.who, now)
        elif kind == "shelve":
            duration = command.duration_s
            if duration is not None and not 0 < duration <= self.service.config.max_shelve_s:
                from petra.alarms.states import CommandRefused

                raise CommandRefused(f"shelve duration must be between 0 and {self.service.config.max_shelve_s:g} s")
            transitions = m.shelve_for(command.who, command.reason, now, duration)
        elif kind == "unshelve":
            transitions = m.unshelve(command.who, now)
        elif kind in ("disable", "enable"):
            transitions = m.set_enabled(kind == "enable", command.who, command.reason, now)
        elif kind == "view":
            return m.view(now)
        else:
            raise ValueError(f"unknown alarm command {kind!r}")
        try:
            self._after(transitions, now, None, wait=True)  # answer once it is durable
        except Exception as exc:
            self.fail(exc)  # the machine is ahead of the store: a successor starts again from what is stored
            raise
        return m.view(now)

    # -- after a transition -----------------------------------------------------------------------

    def _after(self, transitions: list[Transition], now: float, stamp: float | None, announce: bool = False,
               wait: bool = False, reply_to: pykka.ActorRef[Any] | None = None) -> None:
        """Persist the transitions (group commit), then announce them from the thread that commits the group.

        The machine's snapshot is written whenever its durable key changed, with or
        without a transition: a pending on-delay must survive a kill -9 as surely as
        a raised alarm, or a crash loop shorter than the delay never raises it.
        """
        service = self.service
        m = self.machine
        spec = self.spec
        code_added = None
        if any(t.event == "raised" or t.details.get("raised") for t in transitions):
            m.code = service.next_code()
            code_added = m.code
        service.views[spec.id] = m.view(now)
        self._schedule_wake()
        key = m.durable_key()
        changed_state = key != self._stored
        self._stored = key
        states = {spec.id: m.snapshot()} if changed_state or transitions else None
        if not transitions and not announce:
            if states is not None:
                # e.g. a delay started: nothing to announce
                service.store.submit(states=states, on_error=self.fail, defer=self._defer)
            return
        changed = None
        if transitions or announce:
            setpoint = spec.setpoint if self.setpoint_slot is None else service.plant.table.values[self.setpoint_slot]
            changed = AlarmChanged(
                alarm=spec.id, events=tuple(t.event for t in transitions), state=str(m.state),
                needs_attention=m.needs_attention, active=m.active, acked=m.acked, time=now,
                message=render_message(spec, m, setpoint, self.unit, now) if m.needs_attention else "",
                severity=spec.severity, code=m.code, raised=code_added is not None,
            )
        signals = (m.active, m.acked, str(m.state))

        def announce_after_commit() -> None:
            # in the thread that committed the group, in commit order; flush() sends the group's messages
            if stamp is not None:
                service.metrics.latency.observe(max(0.0, time.time() - stamp))
            self._publish_signals(signals)
            if changed is not None and reply_to is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    reply_to.tell(changed)
            elif changed is not None:
                service.announce_change(changed)
            for t in transitions:
                service.count_transition(t)

        if not transitions:
            service.store.submit(announce_after_commit, states=states, on_error=self.fail, flush=service.flush,
                                 defer=self._defer)
            return
        for t in transitions:
            if t.event in ("raised", "cleared", "acked", "shelved", "unshelved", "reset"):
                log.info("alarm %s %s (%s) value=%r%s", spec.id, t.event, t.state, t.value,
                         f" by {t.who}" if t.who else "")
        service.store.submit(announce_after_commit, wait=wait, on_error=self.fail, flush=service.flush,
                             defer=self._defer, states=states, events=[t.to_dict() for t in transitions],
                             codes={code_added: spec.id} if code_added else None)

    def _publish_signals(self, current: tuple[Any, ...]) -> None:
        # runs where the group is announced, in commit order; the service sends the group's updates at once
        if current == self._published or not self._started:
            return
        self._published = current
        prefix = self._prefix
        self.service.announce_signals({prefix + "active": current[0], prefix + "acked": current[1],
                                       prefix + "state": current[2]})

    def _schedule_wake(self) -> None:
        when = self.machine.next_wake()
        if when is None or (self._wake_at is not None and self._wake_at <= when):
            return
        self._wake_at = when
        self.service.scheduler.tell_at(when, self.actor_ref, _WAKE)


@dataclass(frozen=True, slots=True)
class Gate:
    """What the router needs to drop a change that cannot move an alarm.

    Published by the alarm actor after each evaluation while nothing is pending
    (no on/off delay running). A new value of the watched signal with the same
    quality for which `condition_holds` gives the same raw condition changes
    nothing but the displayed value, so the router does not wake the alarm: with
    1,000 alarms on signals changing every scan that is most of the work.
    """

    spec: AlarmSpec
    slot: int
    setpoint_slot: int | None
    raw: bool
    quality: int

    def unmoved(self, table: Any, slot: int, value: Any, quality: int) -> bool:
        if slot != self.slot or quality != self.quality:
            return False
        setpoint = self.spec.setpoint if self.setpoint_slot is None else table.values[self.setpoint_slot]
        if isinstance(setpoint, bool) or not isinstance(setpoint, int | float):
            setpoint = None
        return condition_holds(self.spec, value, setpoint, self.raw) == self.raw
