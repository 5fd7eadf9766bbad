"""Durable history: the LMDB write-ahead log and the tiers that consume it.

```
storage (one_for_one)
├── wal                the WAL actor: records changes, group-commits, trims
├── history:parquet    local Parquet parts (zstd), retention, compaction
├── remote:clickhouse  batched, idempotent inserts (+ per-minute rollup view)
└── archive:s3         closed parts to S3, verified
```

`child_specs(plant)` builds that list from the `storage` section; strategies are
in `plan.py` and README.md. `query_history` reads what the Parquet tier holds.
"""

from __future__ import annotations

import logging
from pathlib import Path

from petra.lmdb_files import check_data_file
from petra.plant import Plant
from petra.storage.plan import Plan, plan_for
from petra.storage.query import query_history
from petra.storage.settings import StorageSettings, parse_settings
from supervision import ChildSpec

__all__ = ["Plan", "StorageSettings", "check_files", "child_specs", "parse_settings", "plan_for",
           "query_history", "storage_status"]

log = logging.getLogger(__name__)


def check_files(sections: dict[str, object], node_id: str) -> list[str]:
    """Problems with the storage files a config names (a truncated WAL), found without opening them."""
    from petra.lmdb_files import StoreFileError

    section = sections.get("storage")
    if not isinstance(section, dict) or not section:
        return []
    try:
        check_data_file(Path(parse_settings(section, node_id).wal.wal_dir), what="WAL")
    except StoreFileError as exc:
        return [str(exc)]
    return []


def child_specs(plant: Plant) -> list[ChildSpec]:
    """The storage actors for `plant` (none without a `storage` section)."""
    section = plant.config.sections.get("storage")
    if not section:
        return []
    from petra.storage.clickhouse_tier import ClickHouseTier
    from petra.storage.parquet_tier import ParquetTier
    from petra.storage.s3 import S3Tier
    from petra.storage.wal_actor import WalActor

    settings = parse_settings(section, plant.config.node_id)
    # A damaged WAL is refused here, before anything starts: retrying cannot mend it.
    check_data_file(Path(settings.wal.wal_dir), what="WAL")
    plan = plan_for(settings)
    kwargs = {"plant": plant, "settings": settings}
    specs = [ChildSpec("wal", WalActor, kwargs={**kwargs, "consumers": plan.consumers, "gating": plan.gating},
                       shutdown_timeout=15.0)]
    if plan.parquet:
        specs.append(ChildSpec("history:parquet", ParquetTier, kwargs=kwargs, shutdown_timeout=20.0))
    if plan.clickhouse:
        specs.append(ChildSpec("remote:clickhouse", ClickHouseTier, kwargs=kwargs, shutdown_timeout=20.0))
    if plan.s3:
        specs.append(ChildSpec("archive:s3", S3Tier, kwargs=kwargs, shutdown_timeout=20.0))
    return specs


def storage_status(tree: object, timeout: float = 5.0) -> dict[str, object]:
    """WAL and tier status for the control API: ``{"wal": {...}, "history:parquet": {...}, ...}``.

    `tree` is the running `SupervisionTree`; a tier that is restarting shows as None.
    """
    out: dict[str, object] = {}
    for name in ("wal", "history:parquet", "remote:clickhouse", "archive:s3"):
        ref = tree.lookup(f"petra/storage/{name}")  # type: ignore[attr-defined]
        if ref is None:
            continue
        try:
            out[name] = ref.proxy().status().get(timeout=timeout)
        except Exception as exc:
            out[name] = {"error": str(exc)}
    return out
