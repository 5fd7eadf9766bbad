"""remote:clickhouse, the source under strategy local_first: rows in seq order out of the committed Parquet parts.

The ClickHouse tier forwards what the Parquet tier has flushed (up to Parquet's
committed cursor) instead of reading the WAL, so the WAL is not held back while
ClickHouse is down. The rows it loaded are kept, and dropped as the tier's
cursor passes them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from petra.storage.parquet_store import live_parts
from petra.storage.rows import ROW_SCHEMA, concat_rows


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
