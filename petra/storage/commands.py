"""`petra history list|info|show|export|stats` and `petra storage selftest|check`: look at and prove the history.

The original PETRA's `parquet_viewer` took the directory as `--dir DIR`; that
spelling is accepted wherever a command takes a directory or path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    history = sub.add_parser("history", help="inspect recorded history (Parquet files)")
    hsub = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    p = hsub.add_parser("list", help="the Parquet parts in a data directory")
    _path_argument(p, "dir", "the data directory (storage.local.data_dir)")
    p.set_defaults(handler=cmd_list)

    p = hsub.add_parser("info", help="schema, row groups, rows, size, time range and signals of a file")
    p.add_argument("file")
    p.set_defaults(handler=cmd_info)

    for name, help_text in (("show", "print rows"), ("export", "write rows as CSV or JSON lines")):
        p = hsub.add_parser(name, help=help_text)
        _path_argument(p, "path", "a Parquet file or a data directory")
        p.add_argument("--signal", help="only this signal")
        p.add_argument("--since", help="ISO time or epoch seconds (UTC when no zone is given)")
        p.add_argument("--until", help="ISO time or epoch seconds (exclusive)")
        if name == "show":
            p.add_argument("--rows", type=int, default=50, help="at most this many rows (default 50; 0 = all)")
            p.add_argument("--max-points", type=int, help="downsample one --signal into this many buckets")
            p.set_defaults(handler=cmd_show)
        else:
            p.add_argument("--output", "-o", required=True, help="x.csv, x.jsonl or x.json (JSON lines)")
            p.add_argument("--format", choices=("csv", "jsonl"), help="default: from the output's suffix")
            p.set_defaults(handler=cmd_export)

    p = hsub.add_parser("stats", help="per signal: count, min, max, mean, first/last time, gaps")
    _path_argument(p, "path", "a Parquet file or a data directory")
    p.add_argument("--signal")
    p.add_argument("--gap", type=float, help="seconds between samples that count as a gap (default 3x median)")
    p.set_defaults(handler=cmd_stats)

    storage = sub.add_parser("storage", help="storage tools")
    ssub = storage.add_subparsers(dest="storage_command", metavar="ACTION", required=True)
    p = ssub.add_parser("selftest", help="push generated data through the real pipeline and check every tier")
    p.add_argument("config", nargs="?", help="YAML config whose storage section to test (default: a temporary "
                                             "local-only one)")
    p.add_argument("--count", type=int, default=20000, help="samples to push (default 20000)")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(handler=cmd_selftest)
    p = ssub.add_parser("check", help="check the WAL's files without opening them (a truncated file is named)")
    p.add_argument("config", help="YAML config whose storage section names the WAL")
    p.set_defaults(handler=cmd_check)


def _path_argument(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    """`name` as a positional argument or, as in the original PETRA, `--dir`."""
    parser.add_argument(name, nargs="?", help=help_text)
    parser.add_argument("--dir", dest=f"{name}_option", metavar=name.upper(), help=f"the same as {name.upper()}")
    parser.set_defaults(**{f"_{name}_parser": parser})


def _path(args: argparse.Namespace, name: str) -> str:
    given, option = getattr(args, name), getattr(args, f"{name}_option")
    parser: argparse.ArgumentParser = getattr(args, f"_{name}_parser")
    if given and option and given != option:
        parser.error(f"give {name.upper()} once: '{given}' or --dir '{option}'")
    if not (given or option):
        parser.error(f"{name.upper()} is required (or --dir {name.upper()})")
    return given or option


def _time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        value = dt.datetime.fromisoformat(text)
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _value(row: dict[str, Any]) -> Any:
    return row.get(f"value_{row.get('value_type')}")


def _records(table: Any) -> list[dict[str, Any]]:
    out = []
    for row in table.to_pylist():
        if "value_type" in row:
            row = {"ts": row["ts"].isoformat(), "node_id": row.get("node_id"), "signal": row.get("signal"),
                   "type": row["value_type"], "value": _value(row), "quality": row.get("quality"),
                   "seq": row.get("seq")}
            row = {k: v for k, v in row.items() if v is not None or k == "value"}
        else:
            row = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}
        out.append(row)
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from petra.storage.parquet_store import DamagedPart, live_parts, part_rows

    directory = _path(args, "dir")
    parts = live_parts(Path(directory))
    if not parts:
        print(f"no Parquet parts under {directory}")
        return 1
    print(f"{'date':<12} {'rows':>10} {'bytes':>12}  file")
    total_rows = total_bytes = 0
    damaged: list[DamagedPart] = []
    for part in parts:
        rows: int | str
        try:
            count = part_rows(part.path)
        except DamagedPart as exc:
            damaged.append(exc)
            rows = "DAMAGED"
        else:
            total_rows += count
            rows = count
        total_bytes += part.size
        print(f"{part.date:<12} {rows:>10} {part.size:>12}  {part.relative}")
    print(f"{len(parts)} parts, {total_rows} rows, {total_bytes} bytes")
    for damage in damaged:
        print(f"petra: {damage}", file=sys.stderr)
    return 1 if damaged else 0


def cmd_info(args: argparse.Namespace) -> int:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from petra.storage.parquet_store import DamagedPart, part_rows

    path = Path(args.file)
    if not path.is_file():
        print(f"petra: {path}: no such file", file=sys.stderr)
        return 2
    try:
        part_rows(path)
    except DamagedPart as exc:
        print(f"petra: {exc}", file=sys.stderr)
        return 1
    meta = pq.read_metadata(path)
    table = pq.read_table(path, columns=["ts", "signal"])
    print(f"file:        {path}")
    print(f"size:        {path.stat().st_size} bytes")
    print(f"rows:        {meta.num_rows}")
    print(f"row groups:  {meta.num_row_groups}")
    if meta.num_rows:
        print(f"compression: {meta.row_group(0).column(0).compression}")
        lo, hi = pc.min(table.column("ts")).as_py(), pc.max(table.column("ts")).as_py()
        print(f"time range:  {lo.isoformat()} .. {hi.isoformat()}")
        signals = sorted(set(pc.unique(table.column("signal").combine_chunks().dictionary_decode()
                                       if hasattr(table.column("signal").combine_chunks(), "dictionary_decode")
                                       else table.column("signal")).to_pylist()))
        print(f"signals:     {len(signals)}: {', '.join(signals[:20])}{' ...' if len(signals) > 20 else ''}")
    print("schema:")
    for field in pq.read_schema(path):
        print(f"  {field.name:<14} {field.type}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from petra.storage.query import query_history, read_rows

    if args.max_points:
        if not args.signal:
            print("petra: --max-points needs --signal", file=sys.stderr)
            return 2
        table = query_history(_path(args, "path"), args.signal, _time(args.since), _time(args.until),
                              args.max_points)
    else:
        table = read_rows(_path(args, "path"), args.signal, _time(args.since), _time(args.until))
    if args.rows:
        table = table.slice(0, args.rows)
    records = _records(table)
    if not records:
        print("no rows")
        return 0
    columns = list(records[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in records)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in records:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import csv

    from petra.storage.query import read_rows

    table = read_rows(_path(args, "path"), args.signal, _time(args.since), _time(args.until))
    fmt = args.format or ("csv" if args.output.endswith(".csv") else "jsonl")
    records = _records(table)
    with open(args.output, "w", newline="", encoding="utf-8") as out:
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=["ts", "node_id", "signal", "type", "value", "quality", "seq"],
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
        else:
            for r in records:
                out.write(json.dumps(r) + "\n")
    print(f"wrote {len(records)} rows to {args.output} ({fmt})")
    return 0


def signal_stats(table: Any, gap_s: float | None = None) -> list[dict[str, Any]]:
    """Per signal: count, min, max, mean (numeric), first, last, gaps (intervals longer than the gap)."""
    import statistics

    from petra.storage.query import numeric_value

    values = numeric_value(table).to_pylist()
    by_signal: dict[str, list[tuple[Any, Any]]] = {}
    for ts, signal, value in zip(table.column("ts").to_pylist(), table.column("signal").to_pylist(), values,
                                 strict=True):
        by_signal.setdefault(signal, []).append((ts, value))
    out = []
    for signal, rows in sorted(by_signal.items()):
        rows.sort(key=lambda r: r[0])
        numbers = [v for _, v in rows if v is not None]
        steps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(rows)]
        limit = gap_s if gap_s is not None else (3 * statistics.median(steps) if steps else 0)
        gaps = [s for s in steps if limit and s > limit]
        out.append({
            "signal": signal, "count": len(rows),
            "min": min(numbers) if numbers else None, "max": max(numbers) if numbers else None,
            "mean": round(sum(numbers) / len(numbers), 6) if numbers else None,
            "first": rows[0][0].isoformat(), "last": rows[-1][0].isoformat(),
            "gaps": len(gaps), "longest_gap_s": round(max(gaps), 3) if gaps else 0.0,
        })
    return out


def cmd_stats(args: argparse.Namespace) -> int:
    from petra.storage.query import read_rows

    table = read_rows(_path(args, "path"), args.signal)
    stats = signal_stats(table, args.gap)
    if not stats:
        print("no rows")
        return 1
    columns = list(stats[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in stats)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in stats:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in columns))
    return 0


def _storage_section(config: str) -> tuple[dict[str, Any], str] | None:
    """The config's storage section and node id; None (the reason printed) when there is none."""
    from petra.commands.common import load_sections_or_report

    loaded = load_sections_or_report(config, ("storage",))
    if loaded is None:
        return None
    if not loaded.sections.get("storage"):
        print(f"petra: {config} has no storage section", file=sys.stderr)
        return None
    return loaded.sections["storage"], loaded.node_id


