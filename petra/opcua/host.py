"""PETRA's side of the OPC-UA server process (`petra.opcua.child`): start it, feed it, answer it.

In PETRA's process the server costs a bus listener that appends the event to a list (in the publisher's
thread, like every other listener) and one thread (`petra-opcua-feed`) that, at most every `BATCH_S`,
keeps the changes of the signals the server needs (the served ones and those the alarm conditions read),
adds the alarm transitions and the views they changed, and sends them in one pickled message. The pipe's
reader (`petra-opcua-link`) answers the server's questions on two workers (`petra-opcua-call_*`): logins
and roles through the shared `Identities` (one lock-out with the web HMI and the API), writes through the
one remote-write path, alarm commands through the alarm service, the status values.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from petra.alarms.checks import alarm_state_slots
from petra.control.auth import Identities
from petra.control.handle import RuntimeHandle
from petra.link import Link, spawn_child
from petra.messages import SignalsChanged
from petra.opcua import address_space
from petra.opcua.child import Boot
from petra.opcua.metrics import Counts, OpcuaMetrics, add_count, add_counts
from petra.opcua.settings import OpcuaSettings
from petra.opcua.status import read_status
from petra.opcua.users import Authority
from petra.opcua.workers import started_executor
from petra.opcua.writes import apply_writes
from petra.plant import Plant
from petra.security.roles import Principal
from petra.wiring import Wiring

log = logging.getLogger("petra.opcua")

BATCH_S = 0.01
"""The shortest time between two batches sent to the server (its fastest publishing interval is ~10 ms)."""
MAX_WAITING = 10_000
"""Events waiting for the feed before the oldest are dropped and every served signal is sent anew."""
SERVICE_POLL_S = 1.0
STOP_TIMEOUT_S = 8.0
FEED_THREAD = "petra-opcua-feed"
LINK_THREAD = "petra-opcua-link"
CALL_THREAD = "petra-opcua-call"
CALL_WORKERS = 2


def _alarm_service(wiring: Wiring) -> Any:
    from petra.alarms.service import AlarmService

    return AlarmService.of(wiring)


class ServerHost:
    """One server process, from `start` to `stop` (or its death, which `alive` reports)."""

    def __init__(self, plant: Plant, settings: OpcuaSettings, identities: Identities,
                 runtime: RuntimeHandle | None, metrics: OpcuaMetrics, wiring: Wiring,
                 on_ready: Callable[[], None], on_failed: Callable[[str], None]) -> None:
        self.plant = plant
        self.settings = settings
        self.runtime = runtime
        self.metrics = metrics
        self.wiring = wiring
        self.authority = Authority(identities, lambda: plant.config.security)
        self.on_ready = on_ready
        self.on_failed = on_failed
        self.info: dict[str, Any] = {}
        """What the server said when it listened: endpoint, port, namespace, build_s."""
        self.status: dict[str, Any] = {}
        """Its last report (sessions, subscriptions, ...)."""
        self._seen: Counts = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.link: Link | None = None
        self._calls: Any = None
        self._lock = threading.Lock()
        self._waiting: list[Any] = []
        self._overflow = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._feed: threading.Thread | None = None
        self._service: Any = None
        table = plant.table
        self._layout = len(table.names)
        self._alarm_slots = alarm_state_slots(list(table.names))
        self._forwarded = self._needed_slots()
        self._forwarding_owners = {table.owners[slot] for slot in self._forwarded}
        self._booted_alarms = False

    # -- what the server needs --------------------------------------------------------------------

    def _needed_slots(self) -> frozenset[int]:
        table = self.plant.table
        served = {slot for slot, _, _ in address_space.served(table, self.settings.signals)}
        service = _alarm_service(self.wiring)
        served.update(self._alarm_slots)
        if service is not None:
            for spec in service.config.alarms:
                for name in (spec.signal, spec.setpoint_signal):
                    slot = table.index.get(name) if name else None
                    if slot is not None:
                        served.add(slot)
        return frozenset(served)

    # -- start ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._calls = started_executor(CALL_WORKERS, CALL_THREAD)
        self.process, conn = spawn_child("petra.opcua.child")
        self.link = Link(conn, self._handlers(), self._calls, name=LINK_THREAD,
                         on_closed=self._closed)
        self.plant.bus.subscribe(self.listener)  # first: nothing between the copy and the feed is missed
        self._follow_alarms()
        self.link.tell("boot", self._boot())
        self.link.start()
        self._feed = threading.Thread(target=self._run_feed, name=FEED_THREAD, daemon=True)
        self._feed.start()

    def _boot(self) -> Boot:
        table = self.plant.table
        service = self._service
        views = {k: dict(v) for k, v in list(service.views.items())} if service is not None else {}
        level = logging.getLogger("petra").getEffectiveLevel()
        self._booted_alarms = service is not None
        return Boot(settings=self.settings, base_dir=str(Path.cwd()), specs=list(table.specs),
                    index=dict(table.index), owners=list(table.owners), values=list(table.values),
                    quality=list(table.quality), timestamps=list(table.timestamps),
                    alarms=service.config if service is not None else None, views=views, log_level=level)

    def _follow_alarms(self) -> None:
        if self._service is None:
            service = _alarm_service(self.wiring)
            if service is not None:
                self._service = service
                service.transition_listeners.append(self.on_transition)

    def _handlers(self) -> dict[str, Callable[..., Any]]:
        return {"login": self.authority.login, "current": self.authority.current, "write": self._write,
                "status": self._status_values, "alarm_command": self._alarm_command, "audit": self._audit,
                "alarm_audit": self._alarm_audit, "log": self._log, "ready": self._ready, "failed": self.on_failed,
                "report": self._report, "count": self._count}

    # -- the server's questions (PETRA's call workers) --------------------------------------------

    def _write(self, items: list[Any], principal: Principal) -> list[int]:
        if self.runtime is None:
            raise RuntimeError("no runtime to write to")
        return apply_writes(self.runtime, items, self.authority.current(principal),
                            lambda result: self.metrics.writes.labels(result).inc())

    def _status_values(self, sessions: int) -> dict[str, Any]:
        return read_status(self.plant, self.runtime, sessions)

    def _alarm_command(self, alarm_id: str, kind: str, who: str, reason: str, duration_s: float | None) -> Any:
        service = self._service or _alarm_service(self.wiring)
        if service is None:
            raise TimeoutError("the alarms are not running")
        return service.command(alarm_id, kind, who, reason, duration_s)

    def _audit(self, event: str, who: str, details: dict[str, Any]) -> None:
        self.wiring.audit(event, who, **details)

    def _alarm_audit(self, event: str, who: str, details: dict[str, Any]) -> None:
        service = self._service or _alarm_service(self.wiring)
        (service.audit if service is not None else self.wiring.audit)(event, who, **details)

    @staticmethod
    def _log(level: int, name: str, message: str) -> None:
        logging.getLogger(name).log(level, "%s", message)

    def _ready(self, info: dict[str, Any]) -> None:
        self.info = dict(info)
        self.on_ready()

    def _count(self, name: str, labels: tuple[str, ...], total: float) -> None:
        add_count(self.metrics, name, tuple(labels), total, self._seen)

    def live_status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The server's status asked now (its sessions as they are), else its last report."""
        if self.link is not None and self.alive():
            try:
                status = self.link.call("status", timeout=timeout)
            except Exception:
                log.debug("OPC-UA: the status ask failed", exc_info=True)
            else:
                if status:
                    self.status = status
        return dict(self.status)

    def _report(self, status: dict[str, Any], gauges: dict[str, int], counts: Counts) -> None:
        self.status = status
        for key, value in gauges.items():
            setattr(self.metrics.gauges, key, value)
        self.metrics.gauges.pending_values += self.pending_count()
        add_counts(self.metrics, counts, self._seen)

    # -- the feed ---------------------------------------------------------------------------------

    def listener(self, event: SignalsChanged) -> None:
        """The bus listener (the publisher's thread): queue the event if it holds a signal the server needs."""
        if event.owner not in self._forwarding_owners:
            return
        self._queue(event)

    def on_transition(self, transition: Any) -> None:
        """The alarm service's transition listener (the committing thread): queue it."""
        self._queue(transition)

    def _queue(self, item: Any) -> None:
        with self._lock:
            waiting = self._waiting
            waiting.append(item)
            if len(waiting) > MAX_WAITING:
                del waiting[:len(waiting) - MAX_WAITING]
                self._overflow = True
        self._wake.set()

    def pending_count(self) -> int:
        with self._lock:
            return len(self._waiting)

    def _run_feed(self) -> None:
        next_poll = time.monotonic() + SERVICE_POLL_S
        while not self._stop.is_set():
            self._wake.wait(SERVICE_POLL_S)
            if self._stop.is_set():
                return
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + SERVICE_POLL_S
                self._follow_alarms()
                if len(self.plant.table.names) != self._layout:
                    self.on_failed("the signal list changed: the OPC-UA server starts again with it")
                    return
                if self._service is not None and not self._booted_alarms:
                    self.on_failed("the alarms started after the OPC-UA server: it starts again with them")
                    return
            if not self._wake.is_set():
                continue
            self._stop.wait(BATCH_S)  # let a batch gather
            self._wake.clear()
            with self._lock:
                taken, self._waiting = self._waiting, []
                overflow, self._overflow = self._overflow, False
            try:
                items = self._items(taken, overflow)
                if items and self.link is not None:
                    self.link.tell("changed", items)
            except Exception:
                log.exception("OPC-UA: the feed to the server failed")

    def _items(self, taken: list[Any], overflow: bool) -> list[tuple[Any, ...]]:
        table = self.plant.table
        forwarded = self._forwarded
        items: list[tuple[Any, ...]] = []
        moved: set[str] = set()
        if overflow:  # the oldest were dropped: every needed signal as it is now
            slots = tuple(sorted(forwarded))
            by_owner: dict[Any, list[int]] = {}
            for slot in slots:
                by_owner.setdefault(table.owners[slot], []).append(slot)
            for owner, owned in by_owner.items():
                items.append(("changed", owner, tuple(owned), tuple(table.values[s] for s in owned),
                              tuple(table.quality[s] for s in owned), time.time()))
            moved.update(self._alarm_slots.values())
        for item in taken:
            if isinstance(item, SignalsChanged):
                slots, values, qualities = item.slots, item.values, item.qualities
                if forwarded.isdisjoint(slots):
                    continue
                keep = [i for i, slot in enumerate(slots) if slot in forwarded]
                if len(keep) != len(slots):
                    slots = tuple(slots[i] for i in keep)
                    values = tuple(values[i] for i in keep)
                    qualities = tuple(qualities[i] for i in keep)
                alarm_slots = self._alarm_slots
                moved.update(alarm_slots[s] for s in slots if s in alarm_slots)
                items.append(("changed", item.owner, slots, values, qualities, item.timestamp))
            else:  # a Transition
                view = self._view(item.alarm)
                items.append(("transition", item.alarm, item.event, item.who, dict(item.details or {}), view))
        if moved and self._service is not None:
            views = {alarm: view for alarm in moved if (view := self._view(alarm)) is not None}
            items.insert(0, ("views", views))
        return items

    def _view(self, alarm: str) -> dict[str, Any] | None:
        service = self._service
        view = service.views.get(alarm) if service is not None else None
        return dict(view) if view is not None else None

    # -- stop -------------------------------------------------------------------------------------

    def alive(self) -> bool:
        process = self.process
        return process is not None and process.poll() is None and self.link is not None \
            and not self.link.closed.is_set()

    def _closed(self) -> None:
        self._wake.set()

    def kill(self) -> None:
        """End the server process abruptly (the chaos tests' crash)."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.kill()

    def stop(self) -> None:
        """Unsubscribe, ask the process to end, and make sure it has (killed past `STOP_TIMEOUT_S`)."""
        self._stop.set()
        self._wake.set()
        self.plant.bus.unsubscribe(self.listener)
        service = self._service
        if service is not None:  # a new list: the committing thread may be iterating over the old one
            service.transition_listeners = [f for f in service.transition_listeners if f != self.on_transition]
        asked = self.link is not None and self.link.try_tell("stop")
        process = self.process
        if process is not None:
            try:
                process.wait(STOP_TIMEOUT_S if asked else 0.1)
            except subprocess.TimeoutExpired:
                log.warning("OPC-UA: the server process did not end%s; killed",
                            f" in {STOP_TIMEOUT_S:.0f} s" if asked else " (its pipe is blocked)")
                process.kill()
                process.wait(5)
        if self.link is not None:
            self.link.close()
        if self._feed is not None and self._feed is not threading.current_thread():
            self._feed.join(5)
        if self._calls is not None:
            self._calls.shutdown(wait=True, cancel_futures=True)
        self.metrics.gauges.up = 0
