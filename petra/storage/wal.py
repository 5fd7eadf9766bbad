"""The LMDB write-ahead log: group-committed blocks of samples, consumer cursors, trimming.

One environment, three named databases:

* ``blocks``: key = first sequence number of the block (8 bytes big-endian),
  value = header (sample count, commit time) + an Arrow IPC block (`rows.py`).
  Sample *i* of a block has sequence ``key + i``.
* ``cursors``: consumer name -> the last sequence it has durably written.
* ``meta``: ``head`` (last acknowledged sequence) and ``origin`` (the first).

A sample is acknowledged once `append` returned: its transaction committed,
and was fsynced when ``sync_on_write``. Sequences start at the creation time in
microseconds since the epoch, so a WAL that is deleted and created again never
reuses a sequence another tier may already hold.

Not thread-safe: one owner (the WAL actor) calls it; LMDB's ``set_mapsize``
needs that no transaction is open while the map grows.

A commit the disk cannot take (ENOSPC, EIO, a quota) aborts its transaction and
leaves the environment usable, like a full map: `append` raises `WalFull` (the
block is refused, not acknowledged), `commit` raises it too (the tier retries),
and `trim` simply frees nothing. Should LMDB declare the environment broken
(MDB_PANIC after a failed meta-page write) the WAL reopens it, so it recovers
by itself once space is back. The data file is checked before it is mapped
(`petra.lmdb_files`): a truncated one is refused with what to do, never SIGBUS.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import lmdb

from petra.lmdb_files import close_environment, open_environment
from petra.storage.settings import WalSettings

log = logging.getLogger(__name__)

_KEY = struct.Struct(">Q")
_HEADER = struct.Struct(">Id")
MB = 1024 * 1024


class WalFull(OSError):
    """Not stored: the map is at its maximum or the disk refused the write, and trimming did not help.

    An OSError, like the ENOSPC behind it: tiers treat it as a condition to retry, not a bug.
    """


@dataclass(frozen=True)
class Block:
    first_seq: int
    count: int
    committed_at: float
    payload: bytes

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.count - 1


def _key(seq: int) -> bytes:
    return _KEY.pack(seq)


def _meta_seq(raw: bytes | None, name: str) -> int:
    """The sequence number stored under meta key `name`; every WAL has its origin and head from creation."""
    if raw is None:
        raise ValueError(f"the WAL's meta table has no {name!r}: not a PETRA WAL, or damaged")
    return _KEY.unpack(raw)[0]


class Wal:
    """The write-ahead log in `settings.wal_dir`; `consumers` are the cursors that gate trimming."""

    def __init__(self, settings: WalSettings, consumers: Iterable[str] = (),
                 gating: Iterable[str] | None = None) -> None:
        self.settings = settings
        self.path = Path(settings.wal_dir)
        self.path.mkdir(parents=True, exist_ok=True)
        self.max_map = max(settings.max_map_size_mb, settings.map_size_mb) * MB
        self._open(settings.map_size_mb * MB)
        with self.env.begin(write=True) as txn:
            origin = txn.get(b"origin", db=self._meta)
            if origin is None:
                self.origin = max(1, time.time_ns() // 1000)
                txn.put(b"origin", _key(self.origin), db=self._meta)
                txn.put(b"head", _key(self.origin - 1), db=self._meta)
                _announce_new(self.path)
            else:
                self.origin = _KEY.unpack(origin)[0]
            self.head = _meta_seq(txn.get(b"head", db=self._meta), "head")
        self.consumers: tuple[str, ...] = ()
        self.gating: tuple[str, ...] = ()
        self.register(consumers, gating)
        self.full = False

    def _open(self, size: int) -> None:
        data = self.path / "data.mdb"
        if data.exists():  # never open with a map smaller than the file
            size = min(max(size, data.stat().st_size), max(self.max_map, data.stat().st_size))
        self.env = open_environment(self.path, what="WAL", map_size=size, max_dbs=4,
                                    sync=self.settings.sync_on_write, metasync=self.settings.sync_on_write,
                                    readahead=False)
        self._blocks = self.env.open_db(b"blocks")
        self._cursors = self.env.open_db(b"cursors")
        self._meta = self.env.open_db(b"meta")

    def _reopen(self) -> None:
        """After MDB_PANIC LMDB refuses every transaction until the environment is opened again."""
        size = self.env.info()["map_size"]
        close_environment(self.env, what="WAL")
        self._open(size)
        log.warning("WAL environment reopened after LMDB reported it unusable")

    # -- consumers -------------------------------------------------------------------------------

    def register(self, names: Iterable[str], gating: Iterable[str] | None = None) -> None:
        """Make `names` the consumers: new ones start at the oldest sample held; others are dropped.

        `gating` (default: all of them) are the consumers whose cursors limit trimming.
        """
        names = tuple(dict.fromkeys(names))
        self.gating = names if gating is None else tuple(gating)
        with self.env.begin(write=True) as txn:
            existing = {bytes(k).decode(): _KEY.unpack(v)[0] for k, v in txn.cursor(db=self._cursors)}
            for stale in set(existing) - set(names):
                log.warning("WAL: dropping the cursor of consumer '%s' (no longer configured)", stale)
                txn.delete(stale.encode(), db=self._cursors)
            start = self._tail(txn) - 1
            for name in names:
                if name not in existing:
                    txn.put(name.encode(), _key(start), db=self._cursors)
        self.consumers = names

    def cursor(self, name: str) -> int:
        with self.env.begin() as txn:
            raw = txn.get(name.encode(), db=self._cursors)
        return self.origin - 1 if raw is None else _KEY.unpack(raw)[0]

    def cursors(self) -> dict[str, int]:
        with self.env.begin() as txn:
            return {bytes(k).decode(): _KEY.unpack(v)[0] for k, v in txn.cursor(db=self._cursors)}

    def commit(self, name: str, seq: int) -> None:
        """Durably record that consumer `name` has written everything up to `seq`."""
        if seq > self.head:
            raise ValueError(f"consumer {name} commits {seq} beyond the head {self.head}")
        try:
            with self.env.begin(write=True) as txn:
                txn.put(name.encode(), _key(seq), db=self._cursors)
        except lmdb.PanicError as exc:
            self._reopen()
            raise WalFull(f"cursor of {name} not committed: {exc}") from exc
        except lmdb.Error as exc:  # the disk refused it; the tier keeps its rows and retries
            raise WalFull(f"cursor of {name} not committed: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------------

    def append(self, payload: bytes, count: int) -> int:
        """Store one block of `count` samples; returns the last acknowledged sequence.

        Grows the map (bounded by the maximum) and trims consumed blocks when full;
        raises WalFull when neither helps. The environment is never left inconsistent.
        """
        if count <= 0:
            return self.head
        first = self.head + 1
        value = _HEADER.pack(count, time.time()) + payload
        for _attempt in range(8):
            try:
                with self.env.begin(write=True) as txn:
                    txn.put(_key(first), value, db=self._blocks, append=True)
                    txn.put(b"head", _key(first + count - 1), db=self._meta)
                self.head = first + count - 1
                self.full = False
                return self.head
            except lmdb.MapFullError:
                if self._grow():
                    continue
                if self._trim_for_space():
                    continue
                self.full = True
                raise WalFull(f"WAL map full at its maximum {self.max_map // MB} MB") from None
            except lmdb.PanicError as exc:
                self._reopen()
                self.full = True
                raise WalFull(f"WAL write failed: {exc}") from exc
            except lmdb.Error as exc:  # ENOSPC, EIO, a quota: the transaction was aborted
                if self._trim_for_space():
                    continue
                self.full = True
                # LMDB reports a short write on a full disk as EIO: say how much room there is
                raise WalFull(f"WAL write failed: {exc}; {_free_space(self.path)}") from exc
        self.full = True
        raise WalFull("WAL still full after growing and trimming")

    def _trim_for_space(self) -> bool:
        if not self.trim(pressure=True):
            return False
        # LMDB reuses pages freed by a transaction only after a later one committed: write a marker.
        try:
            with self.env.begin(write=True) as txn:
                txn.put(b"trimmed_at", struct.pack(">d", time.time()), db=self._meta)
        except lmdb.Error as exc:
            log.debug("WAL: marker after trimming not written: %s", exc)
            return False
        return True

    def _grow(self) -> bool:
        size = self.env.info()["map_size"]
        if size >= self.max_map:
            return False
        new = min(self.max_map, size * 2)
        self.env.set_mapsize(new)
        log.info("WAL map grown from %d MB to %d MB (maximum %d MB)", size // MB, new // MB, self.max_map // MB)
        return True

    # -- reading ---------------------------------------------------------------------------------

    def read(self, after: int, max_samples: int = 10000, until: int | None = None) -> list[Block]:
        """Blocks holding sequences > `after` (the first may start before it), up to about max_samples."""
        out: list[Block] = []
        total = 0
        with self.env.begin() as txn:
            cur = txn.cursor(db=self._blocks)
            if not cur.set_range(_key(after + 1)):
                if not cur.last():
                    return out
            else:
                key = _KEY.unpack(cur.key())[0]
                if key > after + 1 and not cur.prev():
                    cur.first()
            for key, value in cur:
                first = _KEY.unpack(key)[0]
                count, committed = _HEADER.unpack_from(value)
                if first + count - 1 <= after:
                    continue
                if until is not None and first > until:
                    break
                out.append(Block(first, count, committed, bytes(value[_HEADER.size:])))
                total += count
                if total >= max_samples:
                    break
        return out

    def oldest_after(self, after: int) -> float | None:
        """Commit time of the oldest block holding sequences > `after` (None when there is none)."""
        blocks = self.read(after, max_samples=1)
        return blocks[0].committed_at if blocks else None

    @property
    def tail(self) -> int:
        """The oldest sequence still held (head + 1 when empty)."""
        with self.env.begin() as txn:
            return self._tail(txn)

    def _tail(self, txn: lmdb.Transaction) -> int:
        cur = txn.cursor(db=self._blocks)
        return _KEY.unpack(cur.key())[0] if cur.first() else self.head + 1

    # -- trimming --------------------------------------------------------------------------------

    def trim(self, pressure: bool = False, now: float | None = None, limit: int = 20000) -> int:
        """Delete blocks every consumer has committed and retention lets go; returns samples removed.

        Consumed blocks stay for `retention_hours` (replay, inspection); under pressure
        (map full at its maximum) they go regardless. Unconsumed blocks never go.
        """
        cursors = self.cursors()
        horizon = min((cursors.get(c, self.origin - 1) for c in self.gating), default=self.head)
        cutoff = (now or time.time()) - self.settings.retention_hours * 3600
        removed = 0
        try:
            with self.env.begin(write=True) as txn:
                doomed: list[bytes] = []
                for key, value in txn.cursor(db=self._blocks):
                    first = _KEY.unpack(key)[0]
                    count, committed = _HEADER.unpack_from(value)
                    if first + count - 1 > horizon or (not pressure and committed > cutoff) or len(doomed) >= limit:
                        break
                    doomed.append(bytes(key))
                    removed += count
                for key in doomed:
                    txn.delete(key, db=self._blocks)
        except lmdb.PanicError:
            self._reopen()
            return 0
        except lmdb.Error as exc:  # deleting needs fresh pages too; on a full disk it can fail
            log.debug("WAL: trimming failed, nothing removed: %s", exc)
            return 0
        if removed:
            log.debug("WAL trimmed %d samples (horizon %d, pressure %s)", removed, horizon, pressure)
        return removed

    # -- introspection ---------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Sizes for metrics: bytes used by blocks, the file on disk and the map."""
        with self.env.begin() as txn:
            st = txn.stat(self._blocks)
        pages = st["branch_pages"] + st["leaf_pages"] + st["overflow_pages"]
        data = self.path / "data.mdb"
        return {
            "used_bytes": pages * st["psize"],
            "entries": st["entries"],
            "file_bytes": os.stat(data).st_blocks * 512 if data.exists() else 0,
            "map_bytes": self.env.info()["map_size"],
        }

    def drop_mapped_pages(self) -> int:
        """Unmap the data file's pages from this process (they stay in the page cache); returns bytes advised.

        LMDB reads through a read-only shared map of `data.mdb`, so every block read (the tiers read each
        one once) stays mapped and counted in PETRA's RSS: ~0.7 MB/s at the 10k benchmark's rate, for as
        long as the WAL keeps the blocks (retention_hours). MADV_DONTNEED on a file-backed shared map only
        drops the page table entries: the next read faults the page in again from the cache or the file.
        """
        return drop_file_pages(self.path / "data.mdb")

    def close(self) -> None:
        close_environment(self.env, what="WAL")


