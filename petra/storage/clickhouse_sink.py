"""remote:clickhouse, the sink: connections (clickhouse-driver, native protocol), the schema, columnar inserts.

Schema on one server (created if missing; works on 18.16 and on current servers)::

    samples     MergeTree, PARTITION BY toYYYYMM(time), ORDER BY (node_id, signal, ts_us)
                node_id, signal String; ts_us Int64 (epoch microseconds);
                time DateTime DEFAULT toDateTime(intDiv(ts_us, 1000000)); seq UInt64;
                value_type Enum8; value_bool Nullable(UInt8); value_int Nullable(Int64);
                value_float Nullable(Float64); value_string Nullable(String); quality Enum8
    samples_1m  materialized view, AggregatingMergeTree: per node, signal and minute
                minState/maxState/avgState of the numeric value and countState()
                (read with minMerge(v_min), maxMerge(v_max), avgMerge(v_avg), countMerge(samples))

On a cluster (`storage.remote.cluster`, a name in the servers' `<remote_servers>`) the
same two are `samples_local` and `samples_1m_local` on every host of the cluster, and
`samples` / `samples_1m` are Distributed tables over them, sharded by
`cityHash64(node_id)`: one node's rows live on one shard, and readers query
`samples` as before. PETRA creates on every host (from `system.clusters`) what is
missing there; 18.16 has no `ON CLUSTER` without ZooKeeper. An administrator can
create them by hand instead (replicated, with ZooKeeper): docs/clickhouse-cluster.md.
Inserts go to the Distributed table with `insert_distributed_sync = 1`: the insert
returns once the shard holds the rows.

`landed` answers which seqs beyond a cursor are already in the table, so the
tier (`clickhouse_actor.py`) can send a batch again without duplicating it.
Inserts are columnar from Arrow (`clickhouse_native.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from petra.storage.clickhouse_native import insert_arrow
from petra.storage.settings import RemoteSettings

log = logging.getLogger(__name__)
# clickhouse-driver logs every failed connection attempt with a traceback; the tier reports an
# unreachable server itself, once per episode.
logging.getLogger("clickhouse_driver.connection").setLevel(logging.ERROR)

COLUMNS = ("node_id", "signal", "ts_us", "seq", "value_type", "value_bool", "value_int", "value_float",
           "value_string", "quality")
LANDED_SLACK_S = 86400
LOCAL_SUFFIX = "_local"


class SchemaError(ch_errors.Error):
    """The server cannot hold PETRA's tables as configured (e.g. the cluster is not defined there).

    A clickhouse-driver error, so the tier treats it like a server that is down: it lags, says why once,
    and retries; fixing the server's configuration is enough, PETRA needs no restart.
    """


class ServerRefused(ch_errors.Error):
    """The server answered with an error; the message is its first line (18.16 appends a stack trace)."""

    def __init__(self, exc: ch_errors.ServerException) -> None:
        text = str(getattr(exc, "message", "") or exc).split("Stack trace")[0]
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # 18.16 repeats the exception's class on the first line ("DB::NetException. DB::NetException: ...")
        head = next((line for line in lines if ": " in line), lines[0] if lines else "")
        super().__init__(f"ClickHouse error {exc.code}: {head}")
        self.code = exc.code


@contextmanager
def _server_errors() -> Iterator[None]:
    try:
        yield
    except ch_errors.ServerException as exc:
        raise ServerRefused(exc) from exc


def ddl(database: str, table: str, rollup_of: str | None = None) -> list[tuple[str, str]]:
    """(name, statement) creating the database, the MergeTree `table` and its per-minute rollup `table`_1m.

    `rollup_of` names the rollup's source table when it differs from `table`'s base name (cluster: the
    local table `samples_local` feeds `samples_1m_local`).
    """
    value = "ifNull(value_float, ifNull(toFloat64(value_int), toFloat64(value_bool)))"
    base, suffix = (table[: -len(LOCAL_SUFFIX)], LOCAL_SUFFIX) if table.endswith(LOCAL_SUFFIX) else (table, "")
    rollup = f"{base}_1m{suffix}"
    return [
        ("", f"CREATE DATABASE IF NOT EXISTS {database}"),
        (table, f"""CREATE TABLE IF NOT EXISTS {database}.{table} (
            node_id String, signal String, ts_us Int64,
            time DateTime DEFAULT toDateTime(intDiv(ts_us, 1000000)), seq UInt64,
            value_type Enum8('bool' = 1, 'int' = 2, 'float' = 3, 'string' = 4),
            value_bool Nullable(UInt8), value_int Nullable(Int64), value_float Nullable(Float64),
            value_string Nullable(String), quality Enum8('good' = 0, 'uncertain' = 1, 'bad' = 2)
        ) ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (node_id, signal, ts_us)"""),
        (rollup, f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{rollup}
            ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(minute) ORDER BY (node_id, signal, minute)
            AS SELECT node_id, signal, toStartOfMinute(toDateTime(intDiv(ts_us, 1000000))) AS minute,
                minState({value}) AS v_min, maxState({value}) AS v_max, avgState({value}) AS v_avg,
                countState() AS samples
            FROM {database}.{rollup_of or table} WHERE value_type != 'string' GROUP BY node_id, signal, minute"""),
    ]


