"""remote:clickhouse, the sink: one connection (clickhouse-driver, native protocol), the schema, inserts.

Schema (created if missing; works on 18.16 and on current servers)::

    samples     MergeTree, PARTITION BY toYYYYMM(time), ORDER BY (signal, time, ts_us)
                node_id, signal String; ts_us Int64 (epoch microseconds);
                time DateTime DEFAULT toDateTime(intDiv(ts_us, 1000000)); seq UInt64;
                value_type Enum8; value_bool Nullable(UInt8); value_int Nullable(Int64);
                value_float Nullable(Float64); value_string Nullable(String); quality Enum8
    samples_1m  materialized view, AggregatingMergeTree: per node, signal and minute
                minState/maxState/avgState of the numeric value and countState()
                (read with minMerge(v_min), maxMerge(v_max), avgMerge(v_avg), countMerge(samples))

`landed` answers which seqs beyond a cursor are already in the table, so the
tier (`clickhouse_actor.py`) can send a batch again without duplicating it.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_driver import Client

from petra.storage.settings import RemoteSettings

log = logging.getLogger(__name__)
# clickhouse-driver logs every failed connection attempt with a traceback; the tier reports an
# unreachable server itself, once per episode.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.ERROR)

COLUMNS = ("node_id", "signal", "ts_us", "seq", "value_type", "value_bool", "value_int", "value_float",
           "value_string", "quality")
LANDED_SLACK_S = 86400


def ddl(database: str, table: str) -> list[str]:
    value = "ifNull(value_float, ifNull(toFloat64(value_int), toFloat64(value_bool)))"
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"""CREATE TABLE IF NOT EXISTS {database}.{table} (
            node_id String, signal String, ts_us Int64,
            time DateTime DEFAULT toDateTime(intDiv(ts_us, 1000000)), seq UInt64,
            value_type Enum8('bool' = 1, 'int' = 2, 'float' = 3, 'string' = 4),
            value_bool Nullable(UInt8), value_int Nullable(Int64), value_float Nullable(Float64),
            value_string Nullable(String), quality Enum8('good' = 0, 'uncertain' = 1, 'bad' = 2)
        ) ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (signal, time, ts_us)""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_1m
            ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (node_id, signal, minute)
            AS SELECT node_id, signal, toStartOfMinute(toDateTime(intDiv(ts_us, 1000000))) AS minute,
                minState({value}) AS v_min, maxState({value}) AS v_max, avgState({value}) AS v_avg,
                countState() AS samples
            FROM {database}.{table} WHERE value_type != 'string' GROUP BY node_id, signal, minute""",
    ]


class ClickHouseSink:
    """One connection (with fail-over hosts) to the configured server; creates the schema on first use."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.insert_settings: dict[str, Any] = {}
        self._told_async = False

    @property
    def target(self) -> str:
        return f"{self.settings.database}.{self.settings.table}"

    def connect(self) -> Client:
        if self.client is not None:
            return self.client
        s = self.settings
        client = Client(
            s.host, port=s.port, user=s.username, password=s.password, database="default",
            alt_hosts=",".join(s.alternative_hosts) or None, connect_timeout=3, send_receive_timeout=30,
            sync_request_timeout=5,
        )
        try:
            for statement in ddl(s.database, s.table):
                client.execute(statement)
            self._async(client)
        except BaseException:
            client.disconnect()
            raise
        self.client = client
        return client

    def _async(self, client: Client) -> None:
        self.insert_settings = {}
        if not self.settings.async_insert:
            return
        if client.execute("SELECT count() FROM system.settings WHERE name = 'async_insert'")[0][0]:
            self.insert_settings = {"async_insert": 1, "wait_for_async_insert": 1}
        elif not self._told_async:
            self._told_async = True
            version = client.execute("SELECT version()")[0][0]
            log.warning("clickhouse %s does not support async_insert (needs 21.11+): inserting synchronously",
                        version)

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client = None

    def landed(self, node_id: str, after: int, min_ts_us: int) -> set[int]:
        """Seqs of `node_id` beyond `after` already in the table (time-bounded so partitions prune)."""
        client = self.connect()
        since = max(0, min_ts_us // 1_000_000 - LANDED_SLACK_S)
        rows = client.execute(
            f"SELECT seq FROM {self.target} WHERE node_id = %(node)s AND seq > %(after)s "
            f"AND time >= toDateTime(%(since)s)",
            {"node": node_id, "after": after, "since": since},
        )
        return {r[0] for r in rows}

    def insert(self, table: pa.Table) -> int:
        """Insert rows in ROW_SCHEMA as one block; returns rows sent."""
        if table.num_rows == 0:
            return 0
        client = self.connect()
        columns = [
            table.column("node_id").to_pylist(),
            table.column("signal").to_pylist(),
            pc.cast(table.column("ts"), pa.int64()).to_pylist(),
            table.column("seq").to_pylist(),
            table.column("value_type").to_pylist(),
            pc.cast(table.column("value_bool"), pa.uint8()).to_pylist(),
            table.column("value_int").to_pylist(),
            table.column("value_float").to_pylist(),
            table.column("value_string").to_pylist(),
            table.column("quality").to_pylist(),
        ]
        client.execute(f"INSERT INTO {self.target} ({', '.join(COLUMNS)}) VALUES", columns, columnar=True,
                       settings=self.insert_settings or None)
        return table.num_rows
