"""Append-only, hash-chained audit trail (JSON lines).

Each line is one entry::

    {"actor": "uid:1000", "details": {...}, "event": "config.reload", "hash": "<sha256>",
     "prev": "<hash of the previous entry or 64 zeros>", "seq": 7, "ts": "2024-05-01T12:00:00.000000Z"}

`hash` is sha256 over the canonical JSON (sorted keys, no spaces, ASCII) of the entry
without `hash`, so editing any field breaks that entry, and deleting or reordering
entries breaks the `seq`/`prev` links of the next one. The chain proves order and
integrity against accidents and casual edits, not against someone who can rewrite the
whole file (there is no key), nor against truncation of the newest entries.

Every entry is one `write()` on an O_APPEND descriptor followed by fsync, under a
thread lock and an exclusive `flock`, so a `petra` CLI process and the runtime can
append to the same file. A crash mid-write leaves at most one torn last line; the
next `AuditLog` open cuts it off and records that in an `audit.recovered` entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GENESIS = "0" * 64
RECOVERED_EVENT = "audit.recovered"

_ACTOR = re.compile(r"system|[a-z][a-z0-9_-]*:\S+")
_HASH = re.compile(r"[0-9a-f]{64}")
_FIELDS = frozenset({"seq", "ts", "event", "actor", "details", "prev", "hash"})
_TORN_KEEP_CHARS = 512
_CHUNK = 8192


class AuditError(Exception):
    """The audit file cannot be read or appended to; the chain is not extended."""


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as written."""

    seq: int
    ts: str
    event: str
    actor: str
    details: dict[str, Any]
    prev: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "event": self.event,
            "actor": self.actor,
            "details": self.details,
            "prev": self.prev,
        }

    def to_line(self) -> bytes:
        return (_canonical({**self.body(), "hash": self.hash}) + "\n").encode("ascii")


@dataclass(frozen=True)
class AuditVerification:
    """Result of `verify_audit`: where the chain first breaks, if it does.

    `entries` counts the entries that verified before the break; `line` is 1-based.
    """

    ok: bool
    entries: int
    first_broken_seq: int | None = None
    line: int | None = None
    reason: str = "chain intact"


