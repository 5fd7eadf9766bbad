"""PETRA's alarms as OPC-UA Alarms & Conditions (Part 9) on the server's loop thread.

`prepare(server)` before `server.init()` (or set `iserver.bind_condition_methods` yourself);
`await attach(server, context)` once the signal nodes exist: it returns at once and builds
the condition nodes in the background (`handle.ready` is set when they are all built and
their state sent; petra.opcua.conditions_nodes copies one instance per type, so 1,000
alarms take seconds, not minutes); `await handle.close()` on stop. All in the server's
loop thread. An alarm added by a reload gets its node at its first change.

Each configured alarm is a condition node `ns=<petra>;s=alarm:<id>` (OffNormalAlarmType,
ExclusiveLimitAlarmType or NonExclusiveLimitAlarmType, `condition_state.condition_type`)
under its signal's variable, with a ShelvingState (ShelvedStateMachineType) and a
HasCondition reference from the signal. Its events are emitted from the Server object
(i=2253), which is where UaExpert, Ignition, WinCC OA and Neuron subscribe; their fields
come from `condition_state.condition_fields` (the alarm's view as PETRA's alarm list shows
it). An event with Retain true is kept by asyncua's subscription service and replayed by
ConditionRefresh (`prepare` sets `bind_condition_methods`).

Following: the state signals `alarm.<id>.active|acked|state` on the change bus (as
petra/web/stream.py follows them; this also sees alarms restored at start) and the alarm
service's transition listeners (who did it, with which comment, and transitions that do not
change a state signal, such as a second shelve). Both hop to the loop with
`call_soon_threadsafe` and are coalesced: one event per alarm per loop turn, carrying the
alarm's current state; a bus change whose state was already sent emits nothing.

Methods: Acknowledge and Confirm (i=9111, i=9113, with EventId and Comment), the
ShelvingState's TimedShelve, OneShotShelve and Unshelve (and their "2" forms with a
comment), Enable and Disable call `AlarmService.command` -- the one path the control API,
the web HMI, SMS and voice keys take -- as the session's PETRA principal, which must be
operator or above (engineer for Enable/Disable, as in the control API; BadUserAccessDenied
otherwise, audited). Confirm is PETRA's reset of a latched alarm; Disable takes it out of service.
The command (a blocking ask to the alarm actor) runs in a worker thread, never in the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua
from asyncua.server.event_generator import EventGenerator
from asyncua.server.internal_session import InternalSession

from petra.alarms.alarm_actor import render_message
from petra.alarms.checks import alarm_state_slots
from petra.alarms.config import AlarmSpec
from petra.alarms.service import AlarmService, UnknownAlarm
from petra.alarms.states import CommandRefused
from petra.control.auth import Identities
from petra.messages import SignalsChanged
from petra.opcua import condition_state as cs
from petra.opcua.conditions_nodes import NodeTemplates, child
from petra.opcua.users import current_principal
from petra.plant import Plant
from petra.security.roles import Principal, Role
from petra.wiring import Wiring

log = logging.getLogger(__name__)

NODE_PREFIX = "alarm:"
SERVICE_POLL_S = 1.0
"""While the alarm service does not exist yet (alarms start after the server), look again this often."""
RECENT_EVENT_IDS = 32
"""EventIds of a condition that Acknowledge/Confirm accept (the latest ones it emitted)."""
MAX_SHELVE_MS = 30 * 24 * 3600 * 1000.0
"""A TimedShelve longer than 30 days is refused (BadShelvingTimeOutOfRange; Part 9's MaxTimeShelved)."""

TYPE_IDS = {cs.OFF_NORMAL: ua.ObjectIds.OffNormalAlarmType, cs.EXCLUSIVE_LIMIT: ua.ObjectIds.ExclusiveLimitAlarmType,
            cs.NON_EXCLUSIVE_LIMIT: ua.ObjectIds.NonExclusiveLimitAlarmType}
SHELVING_STATE_IDS = {cs.UNSHELVED: ua.ObjectIds.ShelvedStateMachineType_Unshelved,
                      cs.TIMED_SHELVED: ua.ObjectIds.ShelvedStateMachineType_TimedShelved,
                      cs.ONE_SHOT_SHELVED: ua.ObjectIds.ShelvedStateMachineType_OneShotShelved}
LIMIT_STATE_IDS = {"High": ua.ObjectIds.ExclusiveLimitStateMachineType_High,
                   "Low": ua.ObjectIds.ExclusiveLimitStateMachineType_Low}

ACK = "ack"
CONFIRM = "confirm"
TIMED = "timed"
ONE_SHOT = "oneshot"
UNSHELVE = "unshelve"
ENABLE = "enable"
DISABLE = "disable"
TYPE_METHODS: dict[int, tuple[str, bool]] = {
    ua.ObjectIds.ConditionType_Enable: (ENABLE, False),
    ua.ObjectIds.ConditionType_Disable: (DISABLE, False),
    # method id -> (what it does, whether it carries a comment after its own arguments)
    ua.ObjectIds.AcknowledgeableConditionType_Acknowledge: (ACK, True),
    ua.ObjectIds.AcknowledgeableConditionType_Confirm: (CONFIRM, True),
    ua.ObjectIds.ShelvedStateMachineType_TimedShelve: (TIMED, False),
    ua.ObjectIds.ShelvedStateMachineType_OneShotShelve: (ONE_SHOT, False),
    ua.ObjectIds.ShelvedStateMachineType_Unshelve: (UNSHELVE, False),
    ua.ObjectIds.AlarmConditionType_ShelvingState_TimedShelve: (TIMED, False),
    ua.ObjectIds.AlarmConditionType_ShelvingState_OneShotShelve: (ONE_SHOT, False),
    ua.ObjectIds.AlarmConditionType_ShelvingState_Unshelve: (UNSHELVE, False),
    ua.ObjectIds.ShelvedStateMachineType_TimedShelve2: (TIMED, True),
    ua.ObjectIds.ShelvedStateMachineType_OneShotShelve2: (ONE_SHOT, True),
    ua.ObjectIds.ShelvedStateMachineType_Unshelve2: (UNSHELVE, True),
    ua.ObjectIds.AlarmConditionType_ShelvingState_TimedShelve2: (TIMED, True),
    ua.ObjectIds.AlarmConditionType_ShelvingState_OneShotShelve2: (ONE_SHOT, True),
    ua.ObjectIds.AlarmConditionType_ShelvingState_Unshelve2: (UNSHELVE, True),
}
INSTANCE_METHODS = {"Acknowledge": (ACK, True), "Confirm": (CONFIRM, True), "Enable": (ENABLE, False),
                    "Disable": (DISABLE, False),
                    "ShelvingState.TimedShelve": (TIMED, False), "ShelvingState.OneShotShelve": (ONE_SHOT, False),
                    "ShelvingState.Unshelve": (UNSHELVE, False), "ShelvingState.TimedShelve2": (TIMED, True),
                    "ShelvingState.OneShotShelve2": (ONE_SHOT, True), "ShelvingState.Unshelve2": (UNSHELVE, True)}
"""The method nodes an instance gets (child NodeIds are `<condition>.<path>`): a client may call those too."""
PETRA_COMMAND = {ACK: "ack", CONFIRM: "reset", TIMED: "shelve", ONE_SHOT: "shelve", UNSHELVE: "unshelve",
                 ENABLE: "enable", DISABLE: "disable"}
NEEDED_ROLE = {ENABLE: Role.ENGINEER, DISABLE: Role.ENGINEER}
"""Who may do it (the control API's rule): taking an alarm out of service and back is the engineer's; the
rest is the operator's."""
DEFAULT_REASON = {TIMED: "OPC-UA TimedShelve", ONE_SHOT: "OPC-UA OneShotShelve", DISABLE: "OPC-UA Disable"}
"""PETRA wants a reason for a shelve; Part 9's TimedShelve and OneShotShelve carry none."""

_SESSION: contextvars.ContextVar[InternalSession | None] = contextvars.ContextVar("petra_opcua_session", default=None)


@dataclass(frozen=True)
class ConditionContext:
    """What `attach` needs from the server's owner (petra.opcua's actor)."""

    plant: Plant
    """The signals (`table`, `bus`): PETRA's plant, or the copy the server's own process keeps."""
    wiring: Wiring | None
    """PETRA's wiring (the alarm service, the shared identities, the audit trail), unless the hooks below
    stand in for it (the server's own process)."""
    namespace: int
    signal_node: Callable[[str], ua.NodeId | None]
    """The NodeId of signal `name`'s variable, None when it is not in the address space."""
    principal: Callable[[Any], Principal | None]
    """The PETRA principal of an asyncua session's `user` (None: nobody PETRA knows)."""
    events_emitted: Callable[[], None] | None = None
    """Called once per event emitted (the server's metrics)."""
    refused: Callable[[str], None] | None = None
    """Called with a reason ("alarm_denied": not operator; "malformed": bad arguments or EventId) per method
    call refused before it reached the alarm engine (the server's `petra_opcua_refused` counter)."""
    alarm_service: Callable[[], Any] | None = None
    """The alarm service (its `config`, `views`, `transition_listeners`, `command`, `audit`), None while it
    does not exist; default `AlarmService.of(wiring)`."""
    current: Callable[[Principal], Principal | None] | None = None
    """A principal with its role as the users file says now; default the wiring's shared identities."""
    audit: Callable[..., None] | None = None
    """The audit trail; default the wiring's."""


def prepare(server: Server) -> None:
    """Before `server.init()`: ConditionRefresh with RefreshStart/End, and the calling session seen by methods."""
    server.iserver.bind_condition_methods = True
    _install_session_var()


def _install_session_var() -> None:
    """Wrap InternalSession.call (class-wide, once) so a method callback knows who called it.

    asyncua passes a method callback the object and the arguments only; the call
    runs in the request's task, so a context variable set around it is what the
    callback reads (`_SESSION`).
    """
    original = InternalSession.call
    if getattr(original, "_petra_session_var", False):
        return

    async def call(self: InternalSession, params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        token = _SESSION.set(self)
        try:
            return await original(self, params)
        finally:
            _SESSION.reset(token)

    call._petra_session_var = True  # type: ignore[attr-defined]
    InternalSession.call = call  # type: ignore[method-assign]


async def attach(server: Server, context: ConditionContext) -> Conditions:
    """Build the condition nodes and follow the alarms; returns the handle to `close()`."""
    _install_session_var()
    conditions = Conditions(server, context)
    await conditions.start()
    return conditions


@dataclass
class _Condition:
    spec: AlarmSpec
    nodeid: ua.NodeId
    source: ua.NodeId
    event: Any
    shelving: ua.NodeId
    event_ids: deque[bytes]
    sent: tuple[Any, ...] | None = None
    """The fields last emitted (a bus change that repeats them emits nothing)."""
    node_ids: frozenset[ua.NodeId] = frozenset()


class Conditions:
    """The condition nodes of one server and what keeps them current."""

    def __init__(self, server: Server, context: ConditionContext) -> None:
        self.server = server
        self.context = context
        self.loop: asyncio.AbstractEventLoop | None = None
        self.service: AlarmService | None = None
        self.conditions: dict[str, _Condition] = {}
        self.by_node: dict[ua.NodeId, str] = {}
        self.templates = NodeTemplates(server)
        self._pending: dict[str, dict[str, Any] | None] = {}
        """Alarm id -> the latest transition's who/comment (None: a bus change only), until the next flush."""
        self._flush_scheduled = False
        self._closed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._alarm_slots: dict[int, str] = {}
        self._alarm_layout = -1
        self.emitted = 0
        self.ready = asyncio.Event()
        """Set once every configured alarm's condition is built and its state sent."""
        self._commands: ThreadPoolExecutor | None = None
        """Runs the alarm commands (a blocking ask to the alarm actor) outside the loop; one at a time."""

    # -- start and stop ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Link the methods and start following in the background: the server need not wait for the nodes."""
        self.loop = asyncio.get_running_loop()
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opcua-alarm-commands")
        await self.loop.run_in_executor(self._commands, lambda: None)  # its thread starts now, not at a first ack
        for method_id in TYPE_METHODS:
            self._link(_nid(method_id))
        self._spawn(self._run())

    def _service(self) -> Any:
        if self.context.alarm_service is not None:
            return self.context.alarm_service()
        return AlarmService.of(self.context.wiring) if self.context.wiring is not None else None

    def _audit(self, event: str, who: str, **details: Any) -> None:
        audit = self.context.audit or (self.context.wiring.audit if self.context.wiring is not None else None)
        if audit is not None:
            audit(event, who, **details)

    async def _run(self) -> None:
        service = self._service()
        while service is None and not self._closed:  # the alarm section has not made its service yet
            await asyncio.sleep(SERVICE_POLL_S)
            service = self._service()
        if service is None:
            return
        self.service = service
        await self._follow(service)

    async def _follow(self, service: AlarmService) -> None:
        # listen first, so nothing that happens while the nodes are built is missed
        service.transition_listeners.append(self._on_transition)
        self.context.plant.bus.subscribe(self._on_change)
        started = time.monotonic()
        for spec in service.config.alarms:
            if self._closed:
                return
            await self._build_one(spec)
            await asyncio.sleep(0)  # serve clients between two alarms
        log.info("OPC-UA: %d alarm conditions built in %.2f s (%d instantiated, %d copied)", len(self.conditions),
                 time.monotonic() - started, self.templates.instantiated, self.templates.copied)
        for alarm_id in self.conditions:
            self._pending.setdefault(alarm_id, None)
        await self._flush()
        self.ready.set()

    async def _build_one(self, spec: AlarmSpec) -> None:
        if spec.id in self.conditions:
            return
        try:
            await self._build(spec)
        except Exception:
            log.exception("OPC-UA condition for alarm %s could not be built; it is left out", spec.id)

    async def close(self) -> None:
        """Stop following (in the loop thread). The nodes stay with the server, which is stopping."""
        self._detach()
        for task in list(self._tasks):
            task.cancel()
        if self._commands is not None:
            self._commands.shutdown(wait=False, cancel_futures=True)

    def _detach(self) -> None:
        """Stop listening (any thread): the bus and the alarm service forget this server."""
        self._closed = True
        self.context.plant.bus.unsubscribe(self._on_change)
        service = self.service
        if service is not None:
            # a new list, not remove(): the committing thread may be iterating over the old one right now
            service.transition_listeners = [f for f in service.transition_listeners if f != self._on_transition]

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the address space ------------------------------------------------------------------------

    async def _build(self, spec: AlarmSpec) -> None:
        ns = self.context.namespace
        kind = cs.condition_type(spec.condition)
        type_id = _nid(TYPE_IDS[kind])
        nodeid = _nid(NODE_PREFIX + spec.id, ns)
        source = self.context.signal_node(spec.signal)
        parent_id = source if source is not None else _nid(ua.ObjectIds.Server)
        added = await self.templates.build(
            parent_id, nodeid, ua.QualifiedName(spec.id, ns), ua.LocalizedText(spec.title),
            ((_nid(ua.ObjectIds.ShelvedStateMachineType), "ShelvingState"),), type_id)
        shelving = child(nodeid, "ShelvingState")
        if source is not None:
            await self.server.get_node(parent_id).add_reference(nodeid, ua.ObjectIds.HasCondition, forward=True,
                                                                bidirectional=False)
        node_ids = frozenset(added)
        for path in INSTANCE_METHODS:
            method = _nid(f"{NODE_PREFIX}{spec.id}.{path}", ns)
            if method in node_ids:
                self._link(method, INSTANCE_METHODS[path])
        generator = EventGenerator(self.server.iserver.isession)
        await generator.init(type_id, emitting_node=ua.ObjectIds.Server, add_generates_event=False)
        event = generator.event
        _fix_data_types(event)
        event.SourceNode = source if source is not None else _nid(ua.ObjectIds.Server)
        event.SourceName = spec.signal
        event.NodeId = nodeid
        event.ConditionName = spec.title
        event.ConditionClassId = _nid(ua.ObjectIds.ProcessConditionClassType)
        event.ConditionClassName = ua.LocalizedText("Process")
        event.BranchId = ua.NodeId()
        event.Quality = _bad(ua.StatusCodes.Good)
        for name, vtype in (("ShelvingState/CurrentState", ua.VariantType.LocalizedText),
                            ("ShelvingState/CurrentState/Id", ua.VariantType.NodeId),
                            ("ShelvingState/UnshelveTime", ua.VariantType.Double),
                            ("ShelvingState/LastTransition", ua.VariantType.LocalizedText)):
            event.add_property(name, None, vtype)
        if kind == cs.EXCLUSIVE_LIMIT:
            event.add_property("LimitState/CurrentState", None, ua.VariantType.LocalizedText)
            event.add_property("LimitState/CurrentState/Id", None, ua.VariantType.NodeId)
        self.conditions[spec.id] = _Condition(spec, nodeid, event.SourceNode, event, shelving,
                                              deque(maxlen=RECENT_EVENT_IDS), node_ids=node_ids)
        self.by_node[nodeid] = spec.id
        self.by_node[shelving] = spec.id

    def _link(self, method: ua.NodeId, what: tuple[str, bool] | None = None) -> None:
        kind, commented = what if what is not None else TYPE_METHODS[int(method.Identifier)]

        async def callback(parent: ua.NodeId, *args: ua.Variant) -> Any:
            return await self._method(kind, commented, parent, list(args))

        with contextlib.suppress(KeyError):  # a method this build's standard address space does not have
            self.server.iserver.isession.add_method_callback(method, callback)

    # -- following the alarms (called in other threads; hop to the loop) -------------------------

    def _on_transition(self, transition: Any) -> None:
        details = {"who": transition.who, "comment": (transition.details or {}).get("comment")
                   or (transition.details or {}).get("reason") or "", "event": transition.event}
        self._hop(transition.alarm, details)

    def _on_change(self, event: SignalsChanged) -> None:
        slots = self._state_slots()
        if not slots:
            return
        moved = {slots[c.slot] for c in event.only(slots.keys())}
        for alarm_id in moved:
            self._hop(alarm_id, None)

    def _state_slots(self) -> dict[int, str]:
        names = self.context.plant.table.names
        if len(names) != self._alarm_layout:
            self._alarm_slots, self._alarm_layout = alarm_state_slots(list(names)), len(names)
        return self._alarm_slots

    def _hop(self, alarm_id: str, details: dict[str, Any] | None) -> None:
        loop = self.loop
        if loop is None or self._closed:
            return
        if loop.is_closed():  # the server's loop died without close() (a crash): the successor attaches anew
            self._detach()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._moved, alarm_id, details)

    def _moved(self, alarm_id: str, details: dict[str, Any] | None) -> None:
        if details is not None or alarm_id not in self._pending:
            self._pending[alarm_id] = details or self._pending.get(alarm_id)
        if not self._flush_scheduled and not self._closed:
            self._flush_scheduled = True
            self._spawn(self._flush())

    async def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for alarm_id, details in pending.items():
            condition = self.conditions.get(alarm_id)
            if condition is None and self.ready.is_set() and self.service is not None:
                spec = self.service.config.alarm(alarm_id)  # added by a reload since the nodes were built
                if spec is not None:
                    await self._build_one(spec)
                    condition = self.conditions.get(alarm_id)
            if condition is None:
                continue
            try:
                await self._emit(condition, details)
            except Exception:
                log.exception("OPC-UA condition event for alarm %s failed", alarm_id)

    # -- one condition's event --------------------------------------------------------------------

    def fields(self, condition: _Condition, now: float) -> cs.ConditionFields | None:
        service = self.service
        view = None if service is None else service.views.get(condition.spec.id)
        if view is None:
            return None
        spec = condition.spec
        view = dict(view)
        table = self.context.plant.table
        if spec.setpoint_signal:
            slot = table.index.get(spec.setpoint_signal)
            view["setpoint"] = table.values[slot] if slot is not None else None
        unit = spec.unit
        slot = table.index.get(spec.signal)
        if not unit and slot is not None:
            unit = table.specs[slot].unit or ""
        shown: Any = _Shown(view)  # what render_message reads of a machine
        message = render_message(spec, shown, view.get("setpoint"), unit, now)
        return cs.condition_fields(view, spec.condition, spec.severity, message, now)

    async def _emit(self, condition: _Condition, details: dict[str, Any] | None) -> None:
        now = time.time()
        fields = self.fields(condition, now)
        if fields is None:
            return
        key = (fields.active, fields.acked, fields.confirmed, fields.enabled, fields.shelving, fields.suppressed,
               fields.retain, fields.limit_state, fields.high, fields.low)
        if key == condition.sent and (details is None or not details.get("who")):
            return  # nothing new: the state was sent, and nobody's action to report
        event = condition.event
        stamp = datetime.now(UTC)
        self._set_event(event, fields, details, stamp)
        await self._write_nodes(condition, fields, details, stamp)
        condition.sent = key
        generator = EventGenerator(self.server.iserver.isession)
        generator.event = event
        await generator.trigger(time_attr=stamp)
        event_id = event.EventId.Value if isinstance(event.EventId, ua.Variant) else event.EventId
        condition.event_ids.append(bytes(event_id))
        self.emitted += 1
        if self.context.events_emitted is not None:
            with contextlib.suppress(Exception):
                self.context.events_emitted()

    @staticmethod
    def _set_event(event: Any, f: cs.ConditionFields, details: dict[str, Any] | None, stamp: datetime) -> None:
        event.Severity = f.severity
        event.LastSeverity = f.severity
        event.Message = ua.LocalizedText(f.message)
        event.Retain = f.retain
        for state, value in (("ActiveState", f.active), ("AckedState", f.acked), ("ConfirmedState", f.confirmed),
                             ("EnabledState", f.enabled), ("SuppressedState", f.suppressed),
                             ("OutOfServiceState", f.out_of_service), ("LatchedState", f.latched),
                             ("HighState", f.high), ("LowState", f.low)):
            if hasattr(event, state + "/Id"):
                setattr(event, state, ua.LocalizedText(f.text(state)))
                setattr(event, state + "/Id", value)
        event.SuppressedOrShelved = f.suppressed_or_shelved
        setattr(event, "ShelvingState/CurrentState", ua.LocalizedText(cs.SHELVING_TEXT[f.shelving]))
        setattr(event, "ShelvingState/CurrentState/Id", _nid(SHELVING_STATE_IDS[f.shelving]))
        setattr(event, "ShelvingState/UnshelveTime", f.unshelve_in_ms)
        if hasattr(event, "LimitState/CurrentState"):
            setattr(event, "LimitState/CurrentState", ua.LocalizedText(f.limit_state or ""))
            setattr(event, "LimitState/CurrentState/Id",
                    _nid(LIMIT_STATE_IDS[f.limit_state]) if f.limit_state else ua.NodeId())
        if details is not None:
            event.ClientUserId = details.get("who") or ""
            event.Comment = ua.LocalizedText(details.get("comment") or "")
            setattr(event, "Comment/SourceTimestamp", stamp)

    async def _write_nodes(self, condition: _Condition, f: cs.ConditionFields, details: dict[str, Any] | None,
                           stamp: datetime) -> None:
        """The condition node's variables as the event says (for clients that browse rather than subscribe)."""
        base = NODE_PREFIX + condition.spec.id
        ns = condition.nodeid.NamespaceIndex
        values: list[tuple[str, Any, ua.VariantType]] = [
            ("Retain", f.retain, ua.VariantType.Boolean), ("Severity", f.severity, ua.VariantType.UInt16),
            ("LastSeverity", f.severity, ua.VariantType.UInt16),
            ("Message", ua.LocalizedText(f.message), ua.VariantType.LocalizedText),
            ("SuppressedOrShelved", f.suppressed_or_shelved, ua.VariantType.Boolean),
            ("ShelvingState.CurrentState", ua.LocalizedText(cs.SHELVING_TEXT[f.shelving]),
             ua.VariantType.LocalizedText),
            ("ShelvingState.CurrentState.Id", _nid(SHELVING_STATE_IDS[f.shelving]), ua.VariantType.NodeId),
        ]
        for state in ("ActiveState", "AckedState", "ConfirmedState", "EnabledState", "SuppressedState",
                      "OutOfServiceState", "LatchedState", "HighState", "LowState"):
            values.append((state, ua.LocalizedText(f.text(state)), ua.VariantType.LocalizedText))
            true = f.text(state) == cs.TWO_STATE_TEXT[state][0]
            values.append((state + ".Id", true, ua.VariantType.Boolean))
        if f.limit_state is not None or cs.condition_type(condition.spec.condition) == cs.EXCLUSIVE_LIMIT:
            values.append(("LimitState.CurrentState", ua.LocalizedText(f.limit_state or ""),
                           ua.VariantType.LocalizedText))
        if details is not None:
            values.append(("ClientUserId", details.get("who") or "", ua.VariantType.String))
            values.append(("Comment", ua.LocalizedText(details.get("comment") or ""), ua.VariantType.LocalizedText))
        for path, value, vtype in values:
            nodeid = _nid(f"{base}.{path}", ns)
            if nodeid in condition.node_ids:
                await self.server.write_attribute_value(
                    nodeid, _datavalue(value, vtype, stamp))

    # -- methods ----------------------------------------------------------------------------------

    def _current(self, principal: Principal | None) -> Principal | None:
        """`principal` with its role as the users file says now (None: the user was removed or is locked out),
        as a write is judged: a session opened before a demotion does not keep acknowledging."""
        if principal is None or principal.user is None:
            return principal  # anonymous: the viewer it always is
        if self.context.current is not None:
            return self.context.current(principal)
        if self.context.wiring is None:
            return principal
        identities = self.context.wiring.section_state("control").get("identities")
        security = getattr(self.context.plant.config, "security", None)
        if not isinstance(identities, Identities) or security is None:
            return principal
        return current_principal(identities, security, principal)

    def _count_refusal(self, reason: str) -> None:
        if self.context.refused is not None:
            with contextlib.suppress(Exception):
                self.context.refused(reason)

    async def _method(self, kind: str, commented: bool, parent: ua.NodeId, args: list[ua.Variant]) -> Any:
        """One Acknowledge/Confirm/shelving call: a StatusCode (or [] when done); never raises into asyncua."""
        try:
            return await self._run_method(kind, commented, parent, args)
        except Exception:
            log.exception("OPC-UA %s on %s failed", kind, parent)
            return _bad(ua.StatusCodes.BadInternalError)

    async def _run_method(self, kind: str, commented: bool, parent: ua.NodeId, args: list[ua.Variant]) -> Any:
        alarm_id = self.by_node.get(parent)
        condition = self.conditions.get(alarm_id) if alarm_id else None
        if condition is None or self.service is None:
            return _bad(ua.StatusCodes.BadNodeIdInvalid)
        session = _SESSION.get()
        principal = None if session is None else self._current(self.context.principal(session.user))
        who = principal.audit_actor if principal is not None else "anonymous:opcua"
        command = PETRA_COMMAND[kind]
        needed = NEEDED_ROLE.get(kind, Role.OPERATOR)
        if principal is None or not principal.allows(needed):
            self._audit("opcua.alarm.refused", who, alarm=condition.spec.id, command=command,
                                      reason=f"{needed.name.lower()} role needed")
            self._count_refusal("alarm_denied")
            return _bad(ua.StatusCodes.BadUserAccessDenied)
        parsed = _arguments(kind, commented, args, condition)
        if isinstance(parsed, ua.StatusCode):
            log.info("OPC-UA %s on alarm %s by %s refused: %s", kind, condition.spec.id, who, parsed.name)
            self._count_refusal("malformed")
            return parsed
        comment, duration_s = parsed
        reason = comment or DEFAULT_REASON.get(kind, "")
        service = self.service
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._commands, service.command, condition.spec.id, command, who, reason,
                                       duration_s)
        except CommandRefused as exc:
            return _bad(_refusal(kind, str(exc)))
        except UnknownAlarm:
            return _bad(ua.StatusCodes.BadNodeIdInvalid)
        except TimeoutError:
            return _bad(ua.StatusCodes.BadTimeout)
        audit: dict[str, Any] = {"alarm": condition.spec.id, "via": "opcua"}
        if reason:
            audit["reason"] = reason
        if duration_s is not None:
            audit["for_s"] = duration_s
        service.audit(f"alarm.{command}", who, **audit)
        return []


