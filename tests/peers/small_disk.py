"""A real file system that fills up: a small tmpfs mounted for one test (the suite runs as root).

`SmallDisk.fill(leave_bytes)` writes a filler file until only about
`leave_bytes` are free (0: until the kernel says ENOSPC); `free()` deletes it.
Mounting is not optional: a suite that cannot test a full disk fails, it does
not skip.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    @property
    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave_bytes: int = 0) -> Path:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError), self.filler.open("ab", buffering=0) as out:
            if leave_bytes:
                out.write(b"\0" * max(0, self.free_bytes - leave_bytes))
                return self.filler
            while True:
                out.write(chunk)
        return self.filler

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextlib.contextmanager
def mounted_small_disk(path: Path, size_bytes: int) -> Iterator[SmallDisk]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a {size_bytes}-byte tmpfs at {path} (the suite runs as root): {done.stderr}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)


def small_disk_fixture(size_bytes: int):
    """A function-scoped `small_disk` fixture of `size_bytes` for a test package's conftest."""

    @pytest.fixture
    def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
        with mounted_small_disk(tmp_path / "disk", size_bytes) as disk:
            yield disk

    return small_disk