def cmd_selftest(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from petra.logs import setup_logging
    from petra.storage.selftest import remove_scratch, run_selftest, scratch_storage

    setup_logging("warning")  # one line per problem; the report below says which tier failed and why
    with tempfile.TemporaryDirectory(prefix="petra-selftest-") as tmp:
        if args.config:
            loaded = _storage_section(args.config)
            if loaded is None:
                return 2
            tag = f"{int(time.time())}_{os.getpid()}"
            storage = scratch_storage(loaded[0], Path(tmp), tag)
            print(f"self-test in scratch space: {tmp} (WAL, Parquet)"
                  + (f", ClickHouse database {storage['remote']['database']}" if storage.get("remote") else "")
                  + (f", S3 prefix {storage['s3']['prefix']}" if storage.get("s3") else "")
                  + "; the plant's own history is not touched")
        else:
            storage = {"local": {"data_dir": f"{tmp}/local", "flush_interval_seconds": 0.2},
                       "wal": {"wal_dir": f"{tmp}/wal"}, "history": {"max_interval_ms": 0}}
        try:
            report = run_selftest(storage, args.count, timeout=args.timeout)
        finally:
            left = remove_scratch(storage) if args.config else []
    for line in report.lines():
        print(line)
    for what in left:
        print(f"  could not remove the scratch {what}: remove it by hand")
    print("storage selftest:", "PASSED" if report.ok else "FAILED")
    return 0 if report.ok else 1


def cmd_check(args: argparse.Namespace) -> int:
    from petra.lmdb_files import StoreFileError, check_data_file
    from petra.storage.settings import parse_settings

    loaded = _storage_section(args.config)
    if loaded is None:
        return 2
    wal_dir = parse_settings(*loaded).wal.wal_dir
    try:
        meta = check_data_file(Path(wal_dir), what="WAL")
    except StoreFileError as exc:
        print(f"petra: {exc}", file=sys.stderr)
        return 1
    print(f"WAL {wal_dir}: " + ("no data file yet (a new one is created at start)" if meta is None
                               else f"OK ({meta.required_bytes} bytes in use, transaction {meta.txnid})"))
    return 0
