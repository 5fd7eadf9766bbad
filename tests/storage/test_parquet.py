"""Parquet parts: atomic, named by WAL range, recovered after a crash, compacted idempotently, readable anywhere."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from petra.storage.parquet_store import ParquetStore, live_parts, part_name, scan_parts
from petra.storage.query import query_history, read_rows
from petra.storage.rows import decode_block, encode_block, to_rows
from petra.storage.settings import LocalSettings


def _rows(first: int, n: int, start: float | None = None) -> pa.Table:
    start = start or time.time()
    samples = [(start + i * 0.01, "temp" if i % 2 else "on", float(i) if i % 2 else bool(i % 4), 0)
               for i in range(n)]
    return to_rows(decode_block(encode_block(samples, "node-a")), first)


def _store(tmp_path: Path, **kw: object) -> ParquetStore:
    return ParquetStore(LocalSettings(data_dir=tmp_path / "local", **kw))  # type: ignore[arg-type]


def test_a_range_spanning_midnight_is_one_part_per_date_with_the_same_range_name(tmp_path: Path) -> None:
    store = _store(tmp_path)
    midnight = dt.datetime(2024, 6, 1, tzinfo=dt.UTC).timestamp()
    store.write(_rows(100, 20, midnight - 0.1), 100, 119)
    parts = scan_parts(store.dir)
    assert sorted(p.relative for p in parts) == [f"date=2024-05-31/{part_name(100, 119)}",
                                                 f"date=2024-06-01/{part_name(100, 119)}"]
    assert read_rows(store.dir).num_rows == 20
    assert not list(store.dir.glob("*/*.tmp"))


def test_recovery_removes_parts_of_an_uncommitted_write_so_the_replay_cannot_duplicate(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(_rows(1, 10), 1, 10)
    store.write(_rows(11, 10), 11, 20)  # crashed before its cursor commit
    (store.dir / next(store.dir.iterdir()).name / "part-x.parquet.tmp").write_bytes(b"junk")
    store.recover(cursor=10)
    assert [(p.first, p.last) for p in scan_parts(store.dir)] == [(1, 10)]
    store.write(_rows(11, 10), 11, 20)  # the replay
    assert sorted(read_rows(store.dir).column("seq").to_pylist()) == list(range(1, 21))


def test_compaction_merges_small_parts_and_a_crash_halfway_leaves_no_duplicates(tmp_path: Path) -> None:
    store = _store(tmp_path, compact_after_hours=0)
    for i in range(4):
        store.write(_rows(1 + 10 * i, 10), 1 + 10 * i, 10 + 10 * i)
    before = read_rows(store.dir)
    saved = tmp_path / "saved"
    shutil.copytree(store.dir, saved)
    assert store.compact() == 4
    assert [(p.first, p.last) for p in scan_parts(store.dir)] == [(1, 40)]
    assert read_rows(store.dir).equals(before)
    assert store.compact() == 0, "idempotent"
    # The crash: merged part renamed into place, sources not deleted yet.
    merged = scan_parts(store.dir)[0]
    for part in scan_parts(saved):
        shutil.copy(part.path, merged.path.parent / part.path.name)
    assert len(scan_parts(store.dir)) == 5
    assert [(p.first, p.last) for p in live_parts(store.dir)] == [(1, 40)]
    assert read_rows(store.dir).equals(before)
    store.recover(cursor=40)
    assert len(scan_parts(store.dir)) == 1


def test_a_damaged_part_is_named_skipped_and_kept_while_the_rest_is_read_and_compacted(tmp_path: Path,
                                                                                     caplog) -> None:
    store = _store(tmp_path, compact_after_hours=0)
    for i in range(4):
        store.write(_rows(1 + 10 * i, 10), 1 + 10 * i, 10 + 10 * i)
    damaged = scan_parts(store.dir)[1].path
    os.truncate(damaged, damaged.stat().st_size // 2)
    assert sorted(read_rows(store.dir).column("seq").to_pylist()) == [*range(1, 11), *range(21, 41)]
    assert store.compact() == 2, "the run after the damaged part is merged, never a range spanning it"
    assert [(p.first, p.last) for p in live_parts(store.dir)] == [(1, 10), (11, 20), (21, 40)]
    assert damaged.exists(), "a damaged part is left for a person to look at"
    assert any(str(damaged) in r.getMessage() and "mv " in r.getMessage() for r in caplog.records)


def test_retention_deletes_whole_expired_partitions_only(tmp_path: Path) -> None:
    store = _store(tmp_path, retention_days=7)
    old = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC).timestamp()
    store.write(_rows(1, 5, old), 1, 5)
    store.write(_rows(6, 5, old + 86400 * 10), 6, 10)
    assert store.expire(today=dt.date(2024, 1, 9)) == ["2024-01-01"]
    assert [p.date for p in scan_parts(store.dir)] == ["2024-01-11"]
    assert store.expire(today=dt.date(2024, 1, 30), may_delete=lambda p: False) == []


def test_parts_read_with_sensible_types_in_pyarrow_pandas_and_duckdb(tmp_path: Path) -> None:
    store = _store(tmp_path, compression="zstd", compression_level=3)
    store.write(_rows(1, 10), 1, 10)
    path = scan_parts(store.dir)[0].path
    table = pa.parquet.read_table(path)
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("value_float").type == pa.float64()
    assert table.schema.field("value_bool").type == pa.bool_()
    frame = pd.read_parquet(path)
    assert str(frame["ts"].dtype).startswith("datetime64[us, UTC]")
    assert frame["value_float"].dtype == "float64" and frame["seq"].dtype == "uint64"
    assert frame.loc[frame["signal"] == "temp", "value_float"].tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    con = duckdb.connect()
    described = dict(con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall() and
                     [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()])
    assert described["ts"] == "TIMESTAMP WITH TIME ZONE" and described["value_float"] == "DOUBLE"
    assert described["signal"] == "VARCHAR" and described["value_bool"] == "BOOLEAN"
    count, total = con.execute(
        f"SELECT count(*), sum(value_float) FROM read_parquet('{store.dir}/*/*.parquet') WHERE signal = 'temp'"
    ).fetchone()
    assert (count, total) == (5, 25.0)


def test_query_history_filters_by_signal_and_time_and_downsamples(tmp_path: Path) -> None:
    store = _store(tmp_path)
    start = 1_700_000_000.0
    store.write(_rows(1, 200, start), 1, 200)
    raw = query_history(store.dir, "temp", start, start + 1.0)
    assert raw.num_rows == 50 and raw.column("value_float").to_pylist()[:2] == [1.0, 3.0]
    trend = query_history(store.dir, "temp", start, start + 2.0, max_points=10)
    assert trend.num_rows == 10
    assert sum(trend.column("count").to_pylist()) == 100
    assert trend.column("min").to_pylist()[0] == 1.0 and trend.column("max").to_pylist()[-1] == 199.0
    os.sync()


def test_a_clean_stop_drains_every_acknowledged_sample_into_parquet(tmp_path: Path) -> None:
    from petra.messages import SignalUpdate, UpdateSignals
    from petra.storage.wal import read_committed
    from tests.helpers import wait_until
    from tests.storage.conftest import ramp_config, start_runtime, wal_proxy

    storage = {"local": {"flush_interval_seconds": 3600}}  # nothing is flushed while it runs
    runtime = start_runtime(ramp_config(tmp_path, storage, generators=0))
    try:
        wal = wal_proxy(runtime)
        parquet = runtime.tree.lookup("petra/storage/history:parquet").proxy()
        wait_until(lambda: parquet.status().get(timeout=5)["buffered_to"] == wal.flush().get(timeout=5))
        group = runtime.tree.lookup("petra/core/signals/default")
        for i in range(20):  # the last samples, acknowledged just before the tier is told to stop
            group.ask(UpdateSignals((SignalUpdate("label", f"batch-{i + 2}"),), "test"), timeout=5)
        head = wal.flush().get(timeout=5)
        runtime.tree.lookup("petra/storage").proxy().terminate_child("history:parquet").get(timeout=30)
    finally:
        runtime.stop()
    assert read_committed(tmp_path / "wal")[1] == head
    stored = read_rows(tmp_path / "local")
    assert max(stored.column("seq").to_pylist()) == head
    assert "batch-21" in stored.column("value_string").to_pylist()
