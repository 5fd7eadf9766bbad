"""Opening and closing LMDB environments so a damaged file is refused, never a crash.

LMDB maps its data file into memory. When the file is shorter than the pages
its own metadata says are in use (cut by `truncate`, a full disk, a bad copy),
the first read of a missing page kills the process with SIGBUS: no exception,
no log line, at every start. So before mapping, `open_environment` reads the
file's two meta pages with plain reads and compares its size with what the
live meta (the one with the larger transaction id) claims, and raises
`StoreFileError` naming the file and what to do.

Policy: a damaged file is refused, never replaced silently; the message gives
the exact ``mv`` that moves it aside, after which PETRA starts with a fresh,
empty one (and says so). The moved file stays for inspection.

LMDB also allows one open environment per file per process: an owner that
fails must close its environment (`close_environment`) before a successor
opens the same file, or the successor is refused with "already open". Between
processes LMDB allows sharing, which two PETRAs writing one WAL must not do:
`open_environment` also takes an exclusive lock (`petra.lock`, naming its pid)
that `close_environment` (or the process's exit) releases.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import lmdb

log = logging.getLogger(__name__)

_MAGIC = 0xBEEFC0DE
_ORDER = "<" if sys.byteorder == "little" else ">"
# Page header sizes on 64-bit builds: 16 bytes in LMDB 0.9 (data version 1), 24 in 1.0 (version 3).
_HEADER_SIZES = (16, 24)
# MDB_meta after the page header: magic, version (u32 each), mm_address, mm_mapsize (u64 each),
# two MDB_db records of 48 bytes (the first one's md_pad holds the page size), mm_last_pg, mm_txnid.
_META = struct.Struct(_ORDER + "IIQQ" + "I44x" + "48x" + "QQ")
_META_READ = 64 + _META.size


class StoreFileError(RuntimeError):
    """An LMDB data file that cannot be opened safely; the message says which file and what to do."""


class StoreInUse(RuntimeError):
    """Another process has the store open (its `petra.lock` is held): a start-up error, not a crash to retry."""


_owners: dict[lmdb.Environment, IO[str]] = {}
"""The lock file held for each environment this process opened."""


@dataclass(frozen=True)
class MetaInfo:
    """What a data file's live meta page says about it."""

    page_size: int
    last_page: int
    txnid: int

    @property
    def required_bytes(self) -> int:
        return (self.last_page + 1) * self.page_size


def data_file(path: Path, subdir: bool = True) -> Path:
    """The data file of the environment at `path` (LMDB's own naming)."""
    return path / "data.mdb" if subdir else path


def read_meta(data: Path) -> MetaInfo | None:
    """The live meta of `data`, None for a missing or empty file (LMDB creates it).

    Raises StoreFileError when the file is not a readable LMDB data file.
    """
    if not data.exists():
        return None
    try:
        with data.open("rb") as fh:
            head = fh.read(_META_READ)
            if not head:
                return None
            header = _header_size(head)
            if header is None:
                raise ValueError("it is not an LMDB data file (no LMDB magic number at its start)")
            first = _parse_meta(head, header, 0)
            if first is None:
                raise ValueError("its first meta page is cut short")
            page_size = first[4]
            if page_size < 256 or page_size & (page_size - 1):
                raise ValueError(f"its meta page gives an impossible page size {page_size}")
            fh.seek(page_size)
            second = _parse_meta(fh.read(_META_READ), header, 1)
    except ValueError as exc:
        raise StoreFileError(f"{data}: {exc}") from None
    except OSError as exc:
        raise StoreFileError(f"cannot read {data}: {exc.strerror or exc}") from None
    metas = [m for m in (first, second) if m is not None and m[0] == _MAGIC]
    live = max(metas, key=lambda m: m[6])
    return MetaInfo(page_size=page_size, last_page=live[5], txnid=live[6])


def _header_size(head: bytes) -> int | None:
    for size in _HEADER_SIZES:
        if len(head) >= size + 4 and struct.unpack_from(_ORDER + "I", head, size)[0] == _MAGIC:
            return size
    return None


def _parse_meta(buf: bytes, header: int, index: int) -> tuple[int, ...] | None:
    if len(buf) < header + _META.size:
        return None
    meta = _META.unpack_from(buf, header)
    if index == 0 and meta[0] != _MAGIC:
        return None
    return meta


def check_data_file(path: Path, *, what: str, subdir: bool = True) -> MetaInfo | None:
    """Raise StoreFileError when the data file of `path` is shorter than its own meta says."""
    data = data_file(path, subdir)
    try:
        meta = read_meta(data)
    except StoreFileError as exc:
        raise StoreFileError(f"{what}: {exc}. {_advice(path, subdir)}") from None
    if meta is None:
        return None
    size = data.stat().st_size
    if size < meta.required_bytes:
        raise StoreFileError(
            f"{what}: {data} is truncated: it has {size} bytes, but its own metadata says "
            f"{meta.required_bytes} bytes ({meta.last_page + 1} pages of {meta.page_size}) are in use. "
            f"Opening it would crash the process. {_advice(path, subdir)}")
    return meta


def _advice(path: Path, subdir: bool) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    if subdir:
        moved = f"mv {path} {path}.damaged-{stamp}"
    else:
        moved = f"mv {path} {path}.damaged-{stamp} && mv {path}-lock {path}-lock.damaged-{stamp}"
    return (f"Move it aside ({moved}) and start again: PETRA then creates a fresh, empty one "
            f"and the moved copy stays for inspection.")


def open_environment(path: Path, *, what: str, **lmdb_open_kwargs: Any) -> lmdb.Environment:
    """`lmdb.open(path, ...)` after checking the data file against its own metadata.

    `what` names the store for people ("WAL", "alarm state"). Raises StoreFileError
    for a damaged file instead of letting LMDB map it.
    """
    subdir = lmdb_open_kwargs.get("subdir", True)
    check_data_file(Path(path), what=what, subdir=subdir)
    env = lmdb.open(str(path), **lmdb_open_kwargs)
    if lmdb_open_kwargs.get("readonly"):
        return env  # readers (tools, tests) may look while the owner runs
    try:
        _owners[env] = _claim(Path(path), what=what, subdir=subdir)
    except BaseException:
        env.close()
        raise
    return env


def _claim(path: Path, *, what: str, subdir: bool) -> IO[str]:
    """An exclusive lock beside the store: LMDB lets two processes write one file, two PETRAs must not."""
    lock_path = path / "petra.lock" if subdir else path.with_name(path.name + "-petra.lock")
    lock = lock_path.open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise StoreInUse(f"{what} at {path} is in use by {holder}: is another PETRA running "
                         "with the same data directory?") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}")
    lock.flush()
    return lock


def close_environment(env: lmdb.Environment | None, *, what: str) -> None:
    """Close `env` so the same file can be opened again; safe to call twice or on failure paths.

    Never raises: it runs while its owner is already failing, and a second error
    there would hide the first and leave the file open for the successor.
    """
    if env is None:
        return
    try:
        env.close()
    except Exception:  # closing must not mask the failure that led here
        log.exception("%s: closing the LMDB environment failed", what)
    lock = _owners.pop(env, None)
    if lock is not None:
        lock.close()  # releases the flock: a successor may claim the store now