def cluster_ddl(database: str, table: str, cluster: str) -> list[tuple[str, str]]:
    """(name, statement) for one host of `cluster`: the local tables, then the Distributed tables over them."""
    local = f"{table}{LOCAL_SUFFIX}"
    return [
        *ddl(database, local),
        (table, f"CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{local} "
                f"ENGINE = Distributed({cluster}, {database}, {local}, cityHash64(node_id))"),
        (f"{table}_1m", f"CREATE TABLE IF NOT EXISTS {database}.{table}_1m AS {database}.{table}_1m{LOCAL_SUFFIX} "
                        f"ENGINE = Distributed({cluster}, {database}, {table}_1m{LOCAL_SUFFIX})"),
    ]


def create_missing(client: Client, database: str, statements: list[tuple[str, str]]) -> list[str]:
    """Run the statements whose table is not there yet (a hand-made schema is left alone); returns those made.

    Asking first means PETRA needs no DDL right on a server whose administrator created the tables.
    """
    present = {r[0] for r in client.execute("SELECT name FROM system.tables WHERE database = %(db)s",
                                            {"db": database})}
    databases = {r[0] for r in client.execute("SELECT name FROM system.databases")}
    made = []
    for name, statement in statements:
        if (name == "" and database in databases) or (name and name in present):
            continue
        client.execute(statement)
        made.append(name or database)
    return made


