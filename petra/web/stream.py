"""One event stream per browser tab, multiplexed: what it carries is set and changed by `PUT /v1/stream/ID`.

Browsers open at most six HTTP/1.1 connections per host, so a tab opens one `GET /v1/stream` (server-sent
events) and says what it wants on it, as often as its pages change, without reconnecting::

    event: hello     data: {"id": "<stream id>"}                          first, always
    event: changes   data: {"changes": [{"name", "value", "quality", "timestamp"}...], "dropped": N}
    event: alarms    data: <the alarm's view, as GET /v1/alarms/ID gives it>   each alarm state change
    event: status    data: <GET /v1/status without "process">           once a second
    : keep-alive                                                          after 5 s without an event

A subscription (`Subscription.parse`) replaces the previous one whole: `signals` is a list of names and
shell patterns or "*", `alarms` and `status` booleans. The first `changes` after it carries the current
value of every signal it added (a page shows values at once, not at their next change).

Changes are batched: at most one `changes` event per `BATCH_S` per stream. Each stream queues at most
`MAX_PENDING` changes; past that (a slow tab, a slow network) it counts them in `dropped` (the total so
far) instead of holding memory. At most `MAX_STREAMS` streams are open (503 past it).

Threads and cost: `StreamHub.listener` runs in the publishing owner's thread (one bus listener for every
stream, subscribed while a stream is open) and does no work per change and none per stream: it appends the
event to the hub's list and, for the first event since the last batch, asks the HTTP loop (one
`call_soon_threadsafe`) for a `tick` at most `BATCH_S` after the previous one, run once the scan under way
has ended (at most `MAX_GAP_WAIT_S` later): a batch for 50 tabs is milliseconds of Python, which inside a
scan would share the interpreter with it and stretch its work. A batch of many changed signals (10,000 on 50
tabs: tens of milliseconds, more than the gap of a 50 ms scan) goes out in slices of at most `SLICE_S`, each
in a gap, and each stream's write waits for a gap too (`between_scans`), as do the status (computed once a
second for every stream), the session's re-check and the trend ring's slices. A gap is no scan under way and
the next not due within `GUARD_S`; what waits for one shares one future, settled when the scan's thread says
a scan completed (`ScanStats.on_scan`), not by polling, and each waiter looks again when it wakes, so a run
of 50 writes stops at the next scan. The tick, on the loop, merges
the batch's events into the latest (value, quality, time) of each changed slot in C (`dict.update` over
zipped columns: a signal that changed twice in a batch is sent once, with its last value), finds each
stream's changed slots by one set intersection, encodes each changed slot's JSON once for every stream that
carries it (`Encoder`, cached per batch), and hands each stream its joined bytes. So the scan's threads pay
one list append per event, and the server's work per client is one set intersection and one bytes join per
batch. A `PUT` runs in the API's thread pool and swaps the subscription whole.

A change item also carries `"forced": true` and `"force_reason"` while the signal is forced (so a page shows
FORCED live). Forcing or releasing does not always publish a change, so each tick, and each stream's pump
once a second (`poll_forced`), compares the table's forced signals with the last ones seen: a signal forced,
released or forced anew is sent again with its current value, with or without the flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from petra.alarms.checks import alarm_state_slots
from petra.control.calls import ApiError
from petra.messages import SignalsChanged
from petra.plant import Plant
from petra.values import Quality

BATCH_S = 0.1
MAX_GAP_WAIT_S = 0.05
"""A batch waits for the scan under way to end at most this long (a scan that overruns does not hold the
streams back longer)."""
SLICE_S = 0.002
"""A batch's work runs on the loop in slices of about this long, each between two scans."""
GUARD_S = 0.003
"""A slice starts only if the next scan is due at least this much later (more than a slice, so it ends first)."""
ENCODE_SLICE = 250
STREAM_SLICE = 10
STATUS_S = 1.0
KEEPALIVE_S = 5.0
MAX_PENDING = 20_000
MAX_STREAMS = 64
MAX_NAMES = 100_000
GLOB = frozenset("*?[")

