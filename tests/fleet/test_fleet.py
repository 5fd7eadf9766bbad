"""Three PETRA edge nodes, one Mosquitto, a two-shard ClickHouse cluster and a Sparkplug host application.

The host sees the three nodes born and their data, a NDEATH (the will) when one
is killed with SIGKILL, its rebirth with the next bdSeq when it returns, and,
after the host itself was offline for a while (during which another node was
killed and restarted), every node's rebirth followed by that period's data
flagged is_historical, in order, once. The cluster holds every sample every
node's WAL acknowledged exactly once, spread over both shards, and a query on
the Distributed table by time range sees all three nodes.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fleet.fleet import Node, node_config, wal_seqs
from tests.helpers import wait_until
from tests.peers.clickhouse_cluster import ClickHouseCluster
from tests.peers.mosquitto import Mosquitto
from tests.sparkplug.host import SparkplugHost

DATABASE = "fleet"


def _bdseq(message: object) -> int:
    return next(m.long_value for m in message.payload.metrics if m.name == "bdSeq")  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
def test_three_nodes_one_broker_one_cluster(broker: Mosquitto, clickhouse_cluster: ClickHouseCluster,
                                            tmp_path: Path) -> None:
    client = clickhouse_cluster.client(0)
    client.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    client1 = clickhouse_cluster.client(1)
    client1.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    ids = [clickhouse_cluster.node_on_shard(0, "edge"), clickhouse_cluster.node_on_shard(1, "edge")]
    ids.append(next(f"edge-{n}" for n in range(100, 200) if f"edge-{n}" not in ids))
    remote = clickhouse_cluster.remote(DATABASE, batch_size=2000)
    host = SparkplugHost(broker.port, broker.username, broker.password, host_id="scada")
    nodes = [Node(i, tmp_path / i, node_config(i, tmp_path / i, broker.port, remote, username=broker.username,
                                                password=broker.password)) for i in ids]
    started = time.time()
    try:
        host.state(True)
        for node in nodes:
            node.start()
        wait_until(lambda: all(host.received("NBIRTH", n.node_id) for n in nodes), timeout=60)
        wait_until(lambda: all(len(host.received("NDATA", n.node_id)) >= 10 for n in nodes), timeout=30)

        # SIGKILL: the broker publishes the node's will, its NDEATH with the NBIRTH's bdSeq.
        killed = nodes[2]
        birth = host.received("NBIRTH", killed.node_id)[-1]
        killed.kill()
        wait_until(lambda: host.received("NDEATH", killed.node_id), timeout=60)  # keepalive 30 s at most
        death = host.received("NDEATH", killed.node_id)[-1]
        assert _bdseq(death) == _bdseq(birth) and death.qos == 1
        killed.start()
        wait_until(lambda: len(host.received("NBIRTH", killed.node_id)) == 2, timeout=60)
        assert _bdseq(host.received("NBIRTH", killed.node_id)[-1]) == _bdseq(birth) + 1

        # The host goes offline: every node says NDEATH and keeps its data in the WAL; one is killed meanwhile.
        deaths = {n.node_id: len(host.received("NDEATH", n.node_id)) for n in nodes}
        host.state(False)
        wait_until(lambda: all(len(host.received("NDEATH", n.node_id)) > deaths[n.node_id] for n in nodes))
        offline_at = time.time()
        time.sleep(2.0)  # the plants keep changing (10 scans a second) while nobody watches
        nodes[1].kill()
        nodes[1].start()
        restarted = f'petra_sparkplug_connected{{node="fleet/{nodes[1].node_id}"}}'
        wait_until(lambda: nodes[1].metrics().get(restarted) == 1, timeout=60)  # its new session waits for the host
        births = {n.node_id: len(host.received("NBIRTH", n.node_id)) for n in nodes}
        host.state(True)
        wait_until(lambda: all(len(host.received("NBIRTH", n.node_id)) > births[n.node_id] for n in nodes))
        online_at = time.time()
        wait_until(lambda: all(n.metrics().get(
            f'petra_sparkplug_backfill_pending{{node="fleet/{n.node_id}"}}') == 0 for n in nodes), timeout=60)
        # every node's back-fill has left it; wait until the host has seen some of each (QoS 0 is in flight)
        wait_until(lambda: all(any(h for _, _, h in host.values(n.node_id).get("count", [])) for n in nodes))

        summary = []
        for node in nodes:
            seen = host.values(node.node_id)["count"]
            historical = [(v, t) for v, t, h in seen if h]
            assert historical, f"{node.node_id}: no historical data after the host returned"
            stamps = [t for _, t, _ in seen]
            assert len(stamps) == len(set(stamps)), f"{node.node_id}: a sample reached the host twice"
            assert [t for _, t in historical] == sorted(t for _, t in historical)
            first, last = historical[0][1] / 1000, historical[-1][1] / 1000
            assert offline_at - 1.0 <= first and last <= online_at
            steps = Counter(b - a for (a, _), (b, _) in itertools.pairwise(historical))
            restarts = 1 if node is nodes[1] else 0
            assert sum(n for step, n in steps.items() if step != 1) <= restarts, (node.node_id, steps)
            summary.append((node.node_id, len(historical), len(host.received(node=node.node_id))))
    finally:
        for node in nodes:
            node.stop()
        host.clear_state()
        host.close()

    # Every acknowledged sample of every node is in the cluster once. A stopped node's last samples wait in
    # its WAL: each node starts once more with nothing changing, until its ClickHouse tier has caught up.
    for node in nodes:
        node.drain()
    try:
        wait_until(lambda: all(n.caught_up() for n in nodes), timeout=60, interval=0.5)
    finally:
        for node in nodes:
            node.stop()
    expected = {(node.node_id, seq) for node in nodes for seq in wal_seqs(node.wal_dir)}
    rows = clickhouse_cluster.rows(DATABASE)
    duplicates = [key for key, n in Counter(rows).items() if n > 1]
    assert not duplicates, duplicates[:10]
    assert set(rows) == expected, (f"{len(expected - set(rows))} missing, e.g. {sorted(expected - set(rows))[:5]}; "
                                   f"{len(set(rows) - expected)} not in a WAL")
    per_shard = [len(clickhouse_cluster.shard_rows(i, DATABASE)) for i in range(2)]
    assert all(per_shard), per_shard

    # A central query across nodes by time range, through the Distributed table on either shard.
    since, until = int((started + 1) * 1e6), int(offline_at * 1e6)
    query = (f"SELECT node_id, count(), min(ts_us), max(ts_us) FROM {DATABASE}.samples "
             f"WHERE ts_us >= {since} AND ts_us < {until} GROUP BY node_id ORDER BY node_id")
    central = clickhouse_cluster.client(1).execute(query)
    assert [r[0] for r in central] == sorted(ids)
    assert all(since <= r[2] and r[3] < until for r in central)
    assert central == clickhouse_cluster.client(0).execute(query)
    print("\nfleet summary")
    print(f"  nodes {ids}; rows in the cluster {len(rows)} (shards {per_shard}), no duplicates, none missing")
    for node_id, historical, messages in summary:
        print(f"  {node_id}: {messages} Sparkplug messages seen by the host, {historical} historical counter "
              f"samples back-filled")
    print(f"  central query {since}..{until}: " + ", ".join(f"{r[0]}={r[1]}" for r in central))
