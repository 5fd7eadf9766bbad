"""`GET /v1/trend`: the history of a chart's signals in one request, downsampled to its pixel width.

    GET /v1/trend?signals=a,b,c&since=EPOCH&until=EPOCH&points=PIXELS

The range [since, until) is cut into `points` equal buckets (one per pixel column of the chart) shared by
every signal, and each bucket becomes up to four points (M4: its first value at its first time, its minimum
and maximum halfway, its last value at its last time), so the line drawn from them covers the same pixels as
the raw points would: a one-second spike in a day of history stays visible. A bucket of one or two points
gives those points as they are, so a short range is its raw history.

The body is columnar (arrays, not an object per point), one per signal:
``{"since", "until", "points", "bucket_s", "source", "signals": {NAME: {"t": [...], "v": [...], "rows": N}}}``
with `rows` the recorded points the range held. With a storage section it is one scan of the Parquet parts
for all the signals (pyarrow: a filter on signal and time, a hash aggregation per signal and bucket; no
Python per row); without one, from the web section's trend ring (`petra.web.ring`).

`GET /v1/history?signal=` keeps its shape (one signal, rows of objects) for other clients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from petra.control.api import EPOCH_MAX_S, ApiError, Request, query_number

MAX_SIGNALS = 32
MAX_PIXELS = 10_000
DEFAULT_PIXELS = 1000
NUMBER_DIGITS = 6
"""Decimal places kept of each time (microseconds, what the history holds)."""


def trend_query(request: Request, known: Any) -> tuple[list[str], float, float, int]:
    """(signals, since, until, points) of `GET /v1/trend`; ApiError 400/404 with what was expected."""
    text = request.query.get("signals") or ""
    names = [name for name in text.split(",") if name]
    if not names:
        raise ApiError(400, "trend needs ?signals=NAME[,NAME...] (and since, until as epoch seconds; points)")
    if len(names) > MAX_SIGNALS:
        raise ApiError(400, f"at most {MAX_SIGNALS} signals per trend, not {len(names)}")
    if len(set(names)) != len(names):
        raise ApiError(400, "a signal is named twice in ?signals=")
    missing = [name for name in names if name not in known]
    if missing:
        raise ApiError(404, f"unknown signal{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    since = query_number(request, "since", maximum=EPOCH_MAX_S)
    until = query_number(request, "until", maximum=EPOCH_MAX_S)
    if since is None or until is None:
        raise ApiError(400, "trend needs ?since= and ?until= (epoch seconds)")
    if until <= since:
        raise ApiError(400, f"until ({until:g}) must be after since ({since:g})")
    points = int(query_number(request, "points", DEFAULT_PIXELS, minimum=1, maximum=MAX_PIXELS, integer=True))
    return names, since, until, points


def body(names: Sequence[str], since: float, until: float, points: int, source: str,
         series: dict[str, tuple[list[float], list[float], int]]) -> dict[str, Any]:
    return {"since": since, "until": until, "points": points, "bucket_s": (until - since) / points,
            "source": source,
            "signals": {name: {"t": series[name][0], "v": series[name][1], "rows": series[name][2]}
                        for name in names}}


def m4(first_t: Sequence[float], last_t: Sequence[float], first: Sequence[float | None],
       low: Sequence[float | None], high: Sequence[float | None], last: Sequence[float | None],
       count: Sequence[int]) -> tuple[list[float], list[float | None]]:
    """The points a chart draws for buckets (one entry each, in time order): first, min, max, last."""
    t: list[float] = []
    v: list[float | None] = []
    for t0, t1, a, lo, hi, z, n in zip(first_t, last_t, first, low, high, last, count, strict=True):
        if n <= 1 or t0 == t1:
            t.append(t0)
            v.append(z)
        elif n == 2:
            t += (t0, t1)
            v += (a, z)
        else:
            mid = round((t0 + t1) / 2, NUMBER_DIGITS)
            t += (t0, mid, mid, t1)
            v += (a, lo, hi, z) if _low_first(a, lo, hi) else (a, hi, lo, z)
    return t, v


def _low_first(first: float | None, low: float | None, high: float | None) -> bool:
    """True when the minimum is drawn before the maximum: from the first value, go to the nearer one first."""
    if first is None or low is None or high is None:
        return True
    return abs(first - low) <= abs(high - first)


# --- the Parquet history ----------------------------------------------------------


def parquet_trend(data_dir: str | Path, names: Sequence[str], since: float, until: float,
                  points: int) -> dict[str, tuple[list[float], list[float], int]]:
    """Each signal's M4 points over [since, until) from the Parquet parts under `data_dir`, in one scan."""
    import datetime as dt

    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from petra.storage.arrow import pa
    from petra.storage.parquet_store import DamagedPart, live_parts, read_part, warn_damaged
    from petra.storage.query import numeric_value

    start = dt.datetime.fromtimestamp(since, dt.UTC)
    end = dt.datetime.fromtimestamp(until, dt.UTC)
    files = sorted((p for p in live_parts(Path(data_dir))
                    if start.date().isoformat() <= p.date <= end.date().isoformat()),
                   key=lambda p: (p.date, p.first, p.last))
    condition = ((ds.field("signal").isin(list(names)))
                 & (ds.field("ts") >= pa.scalar(start, pa.timestamp("us", tz="UTC")))
                 & (ds.field("ts") < pa.scalar(end, pa.timestamp("us", tz="UTC"))))
    columns = ["signal", "ts", "seq", "value_bool", "value_int", "value_float"]
    tables = []
    for part in files:
        try:
            tables.append(read_part(part.path, columns=columns, filters=condition))
        except DamagedPart as exc:  # the rest of the history is still worth showing
            warn_damaged(exc)
    found: dict[str, tuple[list[float], list[float], int]] = {name: ([], [], 0) for name in names}
    tables = [table for table in tables if table.num_rows]
    if not tables:
        return found
    if not _in_order(pc, pa, tables):  # parts of later WAL ranges normally hold later times: no sort needed
        tables = [pa.concat_tables(tables).sort_by([("ts", "ascending"), ("seq", "ascending")])]
    rows = pa.concat_tables(tables)
    ts_us = pc.cast(rows.column("ts"), pa.int64())
    t0 = round(since * 1e6)
    width = max(1, math.ceil((until - since) * 1e6 / points))
    bucket = pc.min_element_wise(pc.divide(pc.subtract(ts_us, t0), width), points - 1)
    value = numeric_value(rows)
    table = pa.table({"signal": rows.column("signal"), "bucket": bucket, "ts": ts_us, "v": value})
    table = table.filter(pc.is_valid(table.column("v")))
    agg = table.group_by(["signal", "bucket"], use_threads=False).aggregate([
        ("ts", "min"), ("ts", "max"), ("v", "first"), ("v", "min"), ("v", "max"), ("v", "last"), ("v", "count"),
    ])
    agg = agg.set_column(agg.schema.get_field_index("signal"), "signal", pc.cast(agg.column("signal"), pa.string()))
    agg = agg.sort_by([("signal", "ascending"), ("bucket", "ascending")])
    signal = agg.column("signal").to_pylist()
    for key in ("ts_min", "ts_max"):  # epoch seconds to the microsecond, as the history holds them
        seconds = pc.round(pc.divide(pc.cast(agg.column(key), pa.float64()), 1e6), NUMBER_DIGITS)
        agg = agg.set_column(agg.schema.get_field_index(key), key, seconds)
    columns_of = {key: agg.column(key).to_pylist()
                  for key in ("ts_min", "ts_max", "v_first", "v_min", "v_max", "v_last", "v_count")}
    begin = 0
    while begin < len(signal):
        name = signal[begin]
        stop = begin
        while stop < len(signal) and signal[stop] == name:
            stop += 1
        c = {key: values[begin:stop] for key, values in columns_of.items()}
        t, v = m4(c["ts_min"], c["ts_max"], c["v_first"], c["v_min"], c["v_max"], c["v_last"], c["v_count"])
        found[name] = (t, v, sum(c["v_count"]))  # type: ignore[assignment]
        begin = stop
    return found


