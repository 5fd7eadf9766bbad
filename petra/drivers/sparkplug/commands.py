"""NCMD and DCMD: what a Sparkplug host asks of the node, checked before anything is written.

`parse_command` turns one command payload into the rebirth request and the
signal writes it holds, or refusals: a payload that is not Sparkplug B
protobuf (``malformed``), a ``bdSeq`` metric that is not the session's
(``stale_bdseq``: the host answers an older birth; the whole command is
refused), a metric the birth did not declare or that belongs to another
device (``unknown``), a datatype or value field that is not the metric's
(``type``). The writes then go through `petra.control.remote_write` as the
configured host identity, which checks the role against the signal's
``writable_by``, coerces, checks the limits and audits; its refusals are
counted by their kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petra.drivers.sparkplug import payload as sp
from petra.drivers.sparkplug.births import BDSEQ, BDSEQ_ALIAS, REBIRTH, REBIRTH_ALIAS
from petra.drivers.sparkplug.settings import Metric, SparkplugConfig
from petra.values import DataType

COMPATIBLE: dict[int, frozenset[int]] = {
    sp.INT64: frozenset({1, 2, 3, 4, 5, 6, 7, 8}),  # any integer type
    sp.DOUBLE: frozenset({9, 10}),
    sp.BOOLEAN: frozenset({sp.BOOLEAN}),
    sp.STRING: frozenset({sp.STRING, 14}),  # String, Text
}
_FIELD = {1: "int_value", 2: "int_value", 3: "int_value", 5: "int_value", 6: "int_value", 7: "int_value",
          4: "long_value", 8: "long_value", 9: "float_value", 10: "double_value", 11: "boolean_value",
          12: "string_value", 14: "string_value"}


@dataclass
class Command:
    rebirth: bool = False
    writes: list[tuple[str, Any]] = field(default_factory=list)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    """(reason, message)."""


class Catalogue:
    """The metrics a command may name, by name and by alias."""

    def __init__(self, config: SparkplugConfig, types: dict[str, DataType]) -> None:
        self.by_name: dict[str, Metric] = dict(config.metrics)
        self.by_alias: dict[int, Metric] = {m.alias: m for m in config.metrics.values()}
        self.types = {name: sp.DATATYPES[t] for name, t in types.items() if name in config.metrics}


def _value(metric: Any, declared: int, datatype: int) -> Any:
    """The value of a command metric of `datatype` (the one it says, or ours), checked against ours."""
    if datatype not in COMPATIBLE[declared]:
        raise sp.PayloadError(f"datatype {sp.datatype_name(datatype)} given for a {sp.datatype_name(declared)} "
                              f"metric")
    if metric.HasField("is_null") and metric.is_null:
        raise sp.PayloadError("a null value cannot be written")
    which = metric.WhichOneof("value")
    if which != _FIELD[datatype]:
        raise sp.PayloadError(f"a {sp.datatype_name(datatype)} metric carries {which or 'no value'}")
    raw = getattr(metric, which)
    if datatype in (1, 2, 3) and raw >= 1 << 31:  # Int8/16/32: two's complement in the uint32 field
        raw -= 1 << 32
    elif datatype == 4 and raw >= 1 << 63:  # Int64 in the uint64 field
        raw -= 1 << 64
    return raw


def parse_command(data: bytes, device: str, catalogue: Catalogue, bdseq: int) -> Command:
    command = Command()
    try:
        payload = sp.decode(data)
    except sp.PayloadError as exc:
        command.refusals.append(("malformed", str(exc)))
        return command
    for m in payload.metrics:
        name = m.name if m.HasField("name") else None
        alias = m.alias if m.HasField("alias") else None
        if name == BDSEQ or (name is None and alias == BDSEQ_ALIAS and not device):
            which = m.WhichOneof("value")
            given = getattr(m, which) if which in ("long_value", "int_value") else None
            if given != bdseq:
                command.refusals.append(("stale_bdseq", f"command for bdSeq {given}, the session's is {bdseq}"))
                command.writes.clear()
                command.rebirth = False
                return command
            continue
        if not device and (name == REBIRTH or (name is None and alias == REBIRTH_ALIAS)):
            if m.WhichOneof("value") != "boolean_value":
                command.refusals.append(("type", f"{REBIRTH} takes a Boolean"))
            elif m.boolean_value:
                command.rebirth = True
            continue
        target = catalogue.by_name.get(name) if name is not None else catalogue.by_alias.get(alias or -1)
        label = name if name is not None else f"alias {alias}"
        if target is None or target.device != device:
            where = f"device '{device}'" if device else "the node"
            command.refusals.append(("unknown", f"{label}: no such metric on {where}"))
            continue
        declared = catalogue.types[target.signal]
        datatype = m.datatype if m.HasField("datatype") else declared
        try:
            command.writes.append((target.signal, _value(m, declared, datatype)))
        except sp.PayloadError as exc:
            command.refusals.append(("type", f"{target.signal}: {exc}"))
    return command
