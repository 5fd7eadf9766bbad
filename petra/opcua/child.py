"""The OPC-UA server's own process: asyncua and a copy of the served signals, PETRA's answers over a pipe.

asyncua encodes, signs and encrypts every notification in Python; in PETRA's interpreter that work took the
GIL from the scan (scan work p99 from 10 to 30-50 ms with one client subscribed to 10,000 changing
signals). So the server runs here (`python -m petra.opcua.child FD`, started by `petra.opcua.host`), and
PETRA's process keeps only a bus listener that queues and a thread that forwards.

What crosses the pipe (`petra.link`): first `boot` (the settings, the signal specs and their current
values, the alarms' config and views); then PETRA's `changed` batches (signal changes of the served and
alarm-related signals, alarm transitions, the views they changed), applied to this process's table and
published on its bus, where `ValueFollower` and the conditions follow them as they would in PETRA. This
process asks PETRA (`call`) for what only PETRA may decide: a login (the users file, its lock-out), a
principal's current role, writes (the one remote-write path), alarm commands, the status values; and tells
it the audit events, log records and, each second, its status and metrics (`report`). Nothing here writes a
signal or an alarm itself.

The process ends when PETRA says `stop` or when the pipe closes (PETRA went away).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from petra.bus import ChangeBus
from petra.config.model import SignalConfig
from petra.link import Link
from petra.messages import SignalsChanged
from petra.opcua.settings import OpcuaSettings
from petra.opcua.workers import started_executor
from petra.owners import Owner
from petra.security.roles import Principal, Role
from petra.signals import SignalTable

log = logging.getLogger("petra.opcua.child")

REPORT_S = 1.0
"""How often the status and metrics go to PETRA."""
CALL_TIMEOUT_S = 30.0
NICE = 10
"""The server process's niceness over PETRA's: on a machine short of cores, the scan wins the CPU."""


@dataclass
class Boot:
    """What the server process starts from (pickled by PETRA)."""

    settings: OpcuaSettings
    base_dir: str
    specs: list[SignalConfig]
    index: dict[str, int]
    owners: list[Owner]
    values: list[Any]
    quality: list[int]
    timestamps: list[float]
    alarms: Any = None
    """The alarms' config (`AlarmsConfig`), None without an alarm service."""
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_level: int = logging.INFO


@dataclass
class MirrorPlant:
    """The served signals as this process knows them: a table PETRA keeps current and its change bus."""

    table: SignalTable
    bus: ChangeBus = field(default_factory=ChangeBus)


class MirrorAlarms:
    """The alarm service as the conditions read it: config and views from PETRA; commands asked of PETRA."""

    def __init__(self, config: Any, views: dict[str, dict[str, Any]], link: Link) -> None:
        self.config = config
        self.views = dict(views)
        self.transition_listeners: list[Any] = []
        self._link = link

    def command(self, alarm_id: str, kind: str, who: str, reason: str = "", duration_s: float | None = None) -> Any:
        return self._link.call("alarm_command", alarm_id, kind, who, reason, duration_s, timeout=CALL_TIMEOUT_S)

    def audit(self, event: str, who: str, **details: Any) -> None:
        self._link.tell("alarm_audit", event, who, details)

    def transition(self, alarm: str, event: str, who: str, details: dict[str, Any]) -> None:
        shown = SimpleNamespace(alarm=alarm, event=event, who=who, details=details)
        for listener in list(self.transition_listeners):
            try:
                listener(shown)
            except Exception:
                log.exception("OPC-UA: a transition listener failed")


class RemoteAuthority:
    """Logins and roles as PETRA's `petra.opcua.users.Authority` answers them."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def login(self, username: str, password: str, address: str) -> Role | str:
        return self._link.call("login", username, password, address, timeout=CALL_TIMEOUT_S)

    def current(self, principal: Principal) -> Principal | None:
        return self._link.call("current", principal, timeout=CALL_TIMEOUT_S)


class Backend:
    """What `PetraServer` asks of PETRA, across the pipe."""

    def __init__(self, link: Link, alarms: MirrorAlarms | None) -> None:
        self._link = link
        self.authority = RemoteAuthority(link)
        self._alarms = alarms

    def apply_writes(self, items: list[Any], principal: Principal) -> list[int]:
        return self._link.call("write", items, principal, timeout=CALL_TIMEOUT_S)

    def status_values(self, sessions: int) -> dict[str, Any]:
        return self._link.call("status", sessions, timeout=CALL_TIMEOUT_S)

    def alarm_service(self) -> MirrorAlarms | None:
        return self._alarms


class _LinkLog(logging.Handler):
    """Log records go to PETRA's logging (its journal, its format)."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self._link = link

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._link.tell("log", record.levelno, record.name, self.format(record))
        except Exception:
            self.handleError(record)