Change = tuple[str, Any, str, float]
"""(name, value, quality, timestamp) as the stream sends it."""


@dataclass(frozen=True)
class Subscription:
    """What one stream carries: the slots of its signals (None: all), alarm changes, status."""

    signals: frozenset[int] | None = frozenset()
    alarms: bool = False
    status: bool = False
    asked: tuple[str, ...] | str = ()
    """The signals as the client asked for them (echoed by PUT)."""

    @classmethod
    def parse(cls, data: dict[str, Any], index: dict[str, int]) -> Subscription:
        """The subscription a PUT body asks for; ApiError 400 with what was expected otherwise."""
        unknown = sorted(set(data) - {"signals", "alarms", "status"})
        if unknown:
            raise ApiError(400, f"unknown key {unknown[0]!r}: a subscription has signals, alarms and status")
        for key in ("alarms", "status"):
            if not isinstance(data.get(key, False), bool):
                raise ApiError(400, f"{key} must be true or false")
        asked = data.get("signals", [])
        if asked == "*":
            return cls(None, data.get("alarms", False), data.get("status", False), "*")
        if not isinstance(asked, list) or not all(isinstance(n, str) and n for n in asked):
            raise ApiError(400, 'signals must be "*" or a list of signal names and shell patterns')
        if len(asked) > MAX_NAMES:
            raise ApiError(400, f"at most {MAX_NAMES} signal names in one subscription")
        slots: set[int] = set()
        missing = []
        names = list(index.items())
        for name in asked:
            if GLOB & set(name):
                slots.update(slot for known, slot in names if fnmatch.fnmatchcase(known, name))
            elif name in index:
                slots.add(index[name])
            else:
                missing.append(name)
        if missing:
            shown = ", ".join(repr(n) for n in missing[:10])
            raise ApiError(400, f"unknown signal{'s' if len(missing) > 1 else ''} {shown}"
                                f"{' ...' if len(missing) > 10 else ''}")
        return cls(frozenset(slots), data.get("alarms", False), data.get("status", False), tuple(asked))

    def describe(self, stream_id: str) -> dict[str, Any]:
        return {"id": stream_id, "signals": "*" if self.signals is None else list(self.asked),
                "matched": None if self.signals is None else len(self.signals), "alarms": self.alarms,
                "status": self.status}


