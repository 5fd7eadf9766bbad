"""kill -9 at random moments: afterwards Parquet and ClickHouse hold every acknowledged sample exactly once.

"Acknowledged" is observable: after each SIGKILL the WAL's committed head is read
straight from the LMDB environment (`read_committed`). Every sample up to it must
end up, once, in each tier; nothing beyond what the WAL holds may appear.
"""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pyarrow.compute as pc
import yaml

from petra.storage.query import read_rows
from petra.storage.rows import concat_rows, decode_block, to_rows
from petra.storage.wal import read_committed
from tests.e2e.petra_process import PetraProcess, free_port, scrape
from tests.helpers import wait_until
from tests.storage.conftest import ch_seqs, clickhouse_storage, ramp_config


def _wal_rows(wal_dir: Path):
    origin, head, blocks = read_committed(wal_dir)
    table = concat_rows(to_rows(decode_block(payload), first) for first, payload in blocks)
    return origin, head, table


def _wait_caught_up(proc: PetraProcess, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.proc.poll() is None, proc.log
        try:
            m = scrape(port)
        except OSError:
            time.sleep(0.1)
            continue
        lags = [v for k, v in m.items() if k.startswith("petra_storage_consumer_lag_samples")]
        if len(lags) == 2 and all(v == 0 for v in lags):
            return
        time.sleep(0.2)
    raise AssertionError(f"tiers did not catch up:\n{proc.log[-3000:]}")


def _wait_recording_beyond(proc: PetraProcess, port: int, head: int) -> None:
    """Until this run has acknowledged samples of its own (however slow the machine is)."""

    def recording() -> bool:
        assert proc.proc.poll() is None, proc.log
        try:
            return scrape(port).get("petra_wal_head_sequence", 0) > head
        except OSError:
            return False

    wait_until(recording, timeout=120, interval=0.05)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing_in_parquet_and_clickhouse(
    tmp_path: Path, ch, database: str
) -> None:
    storage = {"strategy": "parallel", "remote": clickhouse_storage(ch, database, batch_size=500),
               "local": {"flush_interval_seconds": 0.2}}
    data = ramp_config(tmp_path, storage, generators=8, scan_ms=10)
    data["signals"][0]["initial"] = "${RAMP_ENABLE:-true}"
    config = tmp_path / "crash.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    wal_dir = tmp_path / "wal"
    rng = random.Random(20240611)
    acknowledged: list[int] = []
    for run in range(4):
        port = free_port()
        proc = PetraProcess(["run", str(config), "--metrics-port", str(port)], tmp_path / f"run{run}.log")
        try:
            _wait_recording_beyond(proc, port, acknowledged[-1] if acknowledged else 0)
            time.sleep(rng.uniform(0.2, 1.5))  # a random moment while it writes, not a measure of anything
            assert proc.proc.poll() is None, proc.log
        finally:
            proc.kill()  # SIGKILL (also when the wait failed or the test timed out: no PETRA outlives it)
        _, head, _ = _wal_rows(wal_dir)
        acknowledged.append(head)
    assert acknowledged == sorted(acknowledged) and len(set(acknowledged)) == 4

    # A last run with the generators off lets every tier catch up; then kill it too.
    port = free_port()
    proc = PetraProcess(["run", str(config), "--metrics-port", str(port)], tmp_path / "final.log",
                        env={"RAMP_ENABLE": "false"})
    try:
        _wait_caught_up(proc, port)
    finally:
        proc.kill()

    origin, head, wal = _wal_rows(wal_dir)
    expected = wal.column("seq").to_pylist()
    assert expected == list(range(origin, head + 1)), "the WAL itself has no gaps"
    assert head >= acknowledged[-1]

    parquet = read_rows(tmp_path / "local").sort_by("seq")
    assert parquet.column("seq").to_pylist() == expected
    assert parquet.column("value_float").to_pylist() == wal.column("value_float").to_pylist()
    assert parquet.column("value_int").to_pylist() == wal.column("value_int").to_pylist()
    assert parquet.column("signal").to_pylist() == wal.column("signal").to_pylist()
    assert ch_seqs(ch, database) == expected

    # The ramp: within each run, count0 rises by exactly one per recorded sample.
    counts = parquet.filter(pc.equal(parquet.column("signal"), "count0")).column("value_int").to_pylist()
    runs = 1 + sum(1 for a, b in itertools.pairwise(counts) if b < a)
    assert runs >= 4
    assert all(b == a + 1 or b < a for a, b in itertools.pairwise(counts))
