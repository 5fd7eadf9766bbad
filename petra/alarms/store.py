"""Durable alarm state in one LMDB environment (`alarms.state_dir`).

Named databases (values are JSON):

    states       alarm id -> AlarmMachine snapshot
    escalations  alarm id -> Escalation in progress
    events       (time µs, seq) big-endian -> event record: who, when, value (append only)
    deliveries   delivery id -> notification record (status updated by retries and callbacks)
    sids         provider message/call sid -> delivery id
    outbox       delivery id -> channel, for deliveries not yet handed to the provider
    cooldowns    "alarm|contact" -> time of the last notification
    codes        short code -> alarm id (for "ACK <code>" replies)
    meta         counters

Each write is one transaction, so a state, its event and the escalation it
starts land together or not at all - a kill -9 at any moment leaves a
consistent store. Every commit reaches the OS before anything is announced, so
a crash or kill -9 of PETRA loses nothing that was announced. With `fsync=True`
each commit is also fsynced before it is announced; with `fsync=False` it is
fsynced within `SYNC_INTERVAL_S`: a power loss or OS crash may lose that much,
and since the environment then runs with MDB_NOSYNC, LMDB warns that on a file
system that does not keep write order it may also damage the file (refused at
the next start, see below).

Ownership: one store per file per process (`open_store`), held by the plant's
`AlarmService` rather than by an actor. Alarm actors, the escalation manager,
the notifiers and the API all share it, so none of them has an environment to
release when it crashes: its restarted successor reads the same open store.
It is opened through `petra.lmdb_files`, so a damaged data file is refused
(StoreFileError, which stops the start with the file's name and the `mv` to
run) instead of being mapped.

Alarm transitions use `submit`, a group commit without a hand-off: the
submitter that finds no commit under way commits everything queued itself, in
its own thread (an alarm actor's pool worker), and while it commits (LMDB drops
the GIL for the commit) other submitters only queue; it then commits what they
queued, up to `LEAD_ROUNDS` groups, and leaves any rest to the writer thread.
A burst of 1,000 transitions costs a handful of transactions instead of 1,000,
and a lone transition costs no thread wake-up. After each group's commit (and
its fsync with `fsync=True`) each submission's callback runs (the
announcement), then each distinct `flush` of the group once (the alarm service
sends what the group announced in one message per receiver), and only then are
waiting submitters released. Announcements never overlap: one group is
committed and announced at a time, in commit order. When the group commit fails
(a full disk, an I/O error) nothing in it is announced: each submitter hears of
it through `on_error` (an alarm actor then fails and its successor starts again
from what is stored) and a waiting one gets `StoreWriteError`.

The writer thread (`alarm-store-writer`, started on demand, gone after
`IDLE_EXIT_S` without work) commits what a leader left, and with `fsync=False`
runs the periodic fsync, off the transitions' path (LMDB allows `mdb_env_sync`
while another thread commits).
"""

from __future__ import annotations

import itertools
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lmdb

from petra.lmdb_files import close_environment, open_environment

_DBS = ("states", "escalations", "events", "deliveries", "sids", "outbox", "cooldowns", "codes", "meta")
_MAP_SIZE = 256 << 20
SYNC_INTERVAL_S = 0.1
IDLE_EXIT_S = 2.0
LEAD_ROUNDS = 4
"""Groups a submitter commits in its own thread before it leaves the rest to the writer thread."""
LINGER_S = 0.005
"""How long a deferred submission may wait for the submitter that commits its group (then the writer does)."""

log = logging.getLogger(__name__)

_open: dict[str, AlarmStore] = {}
_open_lock = threading.Lock()


WAIT_S = 10.0
"""How long `submit(wait=True)` waits for its commit before it gives up."""


class StoreWriteError(RuntimeError):
    """A write to the alarm store did not become durable; nothing it carried was announced."""


@dataclass
class _Submission:
    records: dict[str, Any]
    then: Callable[[], None] | None
    on_error: Callable[[BaseException], None] | None
    flush: Callable[[], None] | None = None
    done: threading.Event | None = None
    error: BaseException | None = field(default=None)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
