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

Changes are batched: the hub makes at most one batch per `BATCH_S` (a new subscription's current values go
out at once, besides). Each stream queues at most
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
second for every stream), the session's re-check and the trend ring's slices. The writers have no timers of
their own: a stream's writer runs when the hub wakes it, in a gap (a batch handed out; the web app's
once-a-second round for the status, keep-alives and a tab gone), so 50 tabs are 50 steps in the gap rather
than 50 sets of timers firing into scans. A gap is no scan under way and
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
FORCED live). Forcing or releasing does not always publish a change, so each tick, and once a second
(`poll_forced`), compares the table's forced signals with the last ones seen: a signal forced,
released or forced anew is sent again with its current value, with or without the flag. (The once-a-second
look is the web app's round, `WebApp._tend`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from petra import jsontext
from petra.alarms.checks import alarm_state_slots
from petra.control.calls import ApiError
from petra.messages import SignalsChanged
from petra.plant import Plant
from petra.values import Quality
from petra.web.fanout import Columns, Encoded, Encoder, Latest, fan_out, merge
from petra.web.fanout_host import FanoutProcess

log = logging.getLogger(__name__)

BATCH_S = 0.1
MAX_GAP_WAIT_S = 0.05
ANSWER_TIMEOUT_S = 2.0
"""The fan-out process answers a batch within this, or it is killed and the hub makes the batch itself."""
FANOUT_RETRY_S = 10.0
"""After the fan-out process failed, the hub makes the batches itself this long before it starts another."""
"""A batch waits for the scan under way to end at most this long (a scan that overruns does not hold the
streams back longer)."""
SLICE_S = 0.002
"""A batch's work runs on the loop in slices of about this long, each between two scans."""
GUARD_S = 0.003
"""A slice starts only if the next scan is due at least this much later (more than a slice, so it ends first)."""
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
        self._status: str | None = None
        self.status_now = False
        """The subscription has just asked for the status: the writer sends it when next woken."""
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
            self.poke()

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
            self.poke()

    def take(self) -> tuple[list[Change], list[str], int]:
        """What the next batch sends: the changes, the alarms that moved, the dropped count so far."""
        with self._lock:
            pending, self._pending = self._pending, []
            alarms, self._alarms = sorted(self._alarms), set()
            return pending, alarms, self.dropped

    def give_status(self, text: str) -> None:
        """The status to send when next woken (on the loop: the web app's once-a-second round)."""
        self._status = text

    def take_status(self) -> str | None:
        status, self._status = self._status, None
        return status

    def has_news(self) -> bool:
        with self._lock:
            return bool(self._pending or self._alarms or self._encoded)

    def close(self) -> None:
        self.closed = True
        self.poke()

    def poke(self) -> None:
        """Wake the stream's writer from any thread (it waits for the gap between two scans itself)."""
        with contextlib.suppress(RuntimeError):  # the loop closed: the stream is gone anyway
            self.loop.call_soon_threadsafe(self.wake.set)


class StreamHub:
    """The open streams of the web listener and their one bus listener; kept across restarts of the web actor."""

    def __init__(self, plant: Plant, max_streams: int = MAX_STREAMS, fanout: bool = True) -> None:
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
        self.encoder = Encoder(lambda: plant.table.names)
        self.ticks = 0
        self._forced: dict[int, tuple[Any, str]] = {}
        self._batch: Iterator[None] | None = None
        """The batch going out a slice at a time (on the loop), if any."""
        self._gap: asyncio.Future[bool] | None = None
        self._queued: float | None = None
        """The `latest` of a tick asked for while a batch was still going out (it runs next)."""
        self._hears_scans = False
        self._use_fanout = fanout
        """Whether batches are made in the fan-out process (`petra.web.fanout_child`) when it is there."""
        self._fanout: FanoutProcess | None = None
        self._fanout_retry_at = 0.0
        self._inflight: tuple[int, list[Columns], Latest, asyncio.TimerHandle | None] | None = None
        """The batch the fan-out process is making: its id, its events and forced values, the answer's timer."""
        self._batch_ids = itertools.count(1)
        self._subscriptions_changed = True
        self._failures = _fanout_failures(plant)

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
                self._batch = self._gap = self._queued = self._inflight = None  # for nobody now
                self._start_fanout()
                self.plant.bus.subscribe(self.listener)
            self._subscriptions_changed = True
        return stream

    def close(self, stream: Stream) -> None:
        stream.close()
        with self._lock:
            if self._streams.pop(stream.id, None) is None:
                return
            self._subscriptions_changed = True
            if self._streams:
                return
            self.plant.bus.unsubscribe(self.listener)
            fanout, self._fanout = self._fanout, None
        if fanout is not None:
            fanout.stop()

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
        self._subscriptions_changed = True
        added = _added(new.signals, old.signals, len(table.names))
        if added:
            stream.offer([(table.names[slot], table.values[slot], _quality(table.quality[slot]),
                           table.timestamps[slot]) for slot in sorted(added) if slot < len(table.names)])
        if new.status and not old.status:  # its writer sends the status at once, not at the next round
            stream.status_now = True
            if not added:
                stream.poke()
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
        if self._batch is not None or self._inflight is not None:
            if self._queued is None:  # the first asked keeps its bound
                self._queued = latest
            return
        if self._fanout_ready():
            self._send_batch(latest)
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
        if self._later_in_gap(latest, lambda: self._run_batch(steps, latest)):
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
        self._batch = self._inflight = None
        queued, self._queued = self._queued, None
        if queued is not None and self._loop is not None:
            self._loop.call_soon(self._tick_between_scans, queued)

    def tick(self) -> None:
        """The batch's latest change per slot to every stream that carries it, encoded once (all at once; on the
        loop the ticks run `_batch_steps` a slice at a time)."""
        steps, self._batch = self._batch, None
        inflight, self._inflight = self._inflight, None
        if inflight is not None and inflight[0] != 0:  # the fan-out process's batch: made here, first
            if inflight[3] is not None:
                inflight[3].cancel()
            for _ in self._batch_steps((inflight[1], inflight[2])):
                pass
        if steps is not None:  # finish the one under way first: streams get batches in order
            for _ in steps:
                pass
        for _ in self._batch_steps():
            pass

    def _take_events(self) -> tuple[list[Columns], Latest] | None:
        """The batch's events as columns, and the table's value of each signal whose force changed; None for
        an empty batch."""
        with self._lock:
            events, self._events = self._events, []
            self._tick_asked = False
        self._last_tick = time.monotonic()
        table = self.plant.table
        flipped = () if table.forced == self._forced else self._flipped()
        if not events and not flipped:
            return None
        self.ticks += 1
        columns: list[Columns] = [(event.slots, event.values, event.qualities, event.timestamp) for event in events]
        # the table's value now: newer than the batch's events (a force writes it there)
        extra: Latest = {slot: (table.values[slot], table.quality[slot], table.timestamps[slot])
                 for slot in flipped if slot < len(table.values)}
        return columns, extra

    def _batch_steps(self, taken: tuple[list[Columns], Latest] | None = None) -> Iterator[None]:
        """One batch made here (of `taken`, else of the events now), yielding between slices of its work."""
        if taken is None:
            taken = self._take_events()
            if taken is None:
                return
        columns, extra = taken
        latest = merge(columns)
        latest.update(extra)
        streams = self.streams()
        out: Encoded = {}
        subscriptions = {stream.id: stream.subscription.signals for stream in streams}
        yield from fan_out(latest, subscriptions, self.encoder, self.plant.table.forced, out)
        self._deliver_encoded(streams, out, frozenset(self._alarm_state_slots().keys() & latest.keys())
                              if any(s.subscription.alarms for s in streams) else frozenset())

    def _deliver_encoded(self, streams: list[Stream], out: Encoded, moved_slots: frozenset[int]) -> None:
        """Each stream its bytes, and the alarms that moved to each stream that carries alarms."""
        for stream in streams:
            encoded = out.get(stream.id)
            if encoded is not None:
                stream.offer_encoded(*encoded)
        if moved_slots:
            alarm_slots = self._alarm_state_slots()
            moved = {alarm_slots[slot] for slot in moved_slots if slot in alarm_slots}
            for stream in streams:
                if stream.subscription.alarms:
                    for alarm_id in moved:
                        stream.alarm_moved(alarm_id)

    # -- the fan-out process ----------------------------------------------------------------------------

    def _start_fanout(self) -> None:
        """Start the fan-out process (with the first stream); the hub makes the batches itself when it cannot."""
        if not self._use_fanout or self._fanout is not None or time.monotonic() < self._fanout_retry_at:
            return
        fanout = FanoutProcess(self._on_encoded, self._on_failed, self._on_gone)
        try:
            fanout.start()
        except Exception as exc:
            self._fanout_failed("start", f"could not be started ({type(exc).__name__}: {exc})")
            return
        self._fanout = fanout

    def _fanout_ready(self) -> bool:
        if self._fanout is None and self._use_fanout and self._streams:
            self._start_fanout()  # again after a failure, once FANOUT_RETRY_S has passed
        return self._fanout is not None and self._fanout.ready.is_set() and self._loop is not None

    def _send_batch(self, latest: float) -> None:
        """On the loop, in a gap (pickling the batch is C, but not nothing): the batch to the fan-out process."""
        loop, fanout = self._loop, self._fanout
        if self._later_in_gap(latest, lambda: self._send_held(latest)):
            self._inflight = (0, [], {}, None)  # held: nothing else starts meanwhile
            return
        taken = self._take_events()
        if taken is None:
            self._batch_done()
            return
        if fanout is None or loop is None:
            self._run_taken(taken)
            return
        columns, extra = taken
        table = self.plant.table
        subscriptions = None
        if self._subscriptions_changed:
            self._subscriptions_changed = False
            subscriptions = {stream.id: stream.subscription.signals for stream in self.streams()}
        batch_id = next(self._batch_ids)
        sent = len(table.names) == fanout.names_sent or fanout.send_layout(
            list(table.names), frozenset(self._alarm_state_slots()))
        sent = sent and fanout.send_batch(batch_id, columns, extra, dict(table.forced), subscriptions)
        if not sent:
            self._subscriptions_changed = True
            self._fanout_failed("send", "took no batch (its pipe is closed or full)")
            self._run_taken(taken)
            return
        timer = loop.call_later(ANSWER_TIMEOUT_S, self._answer_late, batch_id)
        self._inflight = (batch_id, columns, extra, timer)

    def _send_held(self, latest: float) -> None:
        if self._inflight is not None and self._inflight[0] == 0:
            self._inflight = None
            self._send_batch(latest)

    def _run_taken(self, taken: tuple[list[Columns], Latest]) -> None:
        """Make a batch already taken here (the fan-out process is not there, or failed it)."""
        self._inflight = None
        self._batch = self._batch_steps(taken)
        self._run_batch(self._batch, time.monotonic() + MAX_GAP_WAIT_S)

    def _on_encoded(self, batch_id: int, out: Encoded, moved: frozenset[int]) -> None:
        """On the pipe's reader: the batch is made; the loop hands it out."""
        self._on_loop(self._deliver_answer, batch_id, out, moved)

    def _on_failed(self, batch_id: int, why: str) -> None:
        self._on_loop(self._answer_failed, batch_id, why)

    def _on_gone(self) -> None:
        self._on_loop(self._fanout_gone)

    def _on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the streams are gone with it
                loop.call_soon_threadsafe(callback, *args)

    def _deliver_answer(self, batch_id: int, out: Encoded, moved: frozenset[int], latest: float | None = None) -> None:
        """On the loop: the process's answer to each stream, in a gap (the answer comes when it is made, often
        during the next scan; handing it out wakes every stream's writer), at the latest `MAX_GAP_WAIT_S` on."""
        inflight = self._inflight
        if inflight is None or inflight[0] != batch_id:
            return  # late: made here meanwhile
        if inflight[3] is not None:  # answered: no longer late
            inflight[3].cancel()
            self._inflight = (batch_id, inflight[1], inflight[2], None)
        bound = time.monotonic() + MAX_GAP_WAIT_S if latest is None else latest
        if self._later_in_gap(bound, lambda: self._deliver_answer(batch_id, out, moved, bound)):
            return
        self._deliver_encoded(self.streams(), out, moved)
        self._batch_done()

    def _answer_failed(self, batch_id: int, why: str) -> None:
        inflight = self._inflight
        if inflight is not None and inflight[0] == batch_id:
            log.warning("web HMI: the fan-out process failed a batch (%s); made here instead", why)
            self._failures.labels("batch").inc()
            self._retake(inflight)

    def _answer_late(self, batch_id: int) -> None:
        inflight, fanout = self._inflight, self._fanout
        if inflight is None or inflight[0] != batch_id:
            return
        self._fanout = None
        if fanout is not None:
            fanout.kill()
            fanout.stop()
        self._fanout_failed("hung", f"did not answer a batch within {ANSWER_TIMEOUT_S:g} s; killed")
        self._retake(inflight)

    def _fanout_gone(self) -> None:
        """The pipe closed without a stop: the process died. Its batch in flight, if any, is made here."""
        if self._fanout is None:
            return
        fanout, self._fanout = self._fanout, None
        fanout.stop()
        code = fanout.process.poll() if fanout.process is not None else None
        self._fanout_failed("died", "ended" + (f" (exit code {code})" if code is not None else ""))
        inflight = self._inflight
        if inflight is not None and inflight[0] != 0:
            self._retake(inflight)

    def _retake(self, inflight: tuple[int, list[Columns], Latest, asyncio.TimerHandle | None]) -> None:
        if inflight[3] is not None:
            inflight[3].cancel()
        self._subscriptions_changed = True  # a new process starts from no subscription
        self._run_taken((inflight[1], inflight[2]))

    def _fanout_failed(self, reason: str, what: str) -> None:
        self._failures.labels(reason).inc()
        self._fanout_retry_at = time.monotonic() + FANOUT_RETRY_S
        log.warning("web HMI: the streams' fan-out process %s; the HTTP loop makes the batches for %.0f s, then "
                    "a new process is started", what, FANOUT_RETRY_S)

    def _later_in_gap(self, latest: float, then: Callable[[], None]) -> bool:
        """On the loop: True when a scan is under way (or the next is due) and `latest` has not passed, after
        arranging for `then` to run at the next gap (or at `MAX_GAP_WAIT_S`); False to go on now."""
        loop = self._loop
        if loop is None or self.in_gap() or time.monotonic() >= latest:
            return False
        self._gap_future(loop).add_done_callback(lambda _: then())
        return True

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
            if self._loop is None:
                self.tick()
            else:  # after the batch under way (here or in the fan-out process): streams get batches in order
                self._tick_between_scans(time.monotonic() + MAX_GAP_WAIT_S)

    def _alarm_state_slots(self) -> dict[int, str]:
        """Slot -> alarm id of every `alarm.<id>.state|acked|active` signal (again after a reload)."""
        names = self.plant.table.names
        if len(names) != self._alarm_layout:
            self._alarm_slots, self._alarm_layout = alarm_state_slots(list(names)), len(names)
        return self._alarm_slots


def change_items(table: Any, changes: Iterable[Change]) -> list[bytes]:
    """Items for queued (name, value, quality, timestamp) changes: a new subscription's current values."""
    index, forced = table.index, table.forced
    out = []
    for name, value, quality, ts in changes:
        slot = index.get(name)
        force = forced.get(slot) if slot is not None else None
        out.append(jsontext.dumps({"name": name, "value": value, "quality": quality, "timestamp": ts,
                               **({"forced": True, "force_reason": force[1]} if force else {})},
                              default=str).encode())
    return out


def _fanout_failures(plant: Plant) -> Any:
    """petra_web_fanout_failures_total{reason}: one per registry (the hub outlives the web actor)."""
    registry = getattr(getattr(plant, "metrics", None), "registry", None)
    if registry is None:  # a test's plant without metrics
        return Counter("petra_web_fanout_failures", "unregistered", ["reason"], registry=None)
    name = "petra_web_fanout_failures"
    existing = registry._names_to_collectors.get(f"{name}_total")
    if isinstance(existing, Counter):
        return existing
    return Counter(name, "Times the web streams' fan-out process failed (start, send, batch, hung, died): the "
                   "HTTP loop made the batches meanwhile", ["reason"], registry=registry)


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
                self._at, self._text = now, None if body is None else jsontext.dumps(body, default=str)
            return self._text