SUBTYPE_VARIANTS = {ua.ObjectIds.UtcTime: ua.VariantType.DateTime, ua.ObjectIds.Duration: ua.VariantType.Double,
                    ua.ObjectIds.AudioDataType: ua.VariantType.ByteString}
"""asyncua 2.1 records these fields' DataType NodeId instead of a VariantType: a value set there fails to encode."""


def _fix_data_types(event: Any) -> None:
    for name, data_type in list(event.data_types.items()):
        if isinstance(data_type, ua.NodeId):
            identifier: Any = data_type.Identifier
            event.data_types[name] = SUBTYPE_VARIANTS.get(identifier, ua.VariantType.Variant)


def _bad(code: int) -> ua.StatusCode:
    """A StatusCode from one of `ua.StatusCodes` (typed for mypy: asyncua's UInt32 is a NewType)."""
    return ua.StatusCode(ua.UInt32(code))


def _nid(identifier: Any, namespace: int = 0) -> ua.NodeId:
    identifier = identifier if isinstance(identifier, int | str | bytes) else int(identifier)
    return ua.NodeId(identifier, namespace)  # type: ignore[arg-type]  # asyncua's NewTypes for Int32/String/Int16


def _datavalue(value: Any, vtype: ua.VariantType, stamp: datetime) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=stamp,  # type: ignore[arg-type]
                        ServerTimestamp=stamp)  # type: ignore[arg-type]