"""Built once: json.dumps with arguments builds a new encoder on every call."""


def _dump(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def _load(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


def open_store(path: str | Path, fsync: bool = True) -> AlarmStore:
    """The process-wide store at `path` (LMDB allows one environment per file per process)."""
    key = str(Path(path).resolve())
    with _open_lock:
        store = _open.get(key)
        if store is None or store.closed:
            store = _open[key] = AlarmStore(key, fsync)
        return store


class AlarmStore:
    """Thread-safe: LMDB serializes writers, readers never block."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        # commits never fsync themselves: the writer thread (or write()) does it, once per group
        self.env = open_environment(self.path, what="alarm state", map_size=_MAP_SIZE, max_dbs=len(_DBS) + 1,
                                    sync=False, metasync=False, subdir=True, lock=True)
        self.dbs = {name: self.env.open_db(name.encode()) for name in _DBS}
        self._seq = itertools.count(int(time.time() * 1e6) & 0xFFFFFFFF)
        self.closed = False
        self._queue: list[_Submission] = []
        self._cond = threading.Condition()
        self._synced_at = time.monotonic()
        self._dirty = False
        self._committing = False  # a thread is committing and announcing a group right now
        self._linger_until: float | None = None  # deferred submissions wait; the writer commits them after this
        self._thread: threading.Thread | None = None

    def close(self) -> None:
        self.closed = True
        with self._cond:
            self._cond.notify()
        try:
            self.env.sync(True)
        finally:
            close_environment(self.env, what="alarm state")

    # -- group commit -----------------------------------------------------------------------------

    def submit(self, then: Callable[[], None] | None = None, wait: bool = False,
               on_error: Callable[[BaseException], None] | None = None, flush: Callable[[], None] | None = None,
               defer: bool = False, **records: Any) -> None:
        """Commit `records` (the keywords of `write`) in the next group commit; `then` runs after it.

        `then` runs only when the commit succeeded, `on_error` when it failed, both in
        the thread that committed the group (this one, another submitter's, or the
        writer's). `flush` runs once per group after every `then` of it (submissions
        naming the same function share one call). With `defer`, only queue: a later
        submitter (or `commit_queued`) commits it with its own, within `LINGER_S` at
        the latest (the writer thread's fallback). With `wait`, return only once
        committed and announced (operator commands: the answer means it is durable)
        and raise StoreWriteError when it was not.
        """
        submission = _Submission(records, then, on_error, flush, threading.Event() if wait else None)
        with self._cond:
            if self.closed:
                raise StoreWriteError(f"alarm store {self.path} is closed")
            self._queue.append(submission)
            lead = not self._committing and not (defer and not wait)
            if lead:
                self._committing = True
            elif self._linger_until is None and not self._committing:
                self._linger_until = time.monotonic() + LINGER_S
                self._wake_writer()
        if lead:
            self._lead()
        if submission.done is None:
            return
        if not submission.done.wait(WAIT_S):
            raise StoreWriteError(f"alarm store {self.path}: not committed within {WAIT_S:g} s")
        if submission.error is not None:
            raise StoreWriteError(f"alarm store {self.path}: {submission.error}") from submission.error

    def commit_queued(self) -> None:
        """Commit what deferred submissions queued, in this thread, unless a commit is under way (it takes them)."""
        with self._cond:
            if not self._queue or self._committing:
                return
            self._committing = True
        self._lead()

    def _lead(self) -> None:
        """Commit and announce what is queued, group after group, in this thread (`_committing` is ours)."""
        for _ in range(LEAD_ROUNDS):
            with self._cond:
                batch, self._queue = self._queue, []
                self._linger_until = None
                closing = self.closed
            if closing:
                self._finish(batch, StoreWriteError(f"alarm store {self.path} was closed before the commit"))
            elif batch:
                self._commit_and_announce(batch)
            with self._cond:
                if not self._queue or self.closed:
                    self._committing = False
                    if self._queue:  # closed meanwhile: the writer tells them
                        self._wake_writer()
                    return
        with self._cond:  # still more: the writer thread takes over, this submitter returns to its actor
            self._committing = False
            self._linger_until = time.monotonic()
            self._wake_writer()

    def _wake_writer(self) -> None:
        """Notify (or start) the writer thread; the caller holds `_cond`."""
        self._cond.notify()
        if self._thread is None or not self._thread.is_alive():
            # started on demand; it ends after IDLE_EXIT_S without work so a stopped plant leaves no thread
            self._thread = threading.Thread(target=self._writer, name="alarm-store-writer", daemon=True)
            self._thread.start()

    def _commit_and_announce(self, batch: list[_Submission]) -> None:
        error: BaseException | None = None
        try:
            self._commit_group([item.records for item in batch])
            if self.fsync:
                self.env.sync(True)
        except Exception as exc:
            error = exc
            log.error("alarm store %s: group commit of %d submission(s) failed, nothing of it is announced: "
                      "%s", self.path, len(batch), exc)
        self._finish(batch, error)

    def _writer(self) -> None:
        """What no submitter does: commit what a leader left, fsync every SYNC_INTERVAL_S (fsync=False)."""
        while True:
            with self._cond:
                sync = False
                while True:
                    linger = None if self._linger_until is None else self._linger_until - time.monotonic()
                    if self._queue and (self.closed or (not self._committing and (linger is None or linger <= 0))):
                        break
                    if self.closed:
                        self._thread = None
                        return
                    if self._dirty and not self.fsync:
                        due = SYNC_INTERVAL_S - (time.monotonic() - self._synced_at)
                        if due <= 0:
                            sync = True
                            self._dirty = False  # a commit from now on sets it again
                            self._synced_at = time.monotonic()
                            break
                        self._cond.wait(due if linger is None or not self._queue else min(due, max(linger, 0.0)))
                    elif self._queue and linger is not None and linger > 0:
                        self._cond.wait(linger)
                    elif not self._cond.wait(IDLE_EXIT_S) and not self._queue and not self._dirty:
                        self._thread = None
                        return  # idle: submit() starts a new writer when needed
                take = bool(self._queue) and not sync
                if take:
                    self._committing = True
            if sync:
                try:
                    self.env.sync(True)
                except Exception as exc:  # the next commit or sync tries again
                    self._dirty = True
                    log.error("alarm store %s: fsync failed: %s", self.path, exc)
                continue
            if take:
                self._lead()

    def _finish(self, batch: list[_Submission], error: BaseException | None) -> None:
        """Announce what was committed (each `then`, then each distinct `flush`); tell submitters of what was not."""
        flushes: dict[Callable[[], None], None] = {}  # bound methods of one object are equal
        for item in batch:
            item.error = error
            try:
                if error is None and item.then is not None:
                    item.then()
                elif error is not None and item.on_error is not None:
                    item.on_error(error)
            except Exception:
                log.exception("alarm store: callback after commit failed")
            if error is None and item.flush is not None:
                flushes[item.flush] = None
        for flush in flushes:
            try:
                flush()
            except Exception:
                log.exception("alarm store: flush after commit failed")
        for item in batch:
            if item.done is not None:
                item.done.set()

    def _commit_group(self, groups: list[dict[str, Any]]) -> None:
        try:
            with self.env.begin(write=True) as txn:
                for records in groups:
                    self._put(txn, **records)
        except lmdb.MapFullError:
            self.env.set_mapsize(self.env.info()["map_size"] * 2)
            with self.env.begin(write=True) as txn:
                for records in groups:
                    self._put(txn, **records)
        self._committed()

    def _committed(self) -> None:
        """A commit reached the OS; with fsync=False make sure the writer fsyncs it within SYNC_INTERVAL_S.

        Only the first commit after a sync wakes the writer. The writer clears `_dirty`
        before it syncs, so a commit that still saw it set is covered by that sync.
        """
        if self.fsync or self._dirty:
            return
        with self._cond:
            self._dirty = True
            self._wake_writer()

    # -- writing ----------------------------------------------------------------------------------

    def write(self, *, states: dict[str, Any] | None = None, events: list[dict[str, Any]] | None = None,
              escalations: dict[str, Any | None] | None = None, deliveries: dict[str, Any] | None = None,
              outbox: dict[str, str | None] | None = None, cooldowns: dict[str, float] | None = None,
              sids: dict[str, str] | None = None, codes: dict[str, str] | None = None) -> None:
        """One transaction now, in the caller's thread; a value None deletes (escalations, outbox)."""
        records = {"states": states, "events": events, "escalations": escalations, "deliveries": deliveries,
                   "outbox": outbox, "cooldowns": cooldowns, "sids": sids, "codes": codes}
        self._commit_group([records])
        if self.fsync:
            self.env.sync(True)

    def _put(self, txn: lmdb.Transaction, states: Any = None, events: Any = None, escalations: Any = None,
             deliveries: Any = None, outbox: Any = None, cooldowns: Any = None, sids: Any = None,
             codes: Any = None) -> None:
        d = self.dbs
        for key, value in (states or {}).items():
            txn.put(key.encode(), _dump(value), db=d["states"])
        for event in events or ():
            stamp = int(event.get("time", time.time()) * 1e6)
            txn.put(struct.pack(">QQ", stamp, next(self._seq)), _dump(event), db=d["events"])
        for name, mapping in (("escalations", escalations), ("outbox", outbox)):
            for key, value in (mapping or {}).items():
                if value is None:
                    txn.delete(key.encode(), db=d[name])
                else:
                    txn.put(key.encode(), _dump(value), db=d[name])
        for name, mapping in (("deliveries", deliveries), ("cooldowns", cooldowns), ("sids", sids),
                              ("codes", codes)):
            for key, value in (mapping or {}).items():
                txn.put(key.encode(), _dump(value), db=d[name])

    def reserve_codes(self, count: int) -> list[str]:
        """`count` fresh 4-digit short codes (1000..9999, cycling) for alarm occurrences, in one transaction."""
        codes = []
        with self.env.begin(write=True) as txn:
            current = int(txn.get(b"code", db=self.dbs["meta"]) or b"999")
            for _ in range(count):
                current = 1000 if current >= 9999 else current + 1
                codes.append(str(current))
            txn.put(b"code", str(current).encode(), db=self.dbs["meta"])
        if self.fsync:
            self.env.sync(True)
        else:
            self._committed()
        return codes

    # -- reading ----------------------------------------------------------------------------------

    def get(self, db: str, key: str) -> Any:
        with self.env.begin() as txn:
            return _load(txn.get(key.encode(), db=self.dbs[db]))

    def items(self, db: str) -> dict[str, Any]:
        with self.env.begin() as txn:
            return {k.decode(): _load(v) for k, v in txn.cursor(db=self.dbs[db])}

    def events(self, alarm: str | None = None, since: float | None = None, limit: int = 1000,
               newest_first: bool = False, where: Callable[[dict[str, Any]], bool] | None = None
               ) -> list[dict[str, Any]]:
        """Event records, oldest first (or newest first), optionally for one alarm, after `since`, and `where`."""
        out: list[dict[str, Any]] = []
        for record in self._iter_events(since, newest_first):
            if (alarm is None or record.get("alarm") == alarm) and (where is None or where(record)):
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    def _iter_events(self, since: float | None, newest_first: bool) -> Iterator[dict[str, Any]]:
        start = struct.pack(">QQ", int((since or 0) * 1e6), 0)
        with self.env.begin() as txn:
            cursor = txn.cursor(db=self.dbs["events"])
            if newest_first:
                if not cursor.last():
                    return
                for key, value in cursor.iterprev():
                    if key < start:
                        return
                    yield json.loads(value)
            else:
                if not cursor.set_range(start):
                    return
                for _key, value in cursor:
                    yield json.loads(value)

    def trim_events(self, before: float) -> int:
        """Delete events older than `before`; returns how many."""
        limit = struct.pack(">QQ", int(before * 1e6), 0)
        removed = 0
        with self.env.begin(write=True) as txn:
            cursor = txn.cursor(db=self.dbs["events"])
            if not cursor.first():
                return 0
            while cursor.key() and cursor.key() < limit:
                if not cursor.delete():
                    break
                removed += 1
        return removed