class Stream:
    """One tab's stream: its subscription, the changes waiting for the next batch, the alarms that moved."""

    def __init__(self, stream_id: str, owner: str, loop: asyncio.AbstractEventLoop) -> None:
        self.id = stream_id
        self.owner = owner
        """The principal's name that opened it: only it may change the subscription."""
        self.loop = loop
        self.wake = asyncio.Event()
        self.subscription = Subscription()
        self.closed = False
        self._lock = threading.Lock()
        self._pending: list[Change] = []
        self._encoded: list[bytes] = []
        """Batches of changes as the hub's tick encoded them (comma-joined JSON objects)."""
        self._encoded_count = 0
        self._alarms: set[str] = set()
        self.dropped = 0

    def offer(self, changes: list[Change]) -> None:
        """Queue changes for the next batch (any thread); past MAX_PENDING they are counted, not kept."""
        with self._lock:
            room = MAX_PENDING - len(self._pending) - self._encoded_count
            if room < len(changes):
                self.dropped += len(changes) - max(room, 0)
                changes = changes[:max(room, 0)]
            first = not self._pending and not self._alarms
            self._pending.extend(changes)
        if first:
            self._poke()

    def offer_encoded(self, items: bytes, count: int) -> None:
        """Queue `count` changes already encoded (by the hub's tick, on the loop); past MAX_PENDING counted."""
        with self._lock:
            if len(self._pending) + self._encoded_count + count > MAX_PENDING:
                self.dropped += count
                return
            first = not self._pending and not self._alarms and not self._encoded
            self._encoded.append(items)
            self._encoded_count += count
        if first:
            self.wake.set()

    def take_encoded(self) -> list[bytes]:
        """The encoded batches queued since the last call (sent after `take`'s changes: they are newer)."""
        with self._lock:
            encoded, self._encoded, self._encoded_count = self._encoded, [], 0
            return encoded

    def alarm_moved(self, alarm_id: str) -> None:
        with self._lock:
            first = not self._pending and not self._alarms
            self._alarms.add(alarm_id)
        if first:
            self._poke()

    def take(self) -> tuple[list[Change], list[str], int]:
        """What the next batch sends: the changes, the alarms that moved, the dropped count so far."""
        with self._lock:
            pending, self._pending = self._pending, []
            alarms, self._alarms = sorted(self._alarms), set()
            return pending, alarms, self.dropped

    def has_news(self) -> bool:
        with self._lock:
            return bool(self._pending or self._alarms or self._encoded)

    def close(self) -> None:
        self.closed = True
        self._poke()

    def _poke(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the stream is gone anyway
            self.loop.call_soon_threadsafe(self.wake.set)


class StreamHub:
    """The open streams of the web listener and their one bus listener; kept across restarts of the web actor."""

    def __init__(self, plant: Plant, max_streams: int = MAX_STREAMS) -> None:
        self.plant = plant
        self.max_streams = max_streams
        self._lock = threading.Lock()
        self._streams: dict[str, Stream] = {}
        self._alarm_layout = -1
        self._alarm_slots: dict[int, str] = {}
        self._events: list[SignalsChanged] = []
        self._tick_asked = False
        self._last_tick = -1e9
        self._loop: asyncio.AbstractEventLoop | None = None
        self.encoder = Encoder(plant)
        self.ticks = 0
        self._forced: dict[int, tuple[Any, str]] = {}
        self._batch: Iterator[None] | None = None
        """The batch going out a slice at a time (on the loop), if any."""
        self._gap: asyncio.Future[bool] | None = None
        self._queued: float | None = None
        """The `latest` of a tick asked for while a batch was still going out (it runs next)."""
        self._hears_scans = False

    def open(self, owner: str, loop: asyncio.AbstractEventLoop) -> Stream:
        """A new stream for `owner`; ApiError 503 past `max_streams`."""
        with self._lock:
            if len(self._streams) >= self.max_streams:
                raise ApiError(503, f"{self.max_streams} streams are open already; close a tab or try again later")
            stream = Stream(secrets.token_urlsafe(12), owner, loop)
            self._streams[stream.id] = stream
            if len(self._streams) == 1:  # the first on this loop (the hub outlives the web actor's loops)
                self._loop = loop
                self._events = []
                self._tick_asked = False
                self._batch = self._gap = self._queued = None  # what was under way on a stopped loop is for nobody
                self.plant.bus.subscribe(self.listener)
        return stream

    def close(self, stream: Stream) -> None:
        stream.close()
        with self._lock:
            if self._streams.pop(stream.id, None) is not None and not self._streams:
                self.plant.bus.unsubscribe(self.listener)

    def close_all(self) -> None:
        for stream in self.streams():
            self.close(stream)

    def streams(self) -> list[Stream]:
        with self._lock:
            return list(self._streams.values())

    def subscribe(self, stream_id: str, owner: str, data: dict[str, Any]) -> dict[str, Any]:
        """Give the stream a new subscription (a PUT); 404 for a stream unknown, closed or someone else's."""
        with self._lock:
            stream = self._streams.get(stream_id)
        if stream is None or stream.closed or stream.owner != owner:
            raise ApiError(404, f"no open stream '{stream_id[:64]}' of yours: open GET /v1/stream again")
        table = self.plant.table
        new = Subscription.parse(data, table.index)
        old = stream.subscription
        stream.subscription = new
        added = _added(new.signals, old.signals, len(table.names))
        if added:
            stream.offer([(table.names[slot], table.values[slot], _quality(table.quality[slot]),
                           table.timestamps[slot]) for slot in sorted(added) if slot < len(table.names)])
        return new.describe(stream.id)

    def listener(self, event: SignalsChanged) -> None:
        """The bus listener (in the publisher's thread): keep the event for the next tick, ask the loop for it."""
        if not event.slots:
            return
        with self._lock:
            self._events.append(event)
            if self._tick_asked:
                return
            self._tick_asked = True
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the streams are gone with it
                loop.call_soon_threadsafe(self._tick_soon)

    def _tick_soon(self) -> None:
        """On the loop: tick now, or when `BATCH_S` has passed since the last one (in the scan's gap)."""
        wait = self._last_tick + BATCH_S - time.monotonic()
        if wait > 0 and self._loop is not None:
            self._loop.call_later(wait, self._tick_between_scans, time.monotonic() + wait + MAX_GAP_WAIT_S)
        else:
            self._tick_between_scans(time.monotonic() + MAX_GAP_WAIT_S)

    def in_gap(self) -> bool:
        """Whether a slice of Python may run now without sharing the interpreter with a scan: none is under way
        and the next is not due within `GUARD_S` (expected one scan period after the last tick; a clock that
        has stopped ticking for more than a period holds nothing back)."""
        stats = self.plant.stats
        tick, done = stats.last_tick_monotonic, stats.last_complete_monotonic
        if tick is None:
            return True
        if (done is None or done < tick) and self.plant.main_has_chains:
            return False  # a scan under way (without chains the main task's scans never complete: only ticks)
        period = self.plant.scan_time_s
        return not tick + period - GUARD_S <= time.monotonic() <= tick + 2 * period

    def _tick_between_scans(self, latest: float) -> None:
        """The tick once the scan under way is done (a batch for many streams is milliseconds of Python that
        would otherwise share the interpreter with the scan, stretching its work), at the latest `latest`; after
        the batch still going out, if any (streams get batches in order)."""
        if self._batch is not None:
            if self._queued is None:  # the first asked keeps its bound
                self._queued = latest
            return
        self._batch = self._batch_steps()
        self._run_batch(self._batch, latest)

    def _run_batch(self, steps: Iterator[None], latest: float) -> None:
        """On the loop: the batch `steps`, a slice of at most `SLICE_S` at a time, each once no scan is under way
        (or at `latest`): a batch of 10,000 changed signals is tens of milliseconds, longer than the gap of a
        50 ms scan."""
        loop = self._loop
        if steps is not self._batch:
            return  # dropped (the streams it was for are gone)
        if loop is not None and not self.in_gap() and time.monotonic() < latest:
            self._gap_future(loop).add_done_callback(lambda _: self._run_batch(steps, latest))
            return
        until = time.monotonic() + SLICE_S
        try:
            for _ in steps:
                if loop is not None and time.monotonic() >= until:
                    loop.call_soon(self._run_batch, steps, time.monotonic() + MAX_GAP_WAIT_S)
                    return
        except BaseException:
            self._batch_done()  # a batch that failed is lost, not the ones after it
            raise
        self._batch_done()

    def _batch_done(self) -> None:
        """The batch went out (or failed): the tick asked for meanwhile, if any, comes next."""
        self._batch = None
        queued, self._queued = self._queued, None
        if queued is not None and self._loop is not None:
            self._loop.call_soon(self._tick_between_scans, queued)

    def tick(self) -> None:
        """The batch's latest change per slot to every stream that carries it, encoded once (all at once; on the
        loop the ticks run `_batch_steps` a slice at a time)."""
        steps, self._batch = self._batch, None
        if steps is not None:  # finish the one under way first: streams get batches in order
            for _ in steps:
                pass
        for _ in self._batch_steps():
            pass

    def _batch_steps(self) -> Iterator[None]:
        """One batch, yielding between slices of its work (`ENCODE_SLICE` slots encoded, a slice of streams)."""
        with self._lock:
            events, self._events = self._events, []
            self._tick_asked = False
        self._last_tick = time.monotonic()
        table = self.plant.table
        forced = table.forced
        flipped = () if forced == self._forced else self._flipped()
        if not events and not flipped:
            return
        self.ticks += 1
        latest: dict[int, tuple[Any, int, float]] = {}
        for event in events:
            columns = zip(event.values, event.qualities, repeat(event.timestamp), strict=False)
            latest.update(zip(event.slots, columns, strict=True))
        for slot in flipped:  # the table's value now: newer than the batch's events (a force writes it there)
            if slot < len(table.values):
                latest[slot] = (table.values[slot], table.quality[slot], table.timestamps[slot])
        streams = self.streams()
        changed = latest.keys()
        wanted = [(stream, changed if stream.subscription.signals is None else stream.subscription.signals & changed)
                  for stream in streams]
        needed: set[int] = set()
        for _, slots in wanted:
            needed.update(slots)
        order = sorted(needed)
        encoded: dict[int, bytes] = {}
        for first in range(0, len(order), ENCODE_SLICE):
            encoded.update(self.encoder.encode(latest, order[first:first + ENCODE_SLICE], forced))
            yield
        for k, (stream, slots) in enumerate(wanted, 1):
            if slots:
                stream.offer_encoded(b",".join([encoded[slot] for slot in sorted(slots)]), len(slots))
            if k % STREAM_SLICE == 0:
                yield
        if any(s.subscription.alarms for s in streams):
            alarm_slots = self._alarm_state_slots()
            moved = {alarm_slots[slot] for slot in alarm_slots.keys() & changed}
            for stream in streams:
                if stream.subscription.alarms:
                    for alarm_id in moved:
                        stream.alarm_moved(alarm_id)

    async def between_scans(self) -> None:
        """Return in a gap between two scans (`in_gap`), or once one has been awaited for `MAX_GAP_WAIT_S`: a
        stream's write waits for the gap. Every stream waiting shares one future, and each looks again when it
        wakes (50 writes one after the other would otherwise run on into the next scan)."""
        while not self.in_gap():
            if not await asyncio.shield(self._gap_future(asyncio.get_running_loop())):
                return  # waited the longest a write may

    def _gap_future(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bool]:
        """The one future of everything waiting on `loop` for the gap: True once a scan completes into a gap
        (the scan's thread says so: no polling, which would take the interpreter from the scan every
        millisecond), False after `MAX_GAP_WAIT_S`."""
        gap = self._gap
        if gap is None or gap.done() or gap.get_loop() is not loop:
            gap = self._gap = loop.create_future()
            timer = loop.call_later(MAX_GAP_WAIT_S, _settle, gap, False)
            gap.add_done_callback(lambda _: timer.cancel())
            if not self._hears_scans:
                self._hears_scans = True
                self.plant.stats.on_scan(self._scan_completed)
        return gap

    def _scan_completed(self) -> None:
        """In the thread that completed a scan: wake what waits for the gap, if anything does."""
        gap = self._gap
        if gap is not None and not gap.done():
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing waits on it now
                gap.get_loop().call_soon_threadsafe(self._settle_in_gap, gap)

    def _settle_in_gap(self, gap: asyncio.Future[bool]) -> None:
        if self.in_gap():  # not when the scan overran into the next tick: the next completion says
            _settle(gap, True)

    def _flipped(self) -> set[int]:
        """The slots forced, released or forced anew since the last look (which this one becomes)."""
        now = dict(self.plant.table.forced)
        before, self._forced = self._forced, now
        return {slot for slot in now.keys() | before.keys() if now.get(slot) != before.get(slot)}

    def poll_forced(self) -> None:
        """On the loop: a tick now when a signal was forced or released since the last one (no change may say
        so)."""
        if self.plant.table.forced != self._forced:
            self.tick()

    def _alarm_state_slots(self) -> dict[int, str]:
        """Slot -> alarm id of every `alarm.<id>.state|acked|active` signal (again after a reload)."""
        names = self.plant.table.names
        if len(names) != self._alarm_layout:
            self._alarm_slots, self._alarm_layout = alarm_state_slots(list(names)), len(names)
        return self._alarm_slots


class Encoder:
    """A change item's JSON, `{"name", "value", "quality", "timestamp"}` (plus `forced`, `force_reason`),
    as bytes: each signal's name part is made once (again when a reload changes the table), each changed
    slot's item once per batch whatever the number of streams carrying it."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        self._names: list[str] = []
        self._heads: list[str] = []
        self._qualities = {int(q): f',"quality":"{q.name.lower()}","timestamp":' for q in Quality}

    def encode(self, latest: dict[int, tuple[Any, int, float]], slots: Iterable[int],
               forced: dict[int, tuple[Any, str]]) -> dict[int, bytes]:
        """Each of `slots`' item for its value in `latest` (one loop: no call per item)."""
        names = self.plant.table.names
        if len(names) != len(self._names):
            self._name_parts(names)
        heads, known, qualities, isfinite, out = self._heads, self._names, self._qualities, math.isfinite, {}
        # each (quality, timestamp)'s tail is made once: an event's slots share its time, and a float's
        # repr is most of an item's cost
        tails: dict[tuple[int, float], str] = {}
        for slot in slots:
            if names[slot] is not known[slot] and names[slot] != known[slot]:  # a reload renamed slots
                self._name_parts(names)
                heads, known = self._heads, self._names
            value, quality, ts = latest[slot]
            kind = type(value)
            if kind is float and isfinite(value):
                text = repr(value)
            elif kind is bool:
                text = "true" if value else "false"
            elif kind is int:
                text = str(value)
            else:
                text = json.dumps(value, default=str)
            force = forced.get(slot) if forced else None
            tail = tails.get((quality, ts))
            if tail is None:
                quality_part = qualities.get(int(quality)) or f',"quality":"{quality}","timestamp":'
                tail = tails[(quality, ts)] = quality_part + repr(float(ts)) + "}"
            if force is not None:
                tail = tail[:-1] + ',"forced":true,"force_reason":' + json.dumps(force[1]) + "}"
            out[slot] = (heads[slot] + text + tail).encode()
        return out

    def _name_parts(self, names: Iterable[str]) -> None:
        self._names = list(names)
        self._heads = ['{"name":' + json.dumps(name) + ',"value":' for name in self._names]

    def items(self, changes: Iterable[Change]) -> list[bytes]:
        """Items for queued (name, value, quality, timestamp) changes: a new subscription's current values."""
        index, forced = self.plant.table.index, self.plant.table.forced
        out = []
        for name, value, quality, ts in changes:
            slot = index.get(name)
            force = forced.get(slot) if slot is not None else None
            out.append(json.dumps({"name": name, "value": value, "quality": quality, "timestamp": ts,
                                   **({"forced": True, "force_reason": force[1]} if force else {})},
                                  default=str).encode())
        return out


def _settle(gap: asyncio.Future[bool], result: bool) -> None:
    if not gap.done():
        gap.set_result(result)


def _added(new: frozenset[int] | None, old: frozenset[int] | None, size: int) -> set[int]:
    """The slots `new` carries that `old` did not (None: every slot)."""
    new_slots = set(range(size)) if new is None else set(new)
    if old is None:
        return set()
    return new_slots - old


def _quality(value: int) -> str:
    return Quality(value).name.lower()


class StatusCache:
    """The streams' status (`GET /v1/status` without `process`), computed (and its JSON encoded) at most once
    per `STATUS_S` for every stream together."""

    def __init__(self, compute: Callable[[], Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.compute = compute
        self.clock = clock
        self._lock = threading.Lock()
        self._at = -1e9
        self._text: str | None = None

    def text(self) -> str | None:
        """The status as JSON (None while there is none), computed and encoded once for every stream."""
        with self._lock:
            now = self.clock()
            if now - self._at >= STATUS_S * 0.9:
                body = self.compute()
                self._at, self._text = now, None if body is None else json.dumps(body, default=str)
            return self._text
