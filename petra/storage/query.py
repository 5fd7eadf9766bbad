"""Reading history back: one signal over a time range, optionally downsampled for a trend.

Used by `petra history show/export` and, through `plant_history`, by anything in
the runtime that draws trends. Reads the live Parquet parts only (what the WAL
holds but the Parquet tier has not flushed yet is not included).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as ds

from petra.config.settings import parse
from petra.storage.arrow import pa
from petra.storage.parquet_store import DamagedPart, live_parts, read_part, warn_damaged
from petra.storage.rows import ROW_SCHEMA, concat_rows
from petra.storage.settings import LocalSettings

UTC = dt.UTC


def _as_utc(value: dt.datetime | float | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return dt.datetime.fromtimestamp(float(value), UTC)


def read_rows(path: str | Path, signal: str | None = None, start: dt.datetime | float | None = None,
              end: dt.datetime | float | None = None) -> pa.Table:
    """Rows (ROW_SCHEMA, sorted by ts then seq) from a part file or a data directory, filtered."""
    path = Path(path)
    start, end = _as_utc(start), _as_utc(end)
    if path.is_file():
        files = [path]
    else:
        files = [p.path for p in live_parts(path)
                 if (start is None or p.date >= start.date().isoformat())
                 and (end is None or p.date <= end.date().isoformat())]
    if not files:
        return ROW_SCHEMA.empty_table()
    condition = None
    if signal is not None:
        condition = ds.field("signal") == signal
    if start is not None:
        c = ds.field("ts") >= pa.scalar(start, pa.timestamp("us", tz="UTC"))
        condition = c if condition is None else condition & c
    if end is not None:
        c = ds.field("ts") < pa.scalar(end, pa.timestamp("us", tz="UTC"))
        condition = c if condition is None else condition & c
    tables = []
    for f in files:
        try:
            tables.append(read_part(f, filters=condition))
        except DamagedPart as exc:  # the rest of the history is still worth showing
            warn_damaged(exc)
    table = concat_rows(tables)
    return table.sort_by([("ts", "ascending"), ("seq", "ascending")])


def numeric_value(table: pa.Table, memory_pool: pa.MemoryPool | None = None) -> pa.ChunkedArray:
    """The value as float64 (bool as 0/1); null for strings. `memory_pool`: where the results are allocated
    (Arrow's default pool unless told; `GET /v1/trend` gives its own, petra.web.trend)."""
    f = table.column("value_float")
    i = pc.cast(table.column("value_int"), pa.float64(), memory_pool=memory_pool)
    b = pc.cast(pc.cast(table.column("value_bool"), pa.int8(), memory_pool=memory_pool), pa.float64(),
                memory_pool=memory_pool)
    return pc.coalesce(f, i, b, memory_pool=memory_pool)


def query_history(data_dir: str | Path, signal: str, start: dt.datetime | float | None = None,
                  end: dt.datetime | float | None = None, max_points: int | None = None) -> pa.Table:
    """One signal's history.

    Without `max_points` (or when there are no more rows than that): columns
    ``ts, value_type, value_bool, value_int, value_float, value_string, quality, seq``.
    Otherwise the range is cut into `max_points` equal buckets with columns
    ``ts`` (bucket start), ``min, max, mean, last, count`` of the numeric value.
    """
    rows = read_rows(data_dir, signal, start, end)
    if not max_points or rows.num_rows <= max_points:
        return rows.select(["ts", "value_type", "value_bool", "value_int", "value_float", "value_string",
                            "quality", "seq"])
    ts_us = pc.cast(rows.column("ts"), pa.int64())
    lo = _as_utc(start)
    hi = _as_utc(end)
    t0 = int(lo.timestamp() * 1e6) if lo else pc.min(ts_us).as_py()
    t1 = int(hi.timestamp() * 1e6) if hi else pc.max(ts_us).as_py() + 1
    width = max(1, -(-(t1 - t0) // max_points))
    bucket = pc.divide(pc.subtract(ts_us, t0), width)
    table = pa.table({"bucket": bucket, "v": numeric_value(rows)})
    agg = table.group_by("bucket", use_threads=False).aggregate(
        [("v", "min"), ("v", "max"), ("v", "mean"), ("v", "last"), ("v", "count")]
    ).sort_by("bucket")
    starts = pc.add(pc.multiply(agg.column("bucket"), width), t0)
    return pa.table({
        "ts": pc.cast(starts, pa.timestamp("us", tz="UTC")),
        "min": agg.column("v_min"), "max": agg.column("v_max"), "mean": agg.column("v_mean"),
        "last": agg.column("v_last"), "count": agg.column("v_count"),
    })


def plant_history(plant: Any, signal: str, start: dt.datetime | float | None = None,
                  end: dt.datetime | float | None = None, max_points: int | None = 1000) -> pa.Table:
    """`query_history` over the running plant's configured Parquet directory."""
    local = (plant.config.sections.get("storage") or {}).get("local")
    return query_history(parse(LocalSettings, local or {}).data_dir, signal, start, end, max_points)