class ClickHouseSink:
    """One connection (with fail-over hosts) to the configured server; creates the schema on first use."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self.client: Client | None = None
        self.insert_settings: dict[str, Any] = {}
        self.native = True
        self._told_async = False
        self._told_fallback = False
        self._schema_ready = False
        self._driver_internals_ok = True

    @property
    def target(self) -> str:
        return f"{self.settings.database}.{self.settings.table}"

    def _client(self, host: str, port: int, alt_hosts: str | None = None) -> Client:
        s = self.settings
        return Client(host, port=port, user=s.username, password=s.password, database="default",
                      alt_hosts=alt_hosts, connect_timeout=3, send_receive_timeout=30, sync_request_timeout=5)

    def connect(self) -> Client:
        if self.client is not None:
            return self.client
        with _server_errors():
            return self._connect()

    def _connect(self) -> Client:
        s = self.settings
        client = self._client(s.host, s.port, ",".join(s.alternative_hosts) or None)
        try:
            if not self._schema_ready:
                self._create_schema(client)
                self._schema_ready = True
            self._insert_settings(client)
        except BaseException:
            client.disconnect()
            raise
        self.client = client
        return client

    def _create_schema(self, client: Client) -> None:
        s = self.settings
        if s.cluster is None:
            create_missing(client, s.database, ddl(s.database, s.table))
            return
        hosts = client.execute("SELECT host_name, port FROM system.clusters WHERE cluster = %(c)s "
                               "ORDER BY shard_num, replica_num", {"c": s.cluster})
        if not hosts:
            raise SchemaError(f"cluster {s.cluster!r} is not defined in <remote_servers> of the ClickHouse server "
                              f"PETRA reached ({s.host}:{s.port} or a fail-over host)")
        for host, port in hosts:
            other = self._client(host, port)
            try:
                made = create_missing(other, s.database, cluster_ddl(s.database, s.table, s.cluster))
            finally:
                other.disconnect()
            if made:
                log.info("clickhouse: created %s on %s:%d (cluster %s)", ", ".join(made), host, port, s.cluster)

    def _insert_settings(self, client: Client) -> None:
        self.insert_settings = {"insert_distributed_sync": 1} if self.settings.cluster else {}
        if not self.settings.async_insert:
            return
        if client.execute("SELECT count() FROM system.settings WHERE name = 'async_insert'")[0][0]:
            self.insert_settings.update({"async_insert": 1, "wait_for_async_insert": 1})
        elif not self._told_async:
            self._told_async = True
            version = client.execute("SELECT version()")[0][0]
            log.warning("clickhouse %s does not support async_insert (needs 21.11+): inserting synchronously",
                        version)

    def drop_database(self) -> None:
        """DROP the configured database on the server, or on every host of the cluster (the self-test's scratch)."""
        s = self.settings
        client = self._client(s.host, s.port, ",".join(s.alternative_hosts) or None)
        try:
            with _server_errors():
                hosts = [(s.host, s.port)]
                if s.cluster is not None:
                    hosts = client.execute("SELECT host_name, port FROM system.clusters WHERE cluster = %(c)s",
                                           {"c": s.cluster}) or hosts
                for host, port in hosts:
                    other = self._client(host, port)
                    try:
                        other.execute(f"DROP DATABASE IF EXISTS {s.database}")
                    finally:
                        other.disconnect()
        finally:
            client.disconnect()
        self._schema_ready = False

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client = None

    def landed(self, node_ids: list[str] | str, after: int, min_ts_us: int) -> set[int]:
        """Seqs of the nodes `node_ids` beyond `after` already in the table (time-bounded so partitions prune).

        On a cluster every shard must answer (`skip_unavailable_shards = 0`): an answer without the
        shard that holds the rows would say "nothing landed" and the batch would be sent twice.
        """
        client = self.connect()
        since = max(0, min_ts_us // 1_000_000 - LANDED_SLACK_S)
        nodes = [node_ids] if isinstance(node_ids, str) else list(node_ids)
        with _server_errors():
            rows = client.execute(
                f"SELECT seq FROM {self.target} WHERE node_id IN %(nodes)s AND seq > %(after)s "
                f"AND time >= toDateTime(%(since)s)",
                {"nodes": tuple(nodes), "after": after, "since": since},
                settings={"skip_unavailable_shards": 0} if self.settings.cluster else None,
            )
        return {r[0] for r in rows}

    def insert(self, table: pa.Table) -> int:
        """Insert rows in ROW_SCHEMA (one native block, columns straight from Arrow); returns rows sent."""
        if table.num_rows == 0:
            return 0
        client = self.connect()
        columns = {
            "node_id": table.column("node_id"), "signal": table.column("signal"), "ts_us": table.column("ts"),
            "seq": table.column("seq"), "value_type": table.column("value_type"),
            "value_bool": table.column("value_bool"), "value_int": table.column("value_int"),
            "value_float": table.column("value_float"), "value_string": table.column("value_string"),
            "quality": table.column("quality"),
        }
        query = f"INSERT INTO {self.target} ({', '.join(COLUMNS)}) VALUES"
        with _server_errors():
            if self._driver_internals_ok:
                try:
                    native = insert_arrow(client, query, table, columns, lambda: python_columns(table),
                                          settings=self.insert_settings or None)
                except AttributeError as exc:  # a clickhouse-driver whose internals moved: its own path still works
                    self._driver_internals_ok = False
                    log.warning("clickhouse: this clickhouse-driver's connection internals differ from what the "
                                "columnar insert uses (%s); inserting through its row conversion", exc)
                    self.disconnect()
                    client = self.connect()
            if not self._driver_internals_ok:
                client.execute(query, python_columns(table), columnar=True, settings=self.insert_settings or None)
                native = False
        if not native and self._driver_internals_ok and not self._told_fallback:
            self._told_fallback = True
            log.warning("clickhouse: %s has column types PETRA does not encode from Arrow; inserting through "
                        "clickhouse-driver's slower row conversion", self.target)
        self.native = native
        return table.num_rows


def python_columns(table: pa.Table) -> list[list[Any]]:
    """The rows as Python lists in COLUMNS order: clickhouse-driver's own columnar insert (the fallback)."""
    return [
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
