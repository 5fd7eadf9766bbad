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
    remote = settings.remote is not None
    strategy = settings.strategy
    parquet = True
    if not remote:
        return Plan(parquet, False, settings.s3 is not None and parquet, "wal", False, ("parquet",), ("parquet",))
    if strategy == "local_first" and parquet:
        return Plan(True, True, settings.s3 is not None, "parquet", False, ("parquet", "clickhouse"), ("parquet",))
    consumers = ("parquet", "clickhouse") if parquet else ("clickhouse",)
    return Plan(parquet, True, settings.s3 is not None and parquet, "wal",
                strategy == "remote_first" and parquet, consumers, consumers)
