"""What the storage actors report about themselves, read from the running tree."""

from __future__ import annotations

from petra.paths import storage_path
from supervision import SupervisionTree

STORAGE_ACTORS = ("wal", "history:parquet", "remote:clickhouse", "archive:s3")


def storage_status(tree: SupervisionTree, timeout: float = 5.0) -> dict[str, object]:
    """WAL and tier status for the control API: ``{"wal": {...}, "history:parquet": {...}, ...}``.

    `tree` is the running `SupervisionTree`; a tier that is restarting is left out.
    """
    out: dict[str, object] = {}
    for name in STORAGE_ACTORS:
        ref = tree.lookup(storage_path(name))
        if ref is None:
            continue
        try:
            out[name] = ref.proxy().status().get(timeout=timeout)
        except Exception as exc:
            out[name] = {"error": str(exc)}
    return out
