"""The storage section's actors: the WAL first, then the tiers its plan enables."""

from __future__ import annotations

from pathlib import Path

from petra.lmdb_files import check_data_file
from petra.plant import Plant
from petra.storage.plan import plan_for
from petra.storage.settings import parse_settings
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """The storage actors for `plant` (none without a `storage` section)."""
    section = plant.config.sections.get("storage")
    if not section:
        return []
    from petra.actors.wal import WalActor
    from petra.storage.metrics import storage_metrics

    settings = parse_settings(section, plant.config.node_id)
    # A damaged WAL is refused here, before anything starts: retrying cannot mend it.
    check_data_file(Path(settings.wal.wal_dir), what="WAL")
    plan = plan_for(settings)
    kwargs = {"plant": plant, "settings": settings, "metrics": storage_metrics(plant, wiring)}
    consumers = plan.consumers
    if plant.config.sections.get("sparkplug"):
        # the edge node reads its store-and-forward backlog through a cursor of its own, not gating trimming
        from petra.drivers.sparkplug.forward import wal_consumers

        consumers += wal_consumers(plant.config)
    specs = [ChildSpec("wal", WalActor, kwargs={**kwargs, "consumers": consumers, "gating": plan.gating},
                       shutdown_timeout=15.0)]
    # Each tier's module (and its library: clickhouse_driver, boto3) is imported only when the plan has it.
    if plan.parquet:
        from petra.storage.parquet_actor import ParquetTier

        specs.append(ChildSpec("history:parquet", ParquetTier, kwargs=kwargs, shutdown_timeout=20.0))
    if plan.clickhouse:
        from petra.storage.clickhouse_actor import ClickHouseTier

        specs.append(ChildSpec("remote:clickhouse", ClickHouseTier, kwargs=kwargs, shutdown_timeout=20.0))
    if plan.s3:
        from petra.storage.s3_actor import S3Tier

        specs.append(ChildSpec("archive:s3", S3Tier, kwargs=kwargs, shutdown_timeout=20.0))
    return specs
