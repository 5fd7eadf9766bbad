"""The ClickHouse tier on a two-shard 18.16 cluster: the schema on every shard, rows on their node's shard,
exactly once per node, and a shard that goes down and comes back."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from petra.storage.clickhouse_sink import ClickHouseSink, SchemaError
from petra.storage.rows import decode_block, encode_block, to_rows
from petra.storage.settings import RemoteSettings, parse_settings
from tests.helpers import wait_until
from tests.peers.clickhouse_cluster import ClickHouseCluster, cluster_fixture
from tests.storage.conftest import metric, quiesce, ramp_config, start_runtime

clickhouse_cluster = cluster_fixture()


@pytest.fixture
def cluster(clickhouse_cluster: ClickHouseCluster) -> ClickHouseCluster:
    """The session cluster with every shard running (a test may have stopped one)."""
    clickhouse_cluster.start()
    return clickhouse_cluster


def _sink(cluster: ClickHouseCluster, database: str, shard: int = 0, **kw: object) -> ClickHouseSink:
    host, port = cluster.hosts[shard]
    return ClickHouseSink(RemoteSettings(host=host, port=port, database=database, cluster=cluster.name, **kw))


def _rows(node: str, first_seq: int, n: int, t0: float = 1_700_000_000.0):
    samples = [(t0 + i, f"s{i % 3}", float(i), 0) for i in range(n)]
    return to_rows(decode_block(encode_block(samples, node)), first_seq)


def test_petra_creates_its_tables_on_every_shard_and_each_nodes_rows_live_on_its_shard(
    cluster: ClickHouseCluster, database: str
) -> None:
    east, west = cluster.node_on_shard(0, "east"), cluster.node_on_shard(1, "west")
    for shard, node in ((0, east), (1, west)):  # each node reaches the cluster through a different server
        sink = _sink(cluster, database, shard)
        assert sink.insert(_rows(node, 100, 30)) == 30
        sink.disconnect()
    for shard in (0, 1):
        tables = {r[0]: r[1] for r in cluster.client(shard).execute(
            f"SELECT name, engine FROM system.tables WHERE database = '{database}'")}
        assert tables["samples_local"] == "MergeTree" and tables["samples"] == "Distributed"
        assert tables["samples_1m_local"] == "MaterializedView" and tables["samples_1m"] == "Distributed"
        key = cluster.client(shard).execute(
            f"SELECT sorting_key FROM system.tables WHERE database = '{database}' AND name = 'samples_local'")
        assert key == [("node_id, signal, ts_us",)]
    assert {n for n, _ in cluster.shard_rows(0, database)} == {east}
    assert {n for n, _ in cluster.shard_rows(1, database)} == {west}
    for shard in (0, 1):  # a central query on either server sees every node, by time range
        client = cluster.client(shard)
        assert client.execute(f"SELECT node_id, count() FROM {database}.samples "
                              f"WHERE ts_us >= {int(1_700_000_010 * 1e6)} GROUP BY node_id ORDER BY node_id") == \
            sorted([(east, 20), (west, 20)])
        rollup = client.execute(f"SELECT node_id, countMerge(samples) FROM {database}.samples_1m "
                                f"GROUP BY node_id ORDER BY node_id")
        assert rollup == sorted([(east, 30), (west, 30)])


def test_landed_answers_for_the_nodes_asked_about_across_shards(cluster: ClickHouseCluster, database: str) -> None:
    east, west = cluster.node_on_shard(0, "east"), cluster.node_on_shard(1, "west")
    sink = _sink(cluster, database)
    sink.insert(_rows(east, 10, 5))
    sink.insert(_rows(west, 10, 5))  # the same seqs on another node are another node's rows
    assert sink.landed(west, 11, int(1_700_000_000 * 1e6)) == {12, 13, 14}
    assert sink.landed([east, "renamed"], 9, int(1_700_000_000 * 1e6)) == {10, 11, 12, 13, 14}


def test_a_schema_an_administrator_made_is_used_as_it_is(cluster: ClickHouseCluster, database: str, caplog) -> None:
    """PETRA only creates what is missing; a column type it does not encode from Arrow takes the driver's path."""
    from petra.storage.clickhouse_sink import cluster_ddl

    for shard in (0, 1):
        client = cluster.client(shard, settings={"allow_experimental_low_cardinality_type": 1})
        for _name, statement in cluster_ddl(database, "samples", cluster.name):
            client.execute(statement.replace("signal String", "signal LowCardinality(String)"))
    sink = _sink(cluster, database)
    with caplog.at_level(logging.INFO, "petra.storage.clickhouse_sink"):
        sink.insert(_rows("n", 1, 10))
        sink.insert(_rows("n", 11, 10))
    assert not any("created" in r.message for r in caplog.records)
    assert sum("does not encode" in r.message for r in caplog.records) == 1
    assert sink.native is False
    assert [s for _, s in cluster.rows(database)] == list(range(1, 21))


