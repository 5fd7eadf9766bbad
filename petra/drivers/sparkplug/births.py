"""NBIRTH, DBIRTH, NDEATH and data payloads, built from the config's metric catalogue and the signal table.

A birth carries every metric of its node or device with its name, alias,
datatype, current value, timestamp and properties (``Quality``, and
``engUnit``/``Description`` when the signal has them); the NBIRTH also the
node's own metrics, ``bdSeq`` (Int64) and ``Node Control/Rebirth`` (Boolean,
false). Data messages name metrics by alias only, as the specification lets
a node do once the birth tied alias to name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from petra.drivers.sparkplug import payload as sp
from petra.drivers.sparkplug.settings import Metric, SparkplugConfig
from petra.signals import SignalTable
from petra.values import Quality

BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
BDSEQ_ALIAS, REBIRTH_ALIAS = 1, 2


def _metric(out: Any, metric: Metric, datatype: int, value: Any, quality: int, timestamp: float,
            birth: bool) -> None:
    m = out.metrics.add()
    if birth:
        m.name = metric.signal
        m.datatype = datatype
    m.alias = metric.alias
    m.timestamp = sp.now_ms(timestamp)
    sp.set_value(m, datatype, value)
    props: list[tuple[str, int, Any]] = []
    if birth or quality != Quality.GOOD or value is None or quality == -1:
        props.append(("Quality", sp.INT32, sp.QUALITY_CODES.get(quality, 0)))
    if birth and metric.unit:
        props.append(("engUnit", sp.STRING, metric.unit))
    if birth and metric.description:
        props.append(("Description", sp.STRING, metric.description))
    if props:
        sp.add_properties(m, props)


def node_birth(config: SparkplugConfig, table: SignalTable, bdseq: int, seq: int, now: float) -> Any:
    out = sp.Payload(timestamp=sp.now_ms(now), seq=seq)
    b = out.metrics.add(name=BDSEQ, alias=BDSEQ_ALIAS, datatype=sp.INT64, timestamp=sp.now_ms(now))
    b.long_value = bdseq
    r = out.metrics.add(name=REBIRTH, alias=REBIRTH_ALIAS, datatype=sp.BOOLEAN, timestamp=sp.now_ms(now))
    r.boolean_value = False
    _table_metrics(out, config, table, "")
    return out


def device_birth(config: SparkplugConfig, table: SignalTable, device: str, seq: int, now: float) -> Any:
    out = sp.Payload(timestamp=sp.now_ms(now), seq=seq)
    _table_metrics(out, config, table, device)
    return out


def _table_metrics(out: Any, config: SparkplugConfig, table: SignalTable, device: str) -> None:
    for metric in config.metrics.values():
        if metric.device != device:
            continue
        slot = table.index.get(metric.signal)
        if slot is None:
            continue
        _metric(out, metric, sp.DATATYPES[table.types[slot]], table.values[slot], table.quality[slot],
                table.timestamps[slot], birth=True)


def node_death(bdseq: int, now: float) -> bytes:
    """The NDEATH (the will and the graceful one): a timestamp and the session's bdSeq, no seq."""
    out = sp.Payload(timestamp=sp.now_ms(now))
    m = out.metrics.add(name=BDSEQ, datatype=sp.INT64, timestamp=sp.now_ms(now))
    m.long_value = bdseq
    return bytes(out.SerializeToString())


def data(config: SparkplugConfig, table: SignalTable, changes: Iterable[tuple[str, Any, int, float]], seq: int,
         now: float, historical: bool = False) -> Any:
    """NDATA/DDATA of (signal, value, quality, timestamp), all of one device."""
    out = sp.Payload(timestamp=sp.now_ms(now), seq=seq)
    for name, value, quality, timestamp in changes:
        metric = config.metrics[name]
        _metric(out, metric, sp.DATATYPES[table.types[table.index[name]]], value, quality, timestamp, birth=False)
        if historical:
            out.metrics[-1].is_historical = True
    return out
