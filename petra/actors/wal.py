"""The WAL actor: records changes from the bus into the LMDB WAL and serves the tiers' reads.

The bus calls `_on_change` in the publisher's thread: it only appends to a deque
and, if the actor is idle, tells it to drain. The actor drains everything queued,
runs the recording policy and commits all of it as one block (group commit): the
slower the disk, the bigger the groups. Tiers read and commit cursors through
this actor's proxy, so only its thread touches the environment.

When the WAL is full (map at its maximum, or disk full) and no consumed block can
be trimmed, new samples are refused: they are counted in
``petra_wal_dropped_samples_total``, ``petra_wal_full`` is 1, the condition is
logged once per episode and `status()["full"]` is true. Acknowledged samples are
never dropped to make room. The plant keeps scanning. The recorder forgets what
was refused, and while full the actor retries every `RETRY_FULL_S` with the
current value of each refused signal: once space is back (tiers caught up, disk
freed) recording resumes by itself and the history shows the values at once.
The WAL counts as full until every refused signal has been stored again, so
small commits that still fit between refused big ones do not make it flap.

A value no column can hold (see `rows.storable`) is stored as no value with
quality bad, counted in ``petra_wal_unstorable_samples_total`` and logged at
most once a minute per signal: the WAL never dies of a value.

What the actor owns (the environment, its bus subscription, its timer thread)
is freed in `release()`, which runs however the actor ends, so a restarted WAL
can open the same environment.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import pykka

from petra.messages import SignalsChanged
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.signal_io import SignalWriter
from petra.storage.arrow import pa
from petra.storage.metrics import StorageMetrics
from petra.storage.policy import Recorder, policies_for
from petra.storage.rows import Sample, encode_block, storable
from petra.storage.settings import StorageSettings
from petra.storage.wal import Block, Wal, WalFull
from supervision import Scheduled, SupervisedActor, call_every

log = logging.getLogger(__name__)

# Converting a block to Arrow holds the GIL for the whole block: 4,096 samples keep that
# under ~1 ms so the clock stays on time, at a few more commits per second.
MAX_BLOCK = 4096
FULL_SIGNAL = "storage.wal_full"
TIMER_S = 0.1
TRIM_EVERY_S = 5.0
RETRY_FULL_S = 1.0


@dataclass(frozen=True)
class _Drain:
    pass


@dataclass(frozen=True)
class _Timer:
    pass


class WalActor(SupervisedActor):
    """Owns the WAL environment; `consumers` are the cursors that gate trimming."""

    def __init__(self, plant: Plant, settings: StorageSettings, metrics: StorageMetrics, consumers: tuple[str, ...],
                 gating: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.plant = plant
        self.settings = settings
        self.consumer_names = consumers
        self.gating = gating
        self.metrics = metrics
        self.wal: Wal | None = None
        self._queue: collections.deque[SignalsChanged] = collections.deque()
        self._wake = False
        self._timer: Scheduled | None = None
        self._last_trim = 0.0
        self._full_since: float | None = None
        self._last_retry = 0.0
        self._last_full_check = 0.0
        self._refused: set[str] = set()
        self._subscriber: Any = None
        self._unstorable_log = RateLimitedLog(log, interval_s=60.0)
        self.recorder = Recorder(plant.table, policies_for(plant.table, settings.history), settings.history)

    # -- life cycle ------------------------------------------------------------------------------

    def on_start(self) -> None:
        self.wal = Wal(self.settings.wal, self.consumer_names, self.gating)
        log.info("WAL open at %s: head %d, consumers %s", self.settings.wal.wal_dir, self.wal.head,
                 ", ".join(self.consumer_names) or "none")
        # Subscribe first, then record the current values: nothing falls between the two.
        self._subscriber = self.plant.bus.subscribe(self._on_change)
        self._drain()
        samples: list[Sample] = []
        self.recorder.snapshot(time.time(), samples)
        self._write(samples)
        self._timer = call_every(TIMER_S, self._tick)  # on supervision's one timer thread, not one of its own
        self._update_metrics()

    def on_stop(self) -> None:
        """An orderly stop: nothing new arrives, what is queued is committed."""
        self._unsubscribe()
        self._drain()

    def release(self) -> None:
        """However the actor ends: let go of the bus, the timer and the environment for a successor."""
        self._unsubscribe()
        self._stop_timer()
        wal, self.wal = self.wal, None
        if wal is not None:
            wal.close()

    def _unsubscribe(self) -> None:
        if self._subscriber is not None:
            self.plant.bus.unsubscribe(self._subscriber)
            self._subscriber = None

    def _on_change(self, event: SignalsChanged) -> None:
        """Called in the publisher's thread: queue and wake the actor, nothing more."""
        self._queue.append(event)
        if not self._wake:
            self._wake = True
            with contextlib.suppress(pykka.ActorDeadError):  # stopping: on_stop drains the queue
                self.actor_ref.tell(_Drain())

    def _tick(self) -> None:
        try:
            self.actor_ref.tell(_Timer())
        except Exception:  # the actor is gone
            self._stop_timer()

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def on_receive(self, message: object) -> object:
        if isinstance(message, _Drain):
            self._drain()
            return None
        if isinstance(message, _Timer):
            self._on_timer()
            return None
        return super().on_receive(message)

    # -- writing ---------------------------------------------------------------------------------

    def _drain(self) -> None:
        self._wake = False
        samples: list[Sample] = []
        queue = self._queue
        offer = self.recorder.offer_event
        while queue:
            offer(queue.popleft(), samples)
        self._write(samples)

    def _on_timer(self) -> None:
        now = time.time()
        samples: list[Sample] = []
        self.recorder.due(now, samples)
        self._write(samples)
        if now - self._last_trim >= TRIM_EVERY_S or (self.wal is not None and self.wal.full):
            self._last_trim = now
            assert self.wal is not None
            self.wal.trim(now=now)
            self.wal.drop_mapped_pages()  # what the tiers read stays in the page cache, not in our RSS
        if self._full_since is not None and now - self._last_retry >= RETRY_FULL_S:
            self._last_retry = now
            retry: list[Sample] = []
            self.recorder.snapshot(now, retry)  # the current value of every signal whose sample was refused
            # What the snapshot holds is all that is outstanding (a refused signal a reload removed,
            # or no longer records, is not): a refusal below names what still is.
            self._refused.clear()
            if retry:
                self._write(retry, retrying=True)
            else:
                self._full_over()
        self._reassert_full(now)
        self._update_metrics()

    def _write(self, samples: list[Sample], retrying: bool = False) -> None:
        """Commit `samples`; a refused block is counted (once: not again when `retrying`) and forgotten."""
        wal = self.wal
        if not samples or wal is None:
            return
        for start in range(0, len(samples), MAX_BLOCK):
            chunk = samples[start:start + MAX_BLOCK]
            try:
                wal.append(self._encode(chunk), len(chunk))
            except WalFull as exc:
                self.recorder.forget(sample[1] for sample in chunk)
                self._refused.update(sample[1] for sample in chunk)
                if not retrying:
                    self.metrics.wal_dropped.inc(len(chunk))
                self.metrics.wal_full.set(1)
                if self._full_since is None:
                    self._full_since = time.time()
                    self._announce_full(True)
                    log.error("WAL FULL: refusing new samples until the tiers catch up or space is freed "
                              "(%s); the plant keeps running, dropped samples are counted in "
                              "petra_wal_dropped_samples_total", exc)
                continue
            self.metrics.wal_samples.inc(len(chunk))
            self.metrics.wal_commits.inc()
            if self._refused:
                self._refused.difference_update(sample[1] for sample in chunk)
        # Full until every refused signal is stored again: a small commit that fits between
        # refused big ones must not make the alarm flap.
        if not self._refused:
            self._full_over()

    def _full_over(self) -> None:
        if self._full_since is not None:
            log.warning("WAL accepts samples again after %.1f s full", time.time() - self._full_since)
            self._full_since = None
            self.metrics.wal_full.set(0)
            self._announce_full(False)

    def _encode(self, chunk: list[Sample]) -> bytes:
        node_id = self.settings.node_id
        try:
            return encode_block(chunk, node_id)
        except (OverflowError, ValueError, TypeError, UnicodeError, pa.ArrowException):
            fixed, spoiled = storable(chunk)
            self.metrics.wal_unstorable.inc(len(spoiled))
            for name in dict.fromkeys(spoiled):
                self._unstorable_log.warning(name, "WAL: a value of %s cannot be stored (beyond the column's "
                                             "range or not text); recorded as no value, quality bad", name)
            return encode_block(fixed, node_id)

    def _reassert_full(self, now: float) -> None:
        """Write `storage.wal_full` again when the table disagrees with the WAL (checked once a second).

        The update is a tell to the signal's group: if the group fails on that very message and
        restarts, the update is gone, and the signal would show the old state until the next change.
        """
        if now - self._last_full_check < RETRY_FULL_S:
            return
        self._last_full_check = now
        slot = self.plant.table.index.get(FULL_SIGNAL)
        full = self._full_since is not None
        if slot is not None and self.plant.table.values[slot] != full:
            self._announce_full(full)

    def _announce_full(self, full: bool) -> None:
        """Raise or clear the internal alarm signal `storage.wal_full` (an alarm can watch it)."""
        if FULL_SIGNAL in self.plant.table.index:
            SignalWriter(self.plant, self.registry, self.path).write_values({FULL_SIGNAL: full})

    def _update_metrics(self) -> None:
        wal = self.wal
        if wal is None:
            return
        m = self.metrics
        m.wal_head.set(wal.head)
        stats = wal.stats()
        m.wal_used.set(stats["used_bytes"])
        m.wal_file.set(stats["file_bytes"])
        m.wal_map.set(stats["map_bytes"])
        now = time.time()
        for name, cursor in wal.cursors().items():
            m.lag.labels(name).set(wal.head - cursor)
            oldest = wal.oldest_after(cursor) if cursor < wal.head else None
            m.oldest.labels(name).set(0.0 if oldest is None else max(0.0, now - oldest))

    # -- the tiers' interface (called through the proxy) -----------------------------------------

    def read(self, after: int, max_samples: int = 10000, until: int | None = None) -> list[Block]:
        """Blocks with sequences > `after`; see `Wal.read`."""
        assert self.wal is not None
        return self.wal.read(after, max_samples, until)

    def cursor(self, name: str) -> int:
        assert self.wal is not None
        return self.wal.cursor(name)

    def commit(self, name: str, seq: int) -> None:
        assert self.wal is not None
        self.wal.commit(name, seq)

    def head(self) -> int:
        """The last acknowledged sequence."""
        assert self.wal is not None
        return self.wal.head

    def flush(self) -> int:
        """Drain what is queued now and return the head (tests, the self-test, orderly stops)."""
        self._drain()
        return self.head()

    def trim(self, pressure: bool = False) -> int:
        """Trim now (operator action; `pressure` ignores retention, never unconsumed samples)."""
        assert self.wal is not None
        return self.wal.trim(pressure=pressure)

    def status(self) -> dict[str, Any]:
        """What the control API shows: head, full flag, sizes and each consumer's cursor and lag."""
        wal = self.wal
        assert wal is not None
        cursors = wal.cursors()
        return {
            "origin": wal.origin,
            "head": wal.head,
            "tail": wal.tail,
            "full": self._full_since is not None,
            "full_since": self._full_since,
            "consumers": {n: {"cursor": c, "lag": wal.head - c} for n, c in cursors.items()},
            **wal.stats(),
        }