def apply_changes(plant: MirrorPlant, alarms: MirrorAlarms | None, items: list[tuple[Any, ...]]) -> None:
    """PETRA's batch, in its order: views first, then each change on the table and the bus, each transition."""
    table = plant.table
    values, quality, stamps = table.values, table.quality, table.timestamps
    for item in items:
        if item[0] == "views":
            if alarms is not None:
                alarms.views.update(item[1])
        elif item[0] == "changed":
            _, owner, slots, new_values, qualities, timestamp = item
            for slot, value, q in zip(slots, new_values, qualities, strict=True):
                values[slot] = value
                quality[slot] = q
                stamps[slot] = timestamp
            plant.bus.publish(SignalsChanged(owner, slots=slots, values=new_values, qualities=qualities,
                                             timestamp=timestamp, names=table.names))
        elif item[0] == "transition" and alarms is not None:
            _, alarm, event, who, details, view = item
            if view is not None:
                alarms.views[alarm] = view
            alarms.transition(alarm, event, who, details)


class ServerProcess:
    """One run of the server in this process."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.stopping = threading.Event()
        self.loop = asyncio.new_event_loop()
        self._stop_event: asyncio.Event | None = None
        self.server: Any = None

    def run(self) -> int:
        with contextlib.suppress(OSError):  # the scan first: the server serves in the CPU time the plant leaves
            os.nice(NICE)
        first = pickle.loads(self.conn.recv_bytes())
        boot: Boot = first[2][0]
        calls = ThreadPoolExecutor(1, thread_name_prefix="petra-opcua-child-call")
        link = self.link = Link(self.conn, {}, calls, name="petra-opcua-child-link", on_closed=self._closed)
        root = logging.getLogger()
        root.handlers[:] = [_LinkLog(link)]
        root.setLevel(boot.log_level)
        table = SignalTable(boot.specs)
        table.index, table.owners = boot.index, boot.owners  # removed signals' slots stay out of the index
        table.values[:], table.quality[:], table.timestamps[:] = boot.values, boot.quality, boot.timestamps
        plant = MirrorPlant(table)
        alarms = MirrorAlarms(boot.alarms, boot.views, link) if boot.alarms is not None else None
        link.handlers.update({
            "changed": lambda items: apply_changes(plant, alarms, items),
            "stop": lambda: self._closed(),
            "status": lambda: self.server.status() if self.server is not None else {},
        })
        link.start()
        executor = started_executor()
        self.loop.set_default_executor(executor)
        try:
            return self.loop.run_until_complete(self._serve(boot, plant, alarms, link, executor))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            calls.shutdown(wait=False, cancel_futures=True)

    def _closed(self) -> None:
        self.stopping.set()
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._stop_event is not None:
            self._stop_event.set()

    async def _serve(self, boot: Boot, plant: MirrorPlant, alarms: MirrorAlarms | None, link: Link,
                     executor: ThreadPoolExecutor) -> int:
        from prometheus_client import CollectorRegistry

        from petra.opcua.metrics import OpcuaMetrics, counter_values
        from petra.opcua.server import PetraServer

        self._stop_event = asyncio.Event()
        if self.stopping.is_set():
            return 0
        metrics = OpcuaMetrics(CollectorRegistry())
        _tell_counts(metrics, link)

        def audit(event: str, actor: str, **details: Any) -> None:
            link.tell("audit", event, actor, details)

        server = self.server = PetraServer(plant, boot.settings, Backend(link, alarms), metrics, audit,
                             base_dir=Path(boot.base_dir), executor=executor)
        try:
            await server.start()
        except Exception as exc:
            log.exception("OPC-UA: the server did not start: %s: %s", type(exc).__name__, exc)
            link.tell("failed", f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                await server.stop()
            return 1
        gc.collect()  # the address space is long-lived: no full collection walks it again (p99 latency)
        gc.freeze()
        link.tell("ready", {"endpoint": server.endpoint, "port": server.port, "namespace": server.namespace,
                            "build_s": server.build_s})
        try:
            while not self.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), REPORT_S)
                if not server.listening():  # asyncua's listener went: end, so PETRA starts a server anew
                    log.error("OPC-UA: the server stopped listening")
                    return 1
                server.measure()
                link.tell("report", server.status(), vars(metrics.gauges).copy(), counter_values(metrics))
        finally:
            await asyncio.wait_for(server.stop(), 5.0)
            link.tell("report", server.status(), vars(metrics.gauges).copy(), counter_values(metrics))
        return 0


class _TellingCounter:
    """A counter of this process that PETRA hears of at once (refusals, events: a client's failed login is in
    PETRA's metrics before the client has read the answer); the totals also go in each report."""

    def __init__(self, counter: Any, name: str, link: Link, labels: tuple[str, ...] = ()) -> None:
        self._counter, self._name, self._link, self._labels = counter, name, link, labels

    def labels(self, *values: str) -> _TellingCounter:
        return _TellingCounter(self._counter.labels(*values), self._name, self._link, values)

    def inc(self, amount: float = 1.0) -> None:
        self._counter.inc(amount)
        # the total, not the increment: PETRA adds what it has not seen, in whatever order tells and reports come
        self._link.tell("count", self._name, self._labels, self._counter._value.get())

    def collect(self) -> Any:
        return self._counter.collect()


def _tell_counts(metrics: Any, link: Link) -> None:
    for name in ("writes", "refused", "events"):
        setattr(metrics, name, _TellingCounter(getattr(metrics, name), name, link))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    conn = Connection(int(args[0]))
    try:
        return ServerProcess(conn).run()
    finally:
        with contextlib.suppress(OSError):
            conn.close()


if __name__ == "__main__":
    sys.exit(main())