class _Shown:
    """What `render_message` reads of a machine, from its view."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.value = view.get("value")
        self.code = view.get("code", "")
        self.state = view.get("state", "")


def _arguments(kind: str, commented: bool, args: list[ua.Variant],
               condition: _Condition) -> tuple[str, float | None] | ua.StatusCode:
    """(comment, shelve seconds) from a method's input arguments, or the StatusCode that refuses them."""
    values = [a.Value if isinstance(a, ua.Variant) else a for a in args]
    comment = ""
    duration_s: float | None = None
    if kind in (ACK, CONFIRM):
        if len(values) < 2:
            return _bad(ua.StatusCodes.BadArgumentsMissing)
        event_id, text = values[0], values[1]
        if not isinstance(event_id, bytes) or not isinstance(text, ua.LocalizedText | str | None):
            return _bad(ua.StatusCodes.BadTypeMismatch)
        if event_id not in condition.event_ids:
            return _bad(ua.StatusCodes.BadEventIdUnknown)
        comment = _text(text)
    elif kind == TIMED:
        if not values:
            return _bad(ua.StatusCodes.BadArgumentsMissing)
        ms = values[0]
        if isinstance(ms, bool) or not isinstance(ms, int | float):
            return _bad(ua.StatusCodes.BadTypeMismatch)
        if not 0 < ms <= MAX_SHELVE_MS:
            return _bad(ua.StatusCodes.BadShelvingTimeOutOfRange)
        duration_s = float(ms) / 1000.0
        if commented:
            comment = _text(values[1]) if len(values) > 1 else ""
    elif commented and values:
        comment = _text(values[0])
    return comment.strip(), duration_s


