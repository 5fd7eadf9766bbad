"""A full disk under the WAL: new samples are refused and counted, the WAL lives, and it recovers by itself."""

from __future__ import annotations

import os
from pathlib import Path

from petra.messages import SignalUpdate, UpdateSignals
from petra.storage.rows import concat_rows, decode_block, to_rows
from supervision import Inject
from tests.helpers import wait_until
from tests.peers.small_disk import SmallDisk
from tests.storage.conftest import metric, ramp_config, start_runtime, wal_proxy


def _wal_holds(runtime, signal: str, value: str) -> bool:
    blocks = wal_proxy(runtime).read(0, 10**7).get(timeout=5)
    rows = concat_rows(to_rows(decode_block(b.payload), b.first_seq) for b in blocks)
    return any(r["signal"] == signal and r["value_string"] == value for r in rows.to_pylist())


def _on_a_small_disk(disk: SmallDisk):
    small_disk = disk.path
    storage = {"wal": {"wal_dir": str(small_disk / "wal"), "map_size_mb": 1, "max_map_size_mb": 64},
               "local": {"data_dir": str(small_disk / "local")}}
    return start_runtime(ramp_config(small_disk, storage, generators=1, scan_ms=50))


def _fill_until_refused(runtime, small_disk: SmallDisk) -> tuple[Path, str]:
    """Fill the disk, then write big values until one is refused; the filler and that value."""
    group = runtime.tree.lookup("petra/core/signals/default")
    wal = wal_proxy(runtime)
    filler = small_disk.fill(leave_bytes=1024 * 1024)
    for _ in range(200):  # 64 KB of incompressible text per change: the WAL file must grow
        refused = os.urandom(32 * 1024).hex()
        assert group.ask(UpdateSignals((SignalUpdate("label", refused),), "test"), timeout=5) == []
        wal.flush().get(timeout=5)
        if wal.status().get(timeout=5)["full"] and not _wal_holds(runtime, "label", refused):
            return filler, refused  # this last value was refused: never acknowledged
    raise AssertionError("the disk never filled up")


def test_a_full_disk_refuses_new_samples_and_recording_resumes_when_space_returns(small_disk: SmallDisk) -> None:
    runtime = _on_a_small_disk(small_disk)
    try:
        filler, refused = _fill_until_refused(runtime, small_disk)
        assert metric(runtime, "petra_wal_dropped_samples_total") > 0
        wait_until(lambda: runtime.plant.table.read("storage.wal_full").value is True, timeout=5)
        ticks = metric(runtime, "petra_ticks_total")
        wait_until(lambda: metric(runtime, "petra_ticks_total") > ticks + 5, timeout=10)  # the plant scans on

        filler.unlink()
        # no new change: the refused value is stored as soon as the disk takes it
        wait_until(lambda: _wal_holds(runtime, "label", refused), timeout=10)
        wait_until(lambda: metric(runtime, "petra_wal_full") == 0, timeout=10)
        wait_until(lambda: runtime.plant.table.read("storage.wal_full").value is False, timeout=5)
        node = runtime.tree.tree().find("petra/storage/wal")
        assert node.restarts == 0, node.last_error
    finally:
        runtime.stop()


def test_the_wal_restarts_on_a_full_disk_and_records_again_when_space_returns(small_disk: SmallDisk) -> None:
    runtime = _on_a_small_disk(small_disk)
    try:
        filler, refused = _fill_until_refused(runtime, small_disk)
        runtime.tree.lookup("petra/storage/wal").tell(Inject("crash"))
        # its start stores the current values: refused again, which must not fail the start
        wait_until(lambda: _wal_node(runtime).restarts == 1 and _wal_node(runtime).state == "running",
                   timeout=10)
        filler.unlink()
        wait_until(lambda: _wal_holds(runtime, "label", refused), timeout=10)
        assert _wal_node(runtime).restarts == 1, _wal_node(runtime).last_error
    finally:
        runtime.stop()


def _wal_node(runtime):
    return runtime.tree.tree().find("petra/storage/wal")
