"""What the driver sections' checks share: how a mapping's direction and scaling decide what it records.

A mapping that reads from the device (`read`, `read_write`) writes its signal;
one that only writes to the device reads it. Integer registers scaled by a
non-trivial factor or offset deliver floats. S7 (`petra.drivers.s7.checks`)
and Modbus (`petra.drivers.modbus.checks`) record their mappings through
`driver_mapping`.
"""

from __future__ import annotations

from typing import Any

from petra.config.context import CheckContext, Writer
from petra.config.errors import Path_
from petra.values import DataType


def type_of(table: dict[str, DataType], data_type: Any) -> DataType | None:
    """The signal type of a device `data_type` named in `table`; None when it is not a known name."""
    return table.get(data_type) if isinstance(data_type, str) else None


def scaled(dtype: DataType | None, factor: Any, offset: Any) -> DataType | None:
    """Integer registers scaled by a non-trivial factor or offset become floats."""
    if dtype is DataType.INT and (factor not in (None, 1) or offset not in (None, 0)):
        return DataType.FLOAT
    return dtype


def driver_mapping(ctx: CheckContext, mapping: dict[str, Any], path: Path_, what: str,
                   dtype: DataType | None, group: str) -> None:
    """Record the signal of one driver mapping: written when it reads from the device, else read."""
    direction = mapping.get("direction", "read")
    signal = ctx.signal_name(mapping.get("signal"), (*path, "signal"))
    if signal is None:
        return
    if direction in ("read", "read_write"):
        ctx.write(signal, Writer(what, (*path, "signal"), dtype, group))
    else:
        ctx.read(signal, (*path, "signal"))
