"""The ClickHouse tier against a real 18.16 server: schema, rollup, idempotent re-sends, fail-over."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from petra.storage.clickhouse_sink import ClickHouseSink
from petra.storage.rows import decode_block, encode_block, to_rows
from petra.storage.settings import RemoteSettings, StorageSettings, WalSettings, parse_settings
from petra.storage.wal import Wal
from tests.helpers import wait_until
from tests.peers.clickhouse import free_port
from tests.storage.conftest import ch_seqs, clickhouse_storage, metric, ramp_config, start_runtime


def _sink(server, database: str, **kw: object) -> ClickHouseSink:
    return ClickHouseSink(RemoteSettings(host="127.0.0.1", port=server.tcp_port, database=database, **kw))


def test_schema_typed_values_and_the_per_minute_rollup(ch, database: str) -> None:
    sink = _sink(ch, database)
    t0 = 1_700_000_080.0  # 40 s into a minute
    samples = [(t0 + i, "flow", float(i), 0) for i in range(30)] + [(t0, "run", True, 0), (t0, "n", 7, 1),
                                                                    (t0, "txt", "hello", 2)]
    assert sink.insert(to_rows(decode_block(encode_block(samples, "node-1")), 1)) == 33
    client = ch.client()
    typed = client.execute(f"SELECT signal, value_type, value_bool, value_int, value_float, value_string, quality, "
                           f"time, ts_us FROM {database}.samples WHERE signal != 'flow' ORDER BY signal")
    assert [r[:7] for r in typed] == [("n", "int", None, 7, None, None, "uncertain"),
                                      ("run", "bool", 1, None, None, None, "good"),
                                      ("txt", "string", None, None, None, "hello", "bad")]
    assert typed[0][8] == int(t0 * 1e6)
    rollup = client.execute(f"SELECT minute, minMerge(v_min), maxMerge(v_max), avgMerge(v_avg), countMerge(samples) "
                            f"FROM {database}.samples_1m WHERE signal = 'flow' GROUP BY minute ORDER BY minute")
    assert [r[1:] for r in rollup] == [(0.0, 19.0, 9.5, 20), (20.0, 29.0, 24.5, 10)]
    sink.connect()  # creating again is harmless
    sink.disconnect()


def test_async_insert_is_reported_once_as_unsupported_and_inserts_carry_on(ch, database: str, caplog) -> None:
    sink = _sink(ch, database, async_insert=True)
    with caplog.at_level(logging.WARNING, "petra.storage.clickhouse_sink"):
        sink.insert(to_rows(decode_block(encode_block([(time.time(), "a", 1.0, 0)], "n")), 1))
        sink.disconnect()
        sink.insert(to_rows(decode_block(encode_block([(time.time(), "a", 2.0, 0)], "n")), 2))
    assert sum("async_insert" in r.message for r in caplog.records) == 1
    assert ch_seqs(ch, database) == [1, 2]


def test_alternative_hosts_take_over_when_the_first_host_is_down(ch, database: str) -> None:
    settings = RemoteSettings(host="127.0.0.1", port=free_port(), database=database,
                              alternative_hosts=(f"127.0.0.1:{ch.tcp_port}",))
    sink = ClickHouseSink(settings)
    sink.insert(to_rows(decode_block(encode_block([(time.time(), "a", 1.0, 0)], "n")), 5))
    assert ch_seqs(ch, database) == [5]


def test_the_original_examples_http_url_means_that_host_on_the_native_port() -> None:
    settings = parse_settings({"remote": {"type": "clickhouse", "url": "http://clickhouse:8123", "port": 9000,
                                          "async_insert": True}}, "n")
    assert (settings.remote.host, settings.remote.port) == ("clickhouse", 9000)
    assert parse_settings({"remote": {"url": "clickhouse://db:9440"}}, "n").remote.port == 9440


def test_rows_that_landed_before_the_cursor_was_committed_are_not_sent_again(
    tmp_path: Path, ch, database: str
) -> None:
    data = ramp_config(tmp_path, {"strategy": "parallel", "remote": clickhouse_storage(ch, database)})
    runtime = start_runtime(data)
    wait_until(lambda: metric(runtime, "petra_storage_rows_written_total", {"tier": "clickhouse"}) > 100)
    runtime.stop()
    # What a crash right after an insert and before the cursor commit leaves behind:
    wal = Wal(WalSettings(wal_dir=tmp_path / "wal"), ("parquet", "clickhouse"))
    samples = [(time.time(), "count0", 10_000 + i, 0) for i in range(50)]
    head = wal.append(encode_block(samples, "test-node"), 50)
    landed = to_rows(decode_block(wal.read(head - 50)[-1].payload), head - 49)
    wal.close()
    settings = StorageSettings(node_id="test-node", remote=RemoteSettings(host="127.0.0.1", port=ch.tcp_port,
                                                                          database=database))
    ClickHouseSink(settings.remote).insert(landed.slice(0, 30))  # a part of the batch landed
    runtime = start_runtime(data)
    try:
        wait_until(lambda: len(ch_seqs(ch, database)) > 0 and max(ch_seqs(ch, database)) > head, timeout=20)
    finally:
        runtime.stop()
    seqs = ch_seqs(ch, database)
    assert len(seqs) == len(set(seqs)), "no duplicates"
    assert set(range(head - 49, head + 1)) <= set(seqs)


@pytest.mark.parametrize("strategy", ["parallel"])
def test_the_tier_connects_lazily_so_a_down_server_does_not_stop_start_up(tmp_path: Path, strategy: str) -> None:
    remote = {"type": "clickhouse", "host": "127.0.0.1", "port": free_port(), "database": "nowhere"}
    runtime = start_runtime(ramp_config(tmp_path, {"strategy": strategy, "remote": remote}))
    try:
        wait_until(lambda: metric(runtime, "petra_storage_failures_total", {"tier": "clickhouse"}) >= 1)
        wait_until(lambda: metric(runtime, "petra_storage_rows_written_total", {"tier": "parquet"}) > 0)
        assert runtime.tree.lookup("petra/storage/remote:clickhouse") is not None
    finally:
        runtime.stop()


def test_a_new_table_is_ordered_by_node_signal_and_time_and_an_existing_one_is_left_as_it_is(
    ch, database: str
) -> None:
    sink = _sink(ch, database)
    sink.insert(to_rows(decode_block(encode_block([(time.time(), "a", 1.0, 0)], "n")), 1))
    key = f"SELECT sorting_key FROM system.tables WHERE database = '{database}' AND name = 'samples'"
    assert ch.client().execute(key) == [("node_id, signal, ts_us",)]
    older = f"{database}_old"  # a table made by an earlier PETRA (ORDER BY signal, time, ts_us) is kept
    ch.client().execute(f"CREATE DATABASE {older}")
    ch.client().execute(f"CREATE TABLE {older}.samples AS {database}.samples ENGINE = MergeTree() "
                        f"PARTITION BY toYYYYMM(time) ORDER BY (signal, time, ts_us)")
    try:
        _sink(ch, older).insert(to_rows(decode_block(encode_block([(time.time(), "a", 2.0, 0)], "n")), 2))
        assert ch.client().execute(key.replace(database, older)) == [("signal, time, ts_us",)]
        assert ch_seqs(ch, older) == [2]
    finally:
        ch.client().execute(f"DROP DATABASE IF EXISTS {older}")
