"""Two (or more) ClickHouse 18.16 servers on loopback as the shards of one cluster, `petra_cluster`.

Each shard is a `ClickHouseServer` (own ports, own data directory) whose config also
declares `<remote_servers><petra_cluster>` with one `<shard>` per server, one replica
each, so a Distributed table on either server reaches both. No ZooKeeper: the shards
are not replicated and `ON CLUSTER` DDL is not available (PETRA then creates its
tables on every host itself, see docs/clickhouse-cluster.md).

    cluster = ClickHouseCluster(tmp / "ch")          # ports chosen, nothing started
    cluster.start()                                   # every shard, ~1 s each
    storage = {"remote": cluster.remote(database)}    # a storage.remote section for PETRA
    cluster.shards[1].stop(); cluster.shards[1].start()   # one shard down and back, data kept
    cluster.rows(database)                            # (node_id, seq) of every row, across shards
    cluster.stop()

`cluster_fixture()` makes a session-scoped pytest fixture of it for a test package's conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.clickhouse import _CONFIG, ClickHouseServer

CLUSTER = "petra_cluster"


def _remote_servers(name: str, ports: list[int]) -> str:
    shards = "".join(
        f"<shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>" for port in ports
    )
    return f"  <remote_servers><{name}>{shards}</{name}></remote_servers>\n"


class ClickHouseCluster:
    """`shards` clickhouse-server processes forming cluster `name` (one replica per shard)."""

    def __init__(self, root: Path, shards: int = 2, name: str = CLUSTER) -> None:
        self.root = root
        self.name = name
        self.shards = [ClickHouseServer(root / f"shard{i + 1}") for i in range(shards)]
        servers = _remote_servers(name, [s.tcp_port for s in self.shards])
        template = _CONFIG.replace("</yandex>", servers + "</yandex>")
        for shard in self.shards:
            shard.config.write_text(template.format(root=shard.root, tcp=shard.tcp_port, http=shard.http_port))

    def start(self) -> None:
        """Start every shard that is not running (data directories are kept across stops)."""
        for shard in self.shards:
            shard.start()

    def stop(self) -> None:
        for shard in reversed(self.shards):
            shard.stop()

    @property
    def hosts(self) -> list[tuple[str, int]]:
        """(host, native port) of every shard, in shard order."""
        return [("127.0.0.1", s.tcp_port) for s in self.shards]

    def remote(self, database: str, **extra: Any) -> dict[str, Any]:
        """A `storage.remote` section for PETRA: the first shard as host, the others as fail-over hosts."""
        first, *others = self.hosts
        return {"type": "clickhouse", "host": first[0], "port": first[1], "database": database,
                "cluster": self.name, "alternative_hosts": [f"{h}:{p}" for h, p in others], **extra}

    def node_on_shard(self, shard: int, prefix: str = "node") -> str:
        """A node id whose rows the Distributed table (cityHash64(node_id), equal weights) puts on `shard` (0-based).

        Asks a running shard to hash: `prefix`-1, `prefix`-2, ... until one falls on that shard.
        """
        client = next(self.client(i) for i, s in enumerate(self.shards) if s.proc and s.proc.poll() is None)
        for n in range(1, 1000):
            name = f"{prefix}-{n}"
            if client.execute("SELECT cityHash64(%(n)s) %% %(k)s", {"n": name, "k": len(self.shards)})[0][0] == shard:
                return name
        raise AssertionError(f"no node id {prefix}-N hashes to shard {shard}")

    def client(self, shard: int = 0, **kwargs: Any) -> Any:
        return self.shards[shard].client(**kwargs)

    def rows(self, database: str, table: str = "samples_local") -> list[tuple[str, int]]:
        """(node_id, seq) of every row in `table` on every shard (each shard asked directly), sorted.

        A duplicate shows up twice, whichever shards hold the copies. A missing table counts as empty.
        """
        out: list[tuple[str, int]] = []
        for i in range(len(self.shards)):
            out.extend(self.shard_rows(i, database, table))
        return sorted(out)

    def shard_rows(self, shard: int, database: str, table: str = "samples_local") -> list[tuple[str, int]]:
        """(node_id, seq) of the rows one shard holds in its local table."""
        try:
            return [(r[0], r[1]) for r in self.client(shard).execute(f"SELECT node_id, seq FROM {database}.{table}")]
        except Exception as exc:
            if "doesn't exist" in str(exc) or "UNKNOWN_TABLE" in str(exc) or "UNKNOWN_DATABASE" in str(exc):
                return []
            raise


def cluster_fixture(shards: int = 2) -> Callable[..., Iterator[ClickHouseCluster]]:
    """A session-scoped `clickhouse_cluster` fixture (started once; each use starts stopped shards again)."""

    @pytest.fixture(scope="session")
    def clickhouse_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
        cluster = ClickHouseCluster(tmp_path_factory.mktemp("clickhouse-cluster"), shards=shards)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()

    return clickhouse_cluster
