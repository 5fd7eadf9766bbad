"""Signal values follow the signal table into their nodes, without slowing the scan.

The bus listener (`ValueFollower.listener`) runs in the publisher's thread (in the server's own process,
the pipe's reader applying PETRA's batch): it only appends the event (immutable columns) to a list under
a lock and, for the first event of a batch, wakes the server's loop, so the publisher pays the same
whatever the number of signals that changed. The
loop takes the events and keeps the last (value, quality, timestamp) per signal (a signal changing every
scan costs one node write per batch), then writes each node with the server's fast path
(`write_attribute_value`, which notifies the monitored items), with the signal's timestamp as
SourceTimestamp and its quality as the StatusCode (Good, Uncertain, Bad).

Past `MAX_EVENTS` waiting events (the loop is starved), the oldest are dropped and the next batch re-reads
every signal from the table instead: memory stays bounded and the nodes end up right.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from asyncua import ua

from petra.messages import SignalsChanged
from petra.opcua.uatypes import status, when
from petra.values import Quality

if TYPE_CHECKING:
    from asyncua import Server

    from petra.opcua.metrics import OpcuaMetrics
    from petra.signals import SignalTable

log = logging.getLogger(__name__)

MIN_BATCH_S = 0.01
"""The shortest time between two batches: changes inside it coalesce (a subscription publishes at most every
publishing interval anyway; asyncua's fastest is ~10 ms)."""
STATUS = {int(Quality.GOOD): status(ua.StatusCodes.Good),
          int(Quality.UNCERTAIN): status(ua.StatusCodes.Uncertain),
          int(Quality.BAD): status(ua.StatusCodes.Bad)}
INT32 = (-(2 ** 31), 2 ** 31 - 1)
MAX_EVENTS = 10_000
"""Bus events waiting for the loop before the oldest are dropped (and the table re-read)."""
UTC = dt.UTC

Pending = dict[int, tuple[Any, int, float]]


def data_value(value: Any, quality: int, timestamp: float, vtype: ua.VariantType,
               now: dt.datetime | None = None) -> ua.DataValue:
    """The DataValue of a signal: its value as `vtype`, its quality as the status, its time as the source's."""
    code = STATUS.get(quality, STATUS[int(Quality.BAD)])
    if vtype is ua.VariantType.Int32 and not (INT32[0] <= value <= INT32[1]):
        code, value, vtype = status(ua.StatusCodes.BadOutOfRange), None, ua.VariantType.Null
    elif code.is_bad():
        value, vtype = None, ua.VariantType.Null  # Part 4 7.7.1: a bad value is null
    return ua.DataValue(ua.Variant(value, vtype), StatusCode=code,
                        SourceTimestamp=when(dt.datetime.fromtimestamp(timestamp, UTC)),
                        ServerTimestamp=when(now or dt.datetime.now(UTC)))


class ValueFollower:
    """Writes every change of the mapped slots to its node; `start` on the server's loop, `stop` from anywhere."""

    def __init__(self, server: Server, table: SignalTable, node_ids: Mapping[int, ua.NodeId],
                 vtypes: Mapping[int, ua.VariantType], metrics: OpcuaMetrics | None = None,
                 subscribe: Callable[[Callable[[SignalsChanged], None]], Any] | None = None,
                 unsubscribe: Callable[[Callable[[SignalsChanged], None]], Any] | None = None) -> None:
        self.server = server
        self.table = table
        self.node_ids = dict(node_ids)
        self.vtypes = dict(vtypes)
        self.metrics = metrics
        self._subscribe = subscribe
        self._unsubscribe = unsubscribe
        self._lock = threading.Lock()
        self._events: list[SignalsChanged] = []
        self._resync = False
        self._woken = False
        self.dropped = 0
        """Times the loop fell `MAX_EVENTS` behind (each time the table was re-read instead)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.written = 0

    def listener(self, event: SignalsChanged) -> None:
        """The bus listener (publisher's thread): queue the event; wake the loop for the first of a batch."""
        with self._lock:
            events = self._events
            events.append(event)
            if len(events) > MAX_EVENTS:
                del events[:len(events) - MAX_EVENTS]
                self._resync = True
                self.dropped += 1
            wake = not self._woken
            if wake:
                self._woken = True
        if wake and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the server is going away
                self._loop.call_soon_threadsafe(self._set)

    def pending_count(self) -> int:
        """Events waiting for the loop."""
        with self._lock:
            return len(self._events)

    def _take(self) -> tuple[Pending, bool]:
        with self._lock:
            events, self._events = self._events, []
            resync, self._resync = self._resync, False
            self._woken = False
        if resync:
            return self._snapshot(), True
        mapped = self.node_ids
        batch: Pending = {}
        for event in events:
            ts = event.timestamp
            for slot, value, quality in zip(event.slots, event.values, event.qualities, strict=False):
                if slot in mapped:
                    batch[slot] = (value, quality, ts)
        return batch, False

    def _snapshot(self) -> Pending:
        table = self.table
        return {slot: (table.values[slot], table.quality[slot], table.timestamps[slot])
                for slot in self.node_ids if slot < len(table.values)}

    def _set(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def start(self) -> None:
        """Subscribe, write every node's current value, then follow the changes (a task on this loop)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self._subscribe is not None:
            self._subscribe(self.listener)
        await self._write(self._snapshot(), dt.datetime.now(UTC))
        self._task = asyncio.create_task(self._run(), name="petra-opcua-values")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, _ = self._take()
            if batch:
                try:
                    await self._write(batch, dt.datetime.now(UTC))
                except Exception:  # one bad value must not stop the values for good
                    log.exception("OPC-UA: writing %d signal values failed", len(batch))
            await asyncio.sleep(MIN_BATCH_S)

    async def _write(self, batch: Pending, now: dt.datetime) -> None:
        write = self.server.write_attribute_value
        node_ids, vtypes = self.node_ids, self.vtypes
        for slot, (value, quality, ts) in batch.items():
            await write(node_ids[slot], data_value(value, quality, ts, vtypes[slot], now))
        self.batches += 1
        self.written += len(batch)
        if self.metrics is not None:
            self.metrics.value_writes.inc(len(batch))

    def stop(self) -> None:
        """Unsubscribe from the bus (any thread); the task ends with its loop."""
        if self._unsubscribe is not None:
            self._unsubscribe(self.listener)
        task, self._task = self._task, None
        if task is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(task.cancel)
