"""The fleet's peers: the two-shard ClickHouse cluster (session) and a Mosquitto of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.clickhouse_cluster import cluster_fixture
from tests.peers.mosquitto import Mosquitto

clickhouse_cluster = cluster_fixture(shards=2)


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    server = Mosquitto(auth=True, max_queued_messages=100_000).start()
    try:
        yield server
    finally:
        server.close()
