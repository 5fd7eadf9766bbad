"""remote:clickhouse, the tier: batched, idempotent store-and-forward into ClickHouse.

The sink (`clickhouse_sink.py`) owns the connection, the schema and the inserts;
the source (`clickhouse_source.py`) reads the committed Parquet parts under
strategy local_first; otherwise the rows come straight from the WAL.

Idempotence: every row carries its node id and WAL `seq` (unique per node: the cursor
lives in that node's own WAL, so on a cluster each node's exactly-once holds on its
own, whatever the others do). The cursor is
committed after an insert succeeded. Whenever that is uncertain (at start, or
after an insert failed midway), the tier first asks which seqs beyond the
cursor have landed (`landed`) and sends only the others. Only one insert is ever
in flight, so what can have landed without a committed cursor is at most one batch.
`landed` asks for the node ids the rows themselves carry (the WAL block's), not only
the configured one: a node renamed between runs re-sends its old rows under their old id.

A cluster shard that is down makes 18.16's synchronous Distributed insert fail (it
opens every shard) after it may already have written to the reachable ones: that is
the "uncertain" case above, so nothing is duplicated when the shard is back.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_driver import errors as ch_errors

from petra.storage.clickhouse_sink import ClickHouseSink
from petra.storage.clickhouse_source import ParquetSource
from petra.storage.parquet_actor import CONSUMER as PARQUET
from petra.storage.parquet_actor import block_rows
from petra.storage.rows import ROW_SCHEMA, concat_rows
from petra.storage.tier_actor import TierActor, WalUnavailable

log = logging.getLogger(__name__)

CONSUMER = "clickhouse"


class ClickHouseTier(TierActor):
    tier: ClassVar[str] = "clickhouse"
    retriable = (OSError, EOFError, ch_errors.Error, WalUnavailable, TimeoutError)

    def open(self) -> None:
        assert self.settings.remote is not None
        self.sink = ClickHouseSink(self.settings.remote)
        local = self.settings.local if self.settings.strategy == "local_first" else None
        self.from_parquet = local is not None
        self.source = ParquetSource(local.data_dir) if local is not None else None
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
                self._skip = self.sink.landed(_node_ids(rows, self.settings.node_id), self.cursor, min_ts)
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


def _node_ids(rows: pa.Table, configured: str) -> list[str]:
    """The node ids in a batch (a dictionary column: its few distinct values), with the configured one."""
    column = rows.column("node_id")
    seen = {configured}
    for chunk in column.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else pc.unique(chunk)
        seen.update(v for v in values.to_pylist() if v is not None)
    return sorted(seen)
