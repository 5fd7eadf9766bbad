"""history:parquet: the WAL consumer that writes local Parquet parts.

Rows are buffered in memory and written as one part per date when the buffer
reaches its size limit or `flush_interval_seconds` passed; then the cursor is
committed. The WAL keeps everything not yet committed, so a crash in between
only means the range is written again (with the same name: `recover` removes
the uncommitted parts first).

With strategy ``remote_first`` this tier only *spills*: it skips what ClickHouse
has committed and writes what ClickHouse has not taken within
`fallback_after_seconds`.

On an orderly stop the tier drains: it reads what the WAL acknowledged up to its
head and writes it (within `DRAIN_ON_STOP_S`), so after a clean shutdown the
Parquet files hold every acknowledged sample, not only the next start.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import pyarrow.compute as pc

from petra.storage.arrow import pa
from petra.storage.parquet_store import ParquetStore, Part, archived_marker
from petra.storage.rows import concat_rows, decode_block, to_rows
from petra.storage.tier_actor import TierActor
from petra.storage.wal import Block

log = logging.getLogger(__name__)

CONSUMER = "parquet"
MAX_BUFFER_BYTES = 64 * 1024 * 1024
READ_CHUNK = 200_000
MAINTENANCE_S = 60.0
DRAIN_ON_STOP_S = 5.0


def block_rows(block: Block, after: int, until: int | None = None) -> pa.Table:
    """The rows of one WAL block with after < seq <= until."""
    table = to_rows(decode_block(block.payload), block.first_seq)
    if block.first_seq <= after or (until is not None and block.last_seq > until):
        mask = pc.greater(table.column("seq"), pa.scalar(after, pa.uint64()))
        if until is not None:
            mask = pc.and_(mask, pc.less_equal(table.column("seq"), pa.scalar(until, pa.uint64())))
        table = table.filter(mask)
    return table


class ParquetTier(TierActor):
    tier: ClassVar[str] = "parquet"

    def open(self) -> None:
        assert self.settings.local is not None
        self.store = ParquetStore(self.settings.local)
        self.spill_only = self.settings.strategy == "remote_first" and self.settings.remote is not None
        self.fallback_s = self.settings.remote.fallback_after_seconds if self.settings.remote else 0.0
        self.committed: int | None = None
        self._buffer: list[pa.Table] = []
        self._buffer_bytes = 0
        self._buffer_since = 0.0
        self._position = 0
        self._last_maintenance = time.monotonic()
        self._forwarded = -1

    def _start(self) -> None:
        self.committed = self.wal.cursor(CONSUMER)
        self._position = self.committed
        self.store.recover(self.committed)

    def step(self) -> bool:
        if self.committed is None:
            self._start()
        assert self.committed is not None
        busy = self._read()
        flush_s = self.store.settings.flush_interval_seconds
        if self._position > self.committed and (
            self._buffer_bytes >= MAX_BUFFER_BYTES or time.monotonic() - self._buffer_since >= flush_s
        ):
            self.flush()
            busy = True
        if time.monotonic() - self._last_maintenance >= MAINTENANCE_S:
            self.maintain()
        return busy

    def _read(self) -> bool:
        blocks = self.wal.read(self._position, READ_CHUNK)
        if not blocks:
            return False
        forwarded = self.wal.cursor("clickhouse") if self.spill_only else None
        now = time.time()
        for block in blocks:
            if forwarded is not None and block.last_seq > forwarded and now - block.committed_at < self.fallback_s:
                break  # ClickHouse may still take it: wait
            rows = block_rows(block, self._position)
            if forwarded is not None:
                rows = rows.filter(pc.greater(rows.column("seq"), pa.scalar(forwarded, pa.uint64())))
            if rows.num_rows:
                if not self._buffer:
                    self._buffer_since = time.monotonic()
                self._buffer.append(rows)
                self._buffer_bytes += rows.nbytes
            elif not self._buffer and self._position == self.committed:
                self._buffer_since = time.monotonic()
            self._position = block.last_seq
        return True

    def flush(self) -> None:
        """Write the buffered range as parts and commit the cursor (called by step and on stop)."""
        assert self.committed is not None
        if self._position <= self.committed:
            return
        table = concat_rows(self._buffer, contiguous=False)  # chunked: the writer needs no copy of the rows
        try:
            written = self.store.write(table, self.committed + 1, self._position)
        except OSError:
            self.metrics.failures.labels(self.tier).inc()
            raise
        self.wal.commit(CONSUMER, self._position)
        self.metrics.rows.labels(self.tier).inc(table.num_rows)
        log.debug("parquet: wrote %d rows (%d bytes) for seq %d..%d", table.num_rows, written,
                  self.committed + 1, self._position)
        self.committed = self._position
        self._buffer = []
        self._buffer_bytes = 0
        self._buffer_since = time.monotonic()

    def _may_delete(self, part: Part) -> bool:
        """Retention waits for ClickHouse to have forwarded a part (local_first) and S3 to have archived it."""
        if self.settings.strategy == "local_first" and self.settings.remote is not None \
                and part.last > self._forwarded:
            return False
        return self.settings.s3 is None or archived_marker(part).exists()

    def maintain(self) -> None:
        """Compaction, retention and the bytes-on-disk metric."""
        self._last_maintenance = time.monotonic()
        if self.settings.remote is not None:
            self._forwarded = self.wal.cursor("clickhouse")
        self.store.compact()
        self.store.expire(may_delete=self._may_delete)
        self.metrics.disk.labels(self.tier).set(self.store.bytes_on_disk())

    def finish(self) -> None:
        if self.committed is not None and self.failing_since is None:
            try:
                self._drain(time.monotonic() + DRAIN_ON_STOP_S)
                self.flush()
            except Exception as exc:  # the WAL still has it; it is written after the restart
                log.warning("parquet: final flush failed (%s); the WAL keeps the rows", exc)

    def _drain(self, deadline: float) -> None:
        """Read up to the WAL's head (what it acknowledged so far), or until `deadline`."""
        head = self.wal.flush()
        while self._position < head and time.monotonic() < deadline:
            before = self._position
            self._read()
            if self._position == before:  # nothing more it may take now (a spill waiting for ClickHouse)
                break

    def status(self) -> dict[str, Any]:
        return {**super().status(), "committed": self.committed, "buffered_to": self._position,
                "data_dir": str(self.store.dir)}
