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
`commands.py` is `petra history ...` and `petra storage ...`, `status.py`
reads what the storage actors report.
Importing this package loads none of them (no pyarrow, no lmdb): `SECTION`
names them.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="storage",
    supervisor="storage",
    schemas=(("storage", "petra.storage.schema:storage_schema"),),
    child_specs="petra.storage.children:child_specs",
    model="petra.storage.settings:StorageSettings",
    declares="petra.storage.checks:declare",
    commands="petra.storage.commands:register",
)

