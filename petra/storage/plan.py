"""The storage strategies as data: which tiers run, where each reads from, which cursors gate WAL trimming.

See README.md in this folder for the table this implements.
"""

from __future__ import annotations

from dataclasses import dataclass

from petra.storage.settings import StorageSettings


@dataclass(frozen=True)
class Plan:
    parquet: bool
    clickhouse: bool
    s3: bool
    clickhouse_source: str  # "wal" or "parquet"
    parquet_spill_only: bool
    consumers: tuple[str, ...]  # cursors kept in the WAL env
    gating: tuple[str, ...]  # cursors that limit trimming


def plan_for(settings: StorageSettings) -> Plan:
    """Local Parquet always runs (its settings have defaults); ClickHouse when `remote` is configured."""
    s3 = settings.s3 is not None
    if settings.remote is None:
        return Plan(True, False, s3, "wal", False, ("parquet",), ("parquet",))
    if settings.strategy == "local_first":
        return Plan(True, True, s3, "parquet", False, ("parquet", "clickhouse"), ("parquet",))
    both = ("parquet", "clickhouse")
    return Plan(True, True, s3, "wal", settings.strategy == "remote_first", both, both)
