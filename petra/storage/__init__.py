"""Durable history: the LMDB write-ahead log and the tiers that consume it.

```
storage (one_for_one)
├── wal                the WAL actor: records changes, group-commits, trims
├── history:parquet    local Parquet parts (zstd), retention, compaction
├── remote:clickhouse  batched, idempotent inserts (+ per-minute rollup view)
└── archive:s3         closed parts to S3, verified
```

`children.py` builds that list from the `storage` section; strategies are in
`plan.py` and README.md, `query.py` reads what the Parquet tier holds;
`checks.py` declares the signals storage writes and checks the WAL's files,
`commands.py` is `petra history ...` and `petra storage ...`.
Importing this package loads none of them (no pyarrow, no lmdb): `SECTION`
names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petra.section import Section

if TYPE_CHECKING:
    from supervision import SupervisionTree

__all__ = ["SECTION", "storage_status"]

SECTION = Section(
    name="storage",
    supervisor="storage",
    schemas=(("storage", "petra.storage.schema:storage_schema"),),
    child_specs="petra.storage.children:child_specs",
    model="petra.storage.settings:StorageSettings",
    declares="petra.storage.checks:declare",
    commands="petra.storage.commands:register",
)


def storage_status(tree: SupervisionTree, timeout: float = 5.0) -> dict[str, object]:
    """WAL and tier status for the control API: ``{"wal": {...}, "history:parquet": {...}, ...}``.

    `tree` is the running `SupervisionTree`; a tier that is restarting shows as None.
    """
    from petra.paths import storage_path

    out: dict[str, object] = {}
    for name in ("wal", "history:parquet", "remote:clickhouse", "archive:s3"):
        ref = tree.lookup(storage_path(name))
        if ref is None:
            continue
        try:
            out[name] = ref.proxy().status().get(timeout=timeout)
        except Exception as exc:
            out[name] = {"error": str(exc)}
    return out
