"""remote:clickhouse: batched, idempotent store-and-forward into ClickHouse (clickhouse-driver, native protocol).

Schema (created if missing; works on 18.16 and on current servers)::

    samples     MergeTree, PARTITION BY toYYYYMM(time), ORDER BY (signal, time, ts_us)
                node_id, signal String; ts_us Int64 (epoch microseconds);
                time DateTime DEFAULT toDateTime(intDiv(ts_us, 1000000)); seq UInt64;
                value_type Enum8; value_bool Nullable(UInt8); value_int Nullable(Int64);
                value_float Nullable(Float64); value_string Nullable(String); quality Enum8
    samples_1m  materialized view, AggregatingMergeTree: per node, signal and minute
                minState/maxState/avgState of the numeric value and countState()
                (read with minMerge(v_min), maxMerge(v_max), avgMerge(v_avg), countMerge(samples))

Idempotence: every row carries its WAL `seq` (unique per node). The cursor is
committed after an insert succeeded. Whenever that is uncertain (at start, or
after an insert failed midway), the tier first asks which seqs beyond the
cursor have landed (`landed`) and sends only the others. Only one insert is ever
in flight, so what can have landed without a committed cursor is at most one batch.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from petra.storage.parquet_store import live_parts
from petra.storage.parquet_tier import CONSUMER as PARQUET
from petra.storage.parquet_tier import block_rows
from petra.storage.rows import ROW_SCHEMA, concat_rows
from petra.storage.settings import RemoteSettings
from petra.storage.tier import TierActor, WalUnavailable

log = logging.getLogger(__name__)
# clickhouse-driver logs every failed connection attempt with a traceback; the tier reports an
# unreachable server itself, once per episode.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.ERROR)

CONSUMER = "clickhouse"
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


class ParquetSource:
    """Rows in seq order out of the committed Parquet parts (strategy local_first)."""

    def __init__(self, data_dir: Any) -> None:
        self.data_dir = data_dir
        self._rows = ROW_SCHEMA.empty_table()
        self._loaded_to = -1

    def read(self, after: int, until: int, max_rows: int) -> pa.Table:
        if self._loaded_to < after:
            self._rows, self._loaded_to = ROW_SCHEMA.empty_table(), after
        seqs = self._rows.column("seq")
        if self._rows.num_rows and pc.max(seqs).as_py() > after:
            self._rows = self._rows.filter(pc.greater(seqs, pa.scalar(after, pa.uint64())))
        else:
            self._rows = ROW_SCHEMA.empty_table()
        if self._rows.num_rows < max_rows and self._loaded_to < until:
            self._load(until, max_rows)
        return self._rows.slice(0, max_rows)

    def _load(self, until: int, max_rows: int) -> None:
        loaded = [self._rows]
        count = self._rows.num_rows
        new_to = until
        for part in live_parts(self.data_dir):
            if part.last <= self._loaded_to or part.first > until:
                continue
            if count >= max_rows and part.first - 1 > self._loaded_to:
                new_to = part.first - 1  # complete up to here: every part that could hold lower seqs is loaded
                break
            table = pq.read_table(part.path, schema=ROW_SCHEMA)
            loaded.append(table.filter(pc.greater(table.column("seq"), pa.scalar(self._loaded_to, pa.uint64()))))
            count += loaded[-1].num_rows
        rows = concat_rows(loaded).sort_by("seq")
        self._rows = rows.filter(pc.less_equal(rows.column("seq"), pa.scalar(new_to, pa.uint64())))
        self._loaded_to = new_to


class ClickHouseTier(TierActor):
    tier: ClassVar[str] = "clickhouse"
    retriable = (OSError, EOFError, ch_errors.Error, WalUnavailable, TimeoutError)

    def open(self) -> None:
        assert self.settings.remote is not None
        self.sink = ClickHouseSink(self.settings.remote)
        self.from_parquet = self.settings.strategy == "local_first" and self.settings.local is not None
        self.source = ParquetSource(self.settings.local.data_dir) if self.from_parquet else None  # type: ignore[union-attr]
        self.batch = self.settings.remote.batch_size
        self.cursor: int | None = None
        self.uncertain = True
        self._skip: set[int] = set()
        self._linger_since: float | None = None
        # remote_first spills after fallback_after_seconds: never linger anywhere near that long
        self.linger_s = min(1.0, self.settings.remote.fallback_after_seconds / 4)

    def _pending(self) -> tuple[pa.Table, int]:
        """The next batch and the last seq it covers."""
        assert self.cursor is not None
        if self.source is not None:
            until = self.wal.cursor(PARQUET)
            rows = self.source.read(self.cursor, until, self.batch)
            last = until if rows.num_rows < self.batch else int(pc.max(rows.column("seq")).as_py())
            return rows, last
        blocks = self.wal.read(self.cursor, self.batch)
        if not blocks:
            return ROW_SCHEMA.empty_table(), self.cursor
        rows = concat_rows(block_rows(b, self.cursor) for b in blocks)
        return rows, blocks[-1].last_seq

    def step(self) -> bool:
        if self.cursor is None:
            self.cursor = self.wal.cursor(CONSUMER)
        rows, last = self._pending()
        if last <= self.cursor:
            return False
        if rows.num_rows and rows.num_rows < self.batch:  # linger a little so inserts are not tiny
            now = time.monotonic()
            if self._linger_since is None:
                self._linger_since = now
            if now - self._linger_since < self.linger_s:
                return False
        self._linger_since = None
        try:
            if rows.num_rows and self.uncertain:
                min_ts = int(pc.min(pc.cast(rows.column("ts"), pa.int64())).as_py())
                self._skip = self.sink.landed(self.settings.node_id, self.cursor, min_ts)
                if self._skip:
                    log.info("clickhouse: %d rows beyond the cursor had landed before; not sending them again",
                             len(self._skip))
                self.uncertain = False
            if self._skip and rows.num_rows:
                keep = pc.invert(pc.is_in(rows.column("seq"), pa.array(sorted(self._skip), pa.uint64())))
                rows = rows.filter(keep)
                self._skip = {s for s in self._skip if s > last}
            sent = self.sink.insert(rows)
        except BaseException:
            self.uncertain = True
            self.sink.disconnect()
            raise
        self.wal.commit(CONSUMER, last)
        self.cursor = last
        self.metrics.rows.labels(self.tier).inc(sent)
        return True

    def close(self) -> None:
        self.sink.disconnect()

    def status(self) -> dict[str, Any]:
        return {**super().status(), "cursor": self.cursor, "source": "parquet" if self.from_parquet else "wal"}
