"""What the `storage` section declares for the whole-plant checks: the signals the storage subsystem writes."""

from __future__ import annotations

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
