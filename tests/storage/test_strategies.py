"""One test per row of the strategy table in petra/storage/README.md, with ClickHouse failing and recovering."""

from __future__ import annotations

from pathlib import Path

from petra.storage.query import read_rows
from tests.helpers import wait_until
from tests.storage.conftest import (
    ch_seqs,
    clickhouse_storage,
    lag,
    metric,
    quiesce,
    ramp_config,
    set_enable,
    start_runtime,
    wal_proxy,
)


def _parquet_seqs(tmp_path: Path) -> list[int]:
    return sorted(read_rows(tmp_path / "local").column("seq").to_pylist())


def _failures(runtime, tier: str) -> float:
    return metric(runtime, "petra_storage_failures_total", {"tier": tier})


def _wait_for_failure(runtime, tier: str, before: float) -> None:
    """Until `tier` has failed a write since it had `before` failures (its peer is down and it knows it)."""
    wait_until(lambda: _failures(runtime, tier) > before, timeout=20)


def test_local_first_forwards_from_parquet_and_the_wal_need_not_wait_for_clickhouse(
    tmp_path: Path, ch, database: str
) -> None:
    runtime = start_runtime(ramp_config(tmp_path, {"strategy": "local_first",
                                                   "remote": clickhouse_storage(ch, database)}))
    try:
        wait_until(lambda: len(ch_seqs(ch, database)) > 50, timeout=20)
        assert runtime.tree.lookup("petra/storage/remote:clickhouse").proxy().status().get()["source"] == "parquet"
        failed = _failures(runtime, "clickhouse")
        ch.stop()
        _wait_for_failure(runtime, "clickhouse", failed)  # ClickHouse's cursor stands from here on
        wal = wal_proxy(runtime)
        ch_cursor = wal.cursor("clickhouse").get()
        # Parquet writes on past it: the WAL has blocks that only ClickHouse has not taken
        wait_until(lambda: wal.flush().get() and wal.cursor("parquet").get() > ch_cursor + 300, timeout=20)
        assert wal.cursor("clickhouse").get() == ch_cursor
        wal.trim(True).get()
        assert wal.status().get()["tail"] > ch_cursor + 1, "trimmed past ClickHouse's cursor"
        ch.start()
        seqs = quiesce(runtime, ("parquet", "clickhouse"))
    finally:
        runtime.stop()
        ch.start()
    parquet = _parquet_seqs(tmp_path)
    assert parquet[-1] == seqs[-1] and len(parquet) == len(set(parquet))
    assert ch_seqs(ch, database) == parquet


def test_remote_first_writes_clickhouse_and_spills_to_parquet_only_what_clickhouse_did_not_take(
    tmp_path: Path, ch, database: str
) -> None:
    storage = {"strategy": "remote_first", "remote": clickhouse_storage(ch, database, fallback_after_seconds=2.0,
                                                                         batch_size=200)}
    runtime = start_runtime(ramp_config(tmp_path, storage))
    try:
        wait_until(lambda: len(ch_seqs(ch, database)) > 200, timeout=20)
        wal = wal_proxy(runtime)
        seen = wal.flush().get()
        # Parquet has decided about every row up to `seen` (spill or skip) once its cursor is past it
        wait_until(lambda: wal.cursor("parquet").get() >= seen, timeout=20)
        assert _parquet_seqs(tmp_path) == [], "nothing spilled while ClickHouse takes everything"
        ch.stop()
        wait_until(lambda: len(_parquet_seqs(tmp_path)) > 100, timeout=20)
        ch.start()
        seqs = quiesce(runtime, ("parquet", "clickhouse"))
    finally:
        runtime.stop()
        ch.start()
    remote = ch_seqs(ch, database)
    spilled = _parquet_seqs(tmp_path)
    assert remote[-1] == seqs[-1] and len(remote) == len(set(remote)) == len(seqs)
    assert set(remote) == set(seqs), "ClickHouse ends with every sample, once"
    assert set(spilled) < set(seqs) and len(spilled) == len(set(spilled))
    assert set(spilled) & set(remote) == set(spilled), "the spill is a copy of the outage's rows"


def test_parallel_writes_both_tiers_independently_and_the_wal_keeps_what_clickhouse_lacks(
    tmp_path: Path, ch, database: str
) -> None:
    """The outage proof for ClickHouse: stopped during logging, restarted: every row once, lag back to 0."""
    runtime = start_runtime(ramp_config(tmp_path, {"strategy": "parallel",
                                                   "remote": clickhouse_storage(ch, database)}))
    try:
        wait_until(lambda: len(ch_seqs(ch, database)) > 50, timeout=20)
        failed = _failures(runtime, "clickhouse")
        ch.stop()
        _wait_for_failure(runtime, "clickhouse", failed)  # ClickHouse's cursor stands from here on
        wal = wal_proxy(runtime)
        ch_cursor = wal.cursor("clickhouse").get()
        # Parquet does not wait for ClickHouse: it writes on past ClickHouse's cursor
        wait_until(lambda: wal.flush().get() and wal.cursor("parquet").get() > ch_cursor + 300, timeout=20)
        wait_until(lambda: metric(runtime, "petra_storage_oldest_unforwarded_seconds",
                                  {"consumer": "clickhouse"}) > 1.0, timeout=20)
        assert wal.cursor("clickhouse").get() == ch_cursor
        wait_until(lambda: lag(runtime, "clickhouse") > 300, timeout=20)
        assert lag(runtime, "parquet") < 2000
        wal.trim(True).get()
        assert wal.status().get()["tail"] <= ch_cursor + 1, "the WAL keeps everything ClickHouse has not taken"
        ch.start()
        set_enable(runtime, True)
        seqs = quiesce(runtime, ("parquet", "clickhouse"), timeout=40)
        wait_until(lambda: lag(runtime, "clickhouse") == 0, timeout=20)
        wait_until(lambda: metric(runtime, "petra_storage_oldest_unforwarded_seconds",
                                  {"consumer": "clickhouse"}) == 0, timeout=20)
        assert metric(runtime, "petra_storage_failures_total", {"tier": "clickhouse"}) >= 1
    finally:
        runtime.stop()
        ch.start()
    assert ch_seqs(ch, database) == seqs
    assert _parquet_seqs(tmp_path) == seqs
