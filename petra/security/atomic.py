"""Writing a secret file so that a reader sees the old content or the new, never a part."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o600, *, keep_owner: bool = False) -> None:
    """`data` into `path` with `mode` (from the first byte: the temporary file is made with it):
    write a temporary file beside it, fsync, rename over `path`, fsync the directory.

    With `keep_owner`, when running as root, the new file gets the owner of the file it replaces
    (or, for a new file, of its directory), so that ``sudo petra user add`` leaves a file the
    service's own user can still read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if keep_owner and os.geteuid() == 0:
            owner = _owner(path)
            os.fchown(fd, owner[0], owner[1])
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _owner(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = os.stat(path.parent)
    return info.st_uid, info.st_gid
