"""The `storage` section's checks: the signals the storage subsystem writes, and the files a config names."""

from __future__ import annotations

from pathlib import Path

from petra.config.context import CheckContext, Writer
from petra.values import DataType

STORAGE_SIGNALS = {"storage.wal_full": DataType.BOOL}
"""Internal alarm signals of the storage subsystem (group "storage"), e.g. for an alarm on a full WAL."""


def declare(ctx: CheckContext) -> None:
    """With a `storage` section, the storage subsystem writes `STORAGE_SIGNALS`."""
    if not isinstance(ctx.data, dict) or not isinstance(ctx.data.get("storage"), dict):
        return
    for name, dtype in STORAGE_SIGNALS.items():
        ctx.write(name, Writer("the storage subsystem", ("storage",), dtype, "storage"))


def check_files(sections: dict[str, object], node_id: str) -> list[str]:
    """Problems with the storage files a config names (a truncated WAL), found without opening them."""
    from petra.lmdb_files import StoreFileError, check_data_file
    from petra.storage.settings import parse_settings

    section = sections.get("storage")
    if not isinstance(section, dict) or not section:
        return []
    try:
        check_data_file(Path(parse_settings(section, node_id).wal.wal_dir), what="WAL")
    except StoreFileError as exc:
        return [str(exc)]
    return []