def _text(value: Any) -> str:
    if isinstance(value, ua.LocalizedText):
        return value.Text or ""
    return "" if value is None else str(value)


def _refusal(kind: str, message: str) -> int:
    """The Part 9 status code for PETRA's CommandRefused of a `kind` command."""
    if kind == ENABLE and "already in service" in message:
        return int(ua.StatusCodes.BadConditionAlreadyEnabled)
    if kind == DISABLE and "already out of service" in message:
        return int(ua.StatusCodes.BadConditionAlreadyDisabled)
    if "out of service" in message:
        return int(ua.StatusCodes.BadConditionDisabled)
    if kind == ACK and "already acknowledged" in message:
        return int(ua.StatusCodes.BadConditionBranchAlreadyAcked)
    if kind == CONFIRM and "nothing to reset" in message:
        return int(ua.StatusCodes.BadConditionBranchAlreadyConfirmed)
    if kind == UNSHELVE:
        return int(ua.StatusCodes.BadConditionNotShelved)
    return int(ua.StatusCodes.BadInvalidState)


def node_id_of(alarm_id: str, namespace: int) -> ua.NodeId:
    """The condition node of alarm `alarm_id`."""
    return _nid(NODE_PREFIX + alarm_id, namespace)


__all__ = ["ConditionContext", "Conditions", "attach", "node_id_of", "prepare"]
