"""`GET /v1/trend`: the history of a chart's signals in one request, downsampled to its pixel width.

    GET /v1/trend?signals=a,b,c&since=EPOCH&until=EPOCH&points=PIXELS

The range [since, until) is cut into `points` equal buckets (one per pixel column of the chart) shared by
every signal, and each bucket becomes up to four points (M4: its first value at its first time, its minimum
and maximum halfway, its last value at its last time), so the line drawn from them covers the same pixels as
the raw points would: a one-second spike in a day of history stays visible. A bucket of one or two points
gives those points as they are, so a short range is its raw history.

The body is columnar (arrays, not an object per point), one per signal:
``{"since", "until", "points", "bucket_s", "source", "signals": {NAME: {"t_us": [...], "v": [...], "rows": N}}}``
with the times in integer microseconds after `since` (exact, and ~8x cheaper to encode and smaller than
epoch seconds as floats) and `rows` the recorded points the range held. With a storage section it is one
pass over the Parquet parts for all the signals (pyarrow: each batch's signals mapped through its dictionary,
one hash aggregation per signal and bucket; no Python per row, only per bucket); without one, from the web
section's trend ring (`petra.web.ring`).

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
         series: dict[str, tuple[list[int], list[float], int]]) -> dict[str, Any]:
    return {"since": since, "until": until, "points": points, "bucket_s": (until - since) / points,
            "source": source,
            "signals": {name: {"t_us": series[name][0], "v": series[name][1], "rows": series[name][2]}
                        for name in names}}


def m4(first_t: Sequence[int], last_t: Sequence[int], first: Sequence[float], low: Sequence[float],
       high: Sequence[float], last: Sequence[float], count: Sequence[int]) -> tuple[list[int], list[float]]:
    """The points a chart draws for buckets (one entry each, in time order, times as integers).

    A bucket of one or two rows gives them as they are. A larger one gives its first value at its first
    time, then its minimum and maximum (the nearer to the first value first) halfway, then its last value at
    its last time, leaving out a value equal to the one before it: the line through what is left covers the
    same pixels, so a bucket where the signal only rises is two points (first, last) and a flat one is one.
    """
    t: list[int] = []
    v: list[float] = []
    for t0, t1, a, lo, hi, z, n in zip(first_t, last_t, first, low, high, last, count, strict=True):
        if n == 1:
            t.append(t0)
            v.append(a)
        elif n == 2:
            t += (t0, t1)
            v += (a, z)
        else:
            t.append(t0)
            v.append(a)
            inner = [a]
            for x in (lo, hi) if abs(a - lo) <= abs(hi - a) else (hi, lo):
                if x != inner[-1]:
                    inner.append(x)
            mid = (t0 + t1) // 2
            if z == inner[-1] and len(inner) > 1:  # the extreme is the last value: drawn at the last time
                inner.pop()
            for x in inner[1:]:
                t.append(mid)
                v.append(x)
            if z != a or len(inner) > 1:
                t.append(t1)
                v.append(z)
    return t, v


# --- the Parquet history ----------------------------------------------------------


def trend_pool() -> Any:
    """The Arrow memory pool of the trend's computations: jemalloc where this pyarrow has it, else Arrow's default.

    Measured in `petra run` (benchmarks/hmi.py's plant, 8 signals x 86,400 points, three runs each): with Arrow's
    default pool (mimalloc in these wheels) the first GET /v1/trend of a process took 300-360 ms (its compute
    kernels ~15 times slower than on later calls, ~80-150 ms); with the computations here in jemalloc, 200-270 ms.
    The Parquet reader and the group-by take no pool and stay in the default one (with jemalloc as the process's
    default, ARROW_DEFAULT_MEMORY_POOL=jemalloc, the first call was ~100 ms). The results do not depend on it."""
    from petra.storage.arrow import pa

    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, AttributeError, pa.ArrowException):
        return pa.default_memory_pool()


def parquet_trend(data_dir: str | Path, names: Sequence[str], since: float, until: float,
                  points: int) -> dict[str, tuple[list[int], list[float], int]]:
    """Each signal's M4 points over [since, until) (times in microseconds after `since`) from the Parquet
    parts under `data_dir`, in one pass over the parts of the dates the range touches.

    The parts are read in row groups whose time statistics overlap the range, without a pushed-down filter
    (Arrow's filter on the dictionary-encoded signal column cost ~3x the read): each batch's signals are
    mapped to the asked names through its dictionary, and the rows kept are those of an asked signal inside
    the range with a numeric value. Memory is the kept rows (three numbers each), not the parts."""
    import datetime as dt

    import pyarrow.compute as pc

    from petra.storage.arrow import pa

    start = dt.datetime.fromtimestamp(since, dt.UTC)
    end = dt.datetime.fromtimestamp(until, dt.UTC)
    from petra.storage.parquet_store import DamagedPart, live_parts, warn_damaged

    files = sorted((p for p in live_parts(Path(data_dir))
                    if start.date().isoformat() <= p.date <= end.date().isoformat()),
                   key=lambda p: (p.date, p.first, p.last))
    t0, t1 = round(since * 1e6), round(until * 1e6)
    width = max(1, -(-(t1 - t0) // points))
    wanted = pa.array(list(names), pa.string())
    pool = trend_pool()
    pieces: list[Any] = []
    for part in files:
        try:
            pieces += _part_rows(part.path, wanted, t0, t1, start, end, pool)
        except DamagedPart as exc:  # the rest of the history is still worth showing
            warn_damaged(exc)
    found: dict[str, tuple[list[int], list[float], int]] = {name: ([], [], 0) for name in names}
    pieces = [piece for piece in pieces if piece.num_rows]
    if not pieces:
        return found
    rows = pa.concat_tables(pieces, memory_pool=pool)
    if not _in_order(pc, pieces):  # parts of later WAL ranges hold later times: normally no sort
        # stable: the parts' order for equal times
        rows = pc.take(rows, pc.sort_indices(rows, [("ts", "ascending")], memory_pool=pool), memory_pool=pool)
    ts = rows.column("ts")
    bucket = pc.min_element_wise(pc.divide(pc.subtract(ts, t0, memory_pool=pool), width, memory_pool=pool), points - 1,
                                 memory_pool=pool)
    key = pc.add(pc.multiply(rows.column("code"), points, memory_pool=pool), bucket, memory_pool=pool)
    table = pa.table({"key": key, "ts": pc.subtract(ts, t0, memory_pool=pool), "v": rows.column("v")})
    agg = table.group_by("key", use_threads=False).aggregate([
        ("ts", "min"), ("ts", "max"), ("v", "first"), ("v", "min"), ("v", "max"), ("v", "last"), ("v", "count"),
    ]).sort_by("key")
    code = pc.divide(agg.column("key"), points).to_pylist()
    columns_of = [agg.column(key).to_pylist()
                  for key in ("ts_min", "ts_max", "v_first", "v_min", "v_max", "v_last", "v_count")]
    begin = 0
    while begin < len(code):
        stop = begin
        while stop < len(code) and code[stop] == code[begin]:
            stop += 1
        c = [values[begin:stop] for values in columns_of]
        t, v = m4(*c)
        found[names[code[begin]]] = (t, v, sum(c[6]))
        begin = stop
    return found


def _part_rows(path: Path, wanted: Any, t0: int, t1: int, start: Any, end: Any, pool: Any = None) -> list[Any]:
    """The rows of one part (tables of code, ts in microseconds, v) of the asked signals within [t0, t1)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from petra.storage.arrow import pa
    from petra.storage.parquet_store import DamagedPart
    from petra.storage.query import numeric_value

    try:
        file = pq.ParquetFile(path)
        ts_column = file.schema_arrow.get_field_index("ts")
        groups = []
        for index in range(file.metadata.num_row_groups):
            stats = file.metadata.row_group(index).column(ts_column).statistics
            if stats is not None and stats.has_min_max and (stats.max < start or stats.min >= end):
                continue
            groups.append(index)
        if not groups:
            return []
        batches = file.iter_batches(batch_size=65_536, row_groups=groups, use_threads=False,
                                    columns=["signal", "ts", "value_bool", "value_int", "value_float"])
        pieces = []
        for batch in batches:
            signal = batch.column("signal")
            if pa.types.is_dictionary(signal.type):
                code = pc.take(pc.index_in(signal.dictionary, value_set=wanted, memory_pool=pool), signal.indices,
                               memory_pool=pool)
            else:
                code = pc.index_in(signal, value_set=wanted, memory_pool=pool)
            ts = pc.cast(batch.column("ts"), pa.int64(), memory_pool=pool)
            v = numeric_value(pa.Table.from_batches([batch]), memory_pool=pool)
            keep = pc.and_kleene(
                pc.and_kleene(pc.is_valid(code, memory_pool=pool), pc.is_valid(v, memory_pool=pool), memory_pool=pool),
                pc.and_kleene(pc.greater_equal(ts, t0, memory_pool=pool), pc.less(ts, t1, memory_pool=pool),
                              memory_pool=pool), memory_pool=pool)
            piece = pc.filter(pa.table({"code": pc.cast(code, pa.int64(), memory_pool=pool), "ts": ts, "v": v}),
                              pc.fill_null(keep, False), memory_pool=pool)
            pieces.append(piece)
        return pieces
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DamagedPart(Path(path), str(exc).strip().splitlines()[0][:200] if str(exc).strip() else
                          type(exc).__name__) from None


def _in_order(pc: Any, tables: Sequence[Any]) -> bool:
    """True when the rows of `tables`, one after the other, are in time order."""
    previous = None
    for table in tables:
        ts = table.column("ts")
        n = len(ts)
        if n > 1 and not pc.all(pc.greater_equal(ts.slice(1), ts.slice(0, n - 1))).as_py():
            return False
        if previous is not None and ts[0].as_py() < previous:
            return False
        previous = ts[n - 1].as_py()
    return True


# --- the trend ring ---------------------------------------------------------------


def ring_trend(held: Sequence[tuple[float, float, int]], since: float, until: float,
               points: int) -> tuple[list[int], list[float], int]:
    """The M4 points of one signal's ring points (time order) over [since, until), times in microseconds
    after `since`."""
    width = (until - since) / points
    buckets: dict[int, list[Any]] = {}
    rows = 0
    for ts, value, _quality in held:
        if not since <= ts < until or math.isnan(value):
            continue
        rows += 1
        index = min(int((ts - since) / width), points - 1)
        us = round((ts - since) * 1e6)
        b = buckets.get(index)
        if b is None:
            buckets[index] = [us, us, value, value, value, value, 1]
        else:
            b[1] = us
            b[3] = min(b[3], value)
            b[4] = max(b[4], value)
            b[5] = value
            b[6] += 1
    order = [buckets[k] for k in sorted(buckets)]
    t, v = m4(*([b[i] for b in order] for i in range(7)))
    return t, v, rows