def _in_order(pc: Any, pa: Any, tables: Sequence[Any]) -> bool:
    """True when the rows of `tables`, one after the other, are in time order."""
    previous = None
    for table in tables:
        ts = pc.cast(table.column("ts"), pa.int64())
        n = len(ts)
        if n > 1 and not pc.all(pc.greater_equal(ts.slice(1), ts.slice(0, n - 1))).as_py():
            return False
        if previous is not None and ts[0].as_py() < previous:
            return False
        previous = ts[n - 1].as_py()
    return True


# --- the trend ring ---------------------------------------------------------------


def ring_trend(held: Sequence[tuple[float, float, int]], since: float, until: float,
               points: int) -> tuple[list[float], list[float], int]:
    """The M4 points of one signal's ring points (time order) over [since, until)."""
    width = (until - since) / points
    buckets: dict[int, list[Any]] = {}
    rows = 0
    for ts, value, _quality in held:
        if not since <= ts < until or math.isnan(value):
            continue
        rows += 1
        index = min(int((ts - since) / width), points - 1)
        b = buckets.get(index)
        if b is None:
            buckets[index] = [ts, ts, value, value, value, value, 1]
        else:
            b[1] = ts
            b[3] = min(b[3], value)
            b[4] = max(b[4], value)
            b[5] = value
            b[6] += 1
    order = [buckets[k] for k in sorted(buckets)]
    t, v = m4(*([b[i] for b in order] for i in range(7)))
    return t, v, rows  # type: ignore[return-value]