def entry_hash(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of an entry without its `hash` field."""
    return hashlib.sha256(_canonical(body).encode("ascii")).hexdigest()


def parse_entry(line: bytes | str) -> AuditEntry:
    """Parse one line into an entry; ValueError names what is wrong. The hash is not checked."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(obj, dict) or set(obj) != _FIELDS:
        raise ValueError(f"expected exactly the fields {sorted(_FIELDS)}")
    ok_types = (
        type(obj["seq"]) is int
        and all(isinstance(obj[k], str) for k in ("ts", "event", "actor", "prev", "hash"))
        and isinstance(obj["details"], dict)
    )
    if not ok_types:
        raise ValueError("a field has the wrong type")
    return AuditEntry(**obj)


def verify_audit(path: Path) -> AuditVerification:
    """Walk the whole chain and report its first broken link.

    Checks, per entry: its own hash (an edited entry), then `seq` (a gap means a deleted
    entry, going backwards a reordered or duplicated one), then `prev` against the
    entry before it. Raises AuditError only if the file cannot be read.
    """
    path = Path(path)
    expected_seq, prev, count = 1, GENESIS, 0
    try:
        with path.open("rb") as f:
            for line_no, raw in enumerate(f, start=1):
                problem = _check_line(raw, expected_seq, prev)
                if isinstance(problem, str):
                    seq = _claimed_seq(raw, expected_seq)
                    return AuditVerification(False, count, seq, line_no, f"line {line_no}: {problem}")
                expected_seq, prev, count = problem.seq + 1, problem.hash, count + 1
    except OSError as exc:
        raise AuditError(f"cannot read audit file {path}: {exc.strerror}") from exc
    return AuditVerification(True, count)


class AuditLog:
    """Appends entries to one audit file; safe to share between threads.

    Opening continues an existing chain (its tail entry must verify, else AuditError:
    an altered tail needs a human, not an automatic fix). `clock` is a seam for tests.
    """

    def __init__(self, path: Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._next_seq = 1
        self._prev = GENESIS
        self._size = -1
        self._fd = self._open()
        try:
            with self._locked_file():
                pass
        except BaseException:
            os.close(self._fd)
            raise

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def append(self, event: str, actor: str, **details: Any) -> AuditEntry:
        """Write one entry durably (write + fsync) and return it.

        `actor` is "system", "uid:<n>", "token:<name>" or another "<kind>:<id>".
        Details must be JSON-serialisable; a TypeError leaves the chain untouched.
        """
        if not event or any(c.isspace() for c in event):
            raise ValueError(f"event must be a non-empty name without spaces, got {event!r}")
        if not _ACTOR.fullmatch(actor):
            raise ValueError(f"actor must be 'system' or '<kind>:<id>', got {actor!r}")
        _canonical(details)  # fail on unserialisable details before taking any lock
        with self._lock, self._locked_file():
            return self._append_locked(event, actor, details)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------

    def _open(self) -> int:
        # Read-write only so the tail can be read through this descriptor; writes still append.
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        try:
            try:
                fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:
                return os.open(self.path, flags)
            # A new file's directory entry is only durable once the directory is synced.
            dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            return fd
        except OSError as exc:
            raise AuditError(f"cannot open audit file {self.path}: {exc.strerror}") from exc

    @contextmanager
    def _locked_file(self) -> Iterator[None]:
        """Hold flock; if the file changed since our last write, re-read its tail."""
        if self._fd < 0:
            raise AuditError(f"audit log {self.path} is closed")
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size != self._size:
                self._sync_tail()
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _sync_tail(self) -> None:
        last, torn = _read_tail(self._fd)
        self._next_seq, self._prev = 1, GENESIS
        if last is not None:
            entry = _verified(last)
            if entry is None:
                raise AuditError(
                    f"the last complete entry of {self.path} does not verify; "
                    f"run `petra audit verify {self.path}` and move the file aside"
                )
            self._next_seq, self._prev = entry.seq + 1, entry.hash
        if torn:
            self._recover(torn)
        self._size = os.fstat(self._fd).st_size

    def _recover(self, torn: bytes) -> None:
        """Cut a torn last line off, keeping a record of it in the chain."""
        candidate = _verified(torn)
        if candidate is not None and candidate.seq == self._next_seq and candidate.prev == self._prev:
            # Everything but the newline reached the disk: the entry is whole, keep it.
            self._write(b"\n")
            self._next_seq, self._prev = candidate.seq + 1, candidate.hash
            log.warning("audit file %s: completed the newline of entry seq %d", self.path, candidate.seq)
            return
        size = os.fstat(self._fd).st_size
        os.ftruncate(self._fd, size - len(torn))
        os.fsync(self._fd)
        log.warning("audit file %s: cut off a torn last line of %d bytes", self.path, len(torn))
        self._append_locked(
            RECOVERED_EVENT,
            "system",
            {
                "torn_bytes": len(torn),
                "torn_sha256": hashlib.sha256(torn).hexdigest(),
                "torn_text": torn[:_TORN_KEEP_CHARS].decode("utf-8", "replace"),
            },
        )

    def _append_locked(self, event: str, actor: str, details: dict[str, Any]) -> AuditEntry:
        ts = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "seq": self._next_seq,
            "ts": ts,
            "event": event,
            "actor": actor,
            "details": json.loads(_canonical(details)),
            "prev": self._prev,
        }
        entry = AuditEntry(**body, hash=entry_hash(body))
        self._write(entry.to_line())
        self._next_seq, self._prev = entry.seq + 1, entry.hash
        return entry

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                # A short write left a torn line; forget our position so the next append
                # re-reads the tail and records the recovery.
                self._size = -1
                raise AuditError(f"short write to {self.path} ({written} of {len(data)} bytes)")
            os.fsync(self._fd)
        except OSError as exc:
            self._size = -1
            raise AuditError(f"cannot append to audit file {self.path}: {exc.strerror}") from exc
        self._size = os.fstat(self._fd).st_size


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _check_line(raw: bytes, expected_seq: int, prev: str) -> AuditEntry | str:
    """The entry if it is the valid next link, else what is wrong with it."""
    if not raw.endswith(b"\n"):
        return "torn last line (crash during a write?); opening the log with AuditLog recovers it"
    try:
        entry = parse_entry(raw)
    except ValueError as exc:
        return f"malformed entry: {exc}"
    if not _HASH.fullmatch(entry.hash) or entry_hash(entry.body()) != entry.hash:
        return f"entry seq {entry.seq} was altered (hash mismatch)"
    if entry.seq > expected_seq:
        return f"seq gap: expected {expected_seq}, found {entry.seq} (entry deleted?)"
    if entry.seq < expected_seq:
        return f"seq out of order: expected {expected_seq}, found {entry.seq} (reordered or duplicated?)"
    if entry.prev != prev:
        return f"prev of entry seq {entry.seq} does not match the entry before it (deleted or reordered?)"
    return entry


def _claimed_seq(raw: bytes, expected_seq: int) -> int:
    try:
        return parse_entry(raw).seq
    except ValueError:
        return expected_seq


def _verified(raw: bytes) -> AuditEntry | None:
    try:
        entry = parse_entry(raw)
    except ValueError:
        return None
    return entry if entry_hash(entry.body()) == entry.hash else None


def _read_tail(fd: int) -> tuple[bytes | None, bytes]:
    """(last complete line or None, bytes after the last newline) read from the end backwards."""
    buf, pos = b"", os.fstat(fd).st_size
    while pos > 0 and buf.count(b"\n") < 2:
        step = min(_CHUNK, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
    cut = buf.rfind(b"\n")
    if cut < 0:
        return None, buf
    torn = buf[cut + 1 :]
    start = buf.rfind(b"\n", 0, cut) + 1
    return buf[start : cut + 1], torn