def _announce_new(path: Path) -> None:
    """A new, empty WAL is worth a warning: after a damaged one was moved aside it is the only sign."""
    damaged = sorted(path.parent.glob(f"{path.name}.damaged-*"))
    log.warning("WAL: started a new, empty log at %s%s", path,
                f"; the damaged one moved aside is kept at {damaged[-1]}" if damaged else "")


def _free_space(path: Path) -> str:
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "free space unknown"
    return f"{free // 1024} KiB free on the WAL's filesystem"


def read_committed(wal_dir: str | Path) -> tuple[int, int, list[tuple[int, bytes]]]:
    """(origin, head, [(first_seq, block payload), ...]) straight from a WAL directory.

    For tools and tests, also after the owning process was killed: what this
    returns is exactly what was acknowledged.
    """
    env = open_environment(Path(wal_dir), what="WAL", max_dbs=4, readonly=True, lock=False)
    try:
        with env.begin() as txn:
            meta = env.open_db(b"meta", txn=txn, create=False)
            blocks_db = env.open_db(b"blocks", txn=txn, create=False)
            origin = _meta_seq(txn.get(b"origin", db=meta), "origin")
            head = _meta_seq(txn.get(b"head", db=meta), "head")
            blocks = [(_KEY.unpack(k)[0], bytes(v[_HEADER.size:])) for k, v in txn.cursor(db=blocks_db)]
        return origin, head, blocks
    finally:
        env.close()


_MADV_DONTNEED = 4


def drop_file_pages(path: Path) -> int:
    """madvise(MADV_DONTNEED) over every mapping of `path` in this process (Linux; elsewhere a no-op)."""
    try:
        with open("/proc/self/maps") as maps:
            ranges = [line.split(None, 1)[0] for line in maps if line.rstrip("\n").endswith(" " + str(path))]
    except OSError:
        return 0
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    advised = 0
    for span in ranges:
        start, end = (int(x, 16) for x in span.split("-"))
        if libc.madvise(start, end - start, _MADV_DONTNEED) == 0:
            advised += end - start
    return advised