def test_drop_database_drops_it_on_every_shard(cluster: ClickHouseCluster, database: str) -> None:
    sink = _sink(cluster, database)
    sink.insert(_rows("n", 1, 3))
    sink.disconnect()
    sink.drop_database()
    for shard in (0, 1):
        found = cluster.client(shard).execute(f"SELECT count() FROM system.databases WHERE name = '{database}'")
        assert found == [(0,)]


def test_a_cluster_the_server_does_not_know_is_a_clear_retriable_error(cluster: ClickHouseCluster,
                                                                      database: str) -> None:
    host, port = cluster.hosts[0]
    sink = ClickHouseSink(RemoteSettings(host=host, port=port, database=database, cluster="no_such_cluster"))
    with pytest.raises(SchemaError, match="cluster 'no_such_cluster' is not defined"):
        sink.insert(_rows("n", 1, 1))


def test_the_cluster_setting_is_parsed_and_the_node_id_defaults_to_the_host_name() -> None:
    import socket

    from petra.config.loader import load_config_text

    config = load_config_text("storage:\n  remote: {host: ch1, cluster: petra_cluster, "
                              "alternative_hosts: ['ch2:9000']}\n")
    settings = parse_settings(config.sections["storage"], config.node_id)
    assert settings.remote is not None and settings.remote.cluster == "petra_cluster"
    assert settings.node_id == socket.gethostname()
    assert load_config_text("node_id: line-7\nstorage: {remote: {host: ch1}}\n").node_id == "line-7"


def test_a_wrong_cluster_value_is_a_located_config_error() -> None:
    from petra.config.loader import load_config_text

    with pytest.raises(Exception, match=r"plant\.yaml:3:.*cluster") as caught:
        load_config_text("storage:\n  remote:\n    cluster: ''\n    host: ch1\n", "plant.yaml")
    assert "cluster" in str(caught.value)


@pytest.mark.parametrize(("down", "strategy"), [("own", "parallel"), ("other", "parallel"), ("own", "local_first")])
def test_a_shard_down_makes_the_tier_lag_and_catch_up_with_every_sample_once(
    tmp_path: Path, cluster: ClickHouseCluster, database: str, down: str, strategy: str
) -> None:
    """'own': the shard holding this node's rows; 'other': the other one (18.16's synchronous insert opens every
    shard, so it fails too, and may have written to the reachable shard: the re-send must not duplicate those).
    local_first: the tier forwards from the Parquet parts, which go on being written while the shard is away."""
    node = cluster.node_on_shard(0, "line")
    stopped = cluster.shards[0 if down == "own" else 1]
    remote = cluster.remote(database, batch_size=500)
    runtime = start_runtime(ramp_config(tmp_path, {"strategy": strategy, "remote": remote}, node_id=node))
    try:
        def written() -> float:
            return metric(runtime, "petra_storage_rows_written_total", {"tier": "clickhouse"})

        wait_until(lambda: written() > 200, timeout=30)
        failures = metric(runtime, "petra_storage_failures_total", {"tier": "clickhouse"})
        stopped.stop()
        wait_until(lambda: metric(runtime, "petra_storage_failures_total", {"tier": "clickhouse"}) > failures + 1,
                   timeout=30)
        status = runtime.tree.lookup("petra/storage/remote:clickhouse").proxy().status().get(timeout=5)
        assert status["failing_since"] is not None
        assert "\n" not in status["last_error"] and "Stack trace" not in status["last_error"], "one line, no trace"
        lagging_at = written()
        time.sleep(0.5)  # the ramp goes on while the shard is away: rows pile up in the WAL
        stopped.start()
        wait_until(lambda: written() > lagging_at, timeout=30)
        seqs = quiesce(runtime, ("parquet", "clickhouse"), timeout=60)
    finally:
        runtime.stop()
        stopped.start()
    rows = cluster.rows(database)
    assert {n for n, _ in rows} == {node}
    landed = [s for _, s in rows]
    assert len(landed) == len(set(landed)), "no sample twice"
    assert landed == seqs, "every acknowledged sample, none missing"
    assert {n for n, _ in cluster.shard_rows(1, database)} == set(), "all on the node's shard"


def test_the_documented_ddl_is_the_ddl_petra_runs() -> None:
    import re

    from petra.storage.clickhouse_sink import cluster_ddl

    doc = (Path(__file__).resolve().parents[2] / "docs" / "clickhouse-cluster.md").read_text()

    def flat(text: str) -> str:
        return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()

    documented = flat(doc)
    for _name, statement in cluster_ddl("petra", "samples", "petra_cluster"):
        assert flat(statement) + ";" in documented, statement
