"""Parquet files on local disk: atomic parts named by WAL range, date partitions, retention, compaction.

Layout: ``DATA_DIR/date=YYYY-MM-DD/part-FFFFFFFFFFFFFFFFFFFF-LLLLLLLLLLLLLLLLLLLL.parquet``
where F..L is the WAL sequence range the write covered (the file holds that
range's rows of that date). Rules that make replays and crashes harmless:

* A part is written to ``*.tmp``, fsynced, renamed, and the directory fsynced;
  the tier commits its WAL cursor only after every part of a range is in place.
* On start (`recover`), parts that begin after the committed cursor come from
  a write whose commit never happened: they are deleted and written again from
  the WAL. Leftover ``*.tmp`` files are deleted.
* Compaction writes the merged part (range = union of its sources) first, then
  deletes the sources. A part whose range lies inside another part's range in
  the same partition is therefore a leftover source: readers skip it
  (`live_parts`) and the next compaction or recovery deletes it.

A part that cannot be read (cut short, overwritten, not Parquet) is named in a
warning (at most once an hour per file) and skipped by readers, compaction and
the S3 archive; it is never deleted for you. `DamagedPart` says what to do.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from petra.rate_limited_log import RateLimitedLog
from petra.storage.arrow import pa
from petra.storage.rows import ROW_SCHEMA, concat_rows
from petra.storage.settings import LocalSettings

log = logging.getLogger(__name__)
_damaged_log = RateLimitedLog(log, interval_s=3600.0)

FLUSH_ROW_GROUP_ROWS = 64 * 1024
"""Rows per row group of a flushed part: the writer encodes one row group at a time, so this bounds the
memory a flush takes beyond the buffer (256 Ki rows took ~23 MB more at the 10k benchmark's rate);
compaction merges parts into row groups of 256 Ki rows later."""
_PART = re.compile(r"^part-(\d{20})-(\d{20})\.parquet$")
_DATE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Part:
    path: Path
    date: str
    first: int
    last: int
    size: int
    mtime: float

    @property
    def relative(self) -> str:
        return f"date={self.date}/{self.path.name}"


class DamagedPart(ValueError):
    """A Parquet part that cannot be read; the message names it and says what to do."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: damaged Parquet part ({reason}); it is skipped. Move it aside "
                         f"(mv {path} {path}.damaged) to silence this; its rows are gone from this "
                         f"directory unless another copy (S3, ClickHouse) holds them")
        self.path = path


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def read_part(path: Path, **read_options: object) -> pa.Table:
    """`pq.read_table(path, schema=ROW_SCHEMA, ...)`, raising DamagedPart for a file that is not readable."""
    try:
        return pq.read_table(path, schema=ROW_SCHEMA, **read_options)
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DamagedPart(path, _reason(exc)) from None


def part_rows(path: Path | str) -> int:
    """Rows in a part, from its footer; DamagedPart when there is no readable footer."""
    try:
        return pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DamagedPart(Path(path), _reason(exc)) from None


def warn_damaged(exc: DamagedPart) -> None:
    """Say it loudly, but once an hour per file: readers meet the same file again and again."""
    _damaged_log.warning(str(exc.path), "%s", exc)


def archived_marker(part: Part) -> Path:
    """The empty file next to a part that says the S3 archive holds a verified copy."""
    return part.path.with_name(part.path.name + ".archived")


def part_name(first: int, last: int) -> str:
    return f"part-{first:020d}-{last:020d}.parquet"


def parse_part(relative: str) -> tuple[str, int, int] | None:
    """(date, first, last) from ``date=D/part-F-L.parquet``, or None."""
    parts = relative.strip("/").split("/")
    if len(parts) < 2:
        return None
    date, name = _DATE.match(parts[-2]), _PART.match(parts[-1])
    if not date or not name:
        return None
    return date.group(1), int(name.group(1)), int(name.group(2))


def live(items: Iterable[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """The (date, first, last) entries not contained in another entry of the same date."""
    by_date: dict[str, list[tuple[int, int]]] = {}
    for date, first, last in items:
        by_date.setdefault(date, []).append((first, last))
    out = set()
    for date, ranges in by_date.items():
        ranges.sort(key=lambda r: (r[0], -r[1]))
        reach = -1
        for first, last in ranges:
            if last <= reach:
                continue  # inside a wider range seen before
            out.add((date, first, last))
            reach = max(reach, last)
    return out


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def scan_parts(data_dir: Path) -> list[Part]:
    """Every part file under `data_dir` (live or not), sorted by (first, date)."""
    found: list[Part] = []
    if not data_dir.is_dir():
        return found
    for sub in data_dir.iterdir():
        if not sub.is_dir() or not _DATE.match(sub.name):
            continue
        for file in sub.iterdir():
            parsed = parse_part(f"{sub.name}/{file.name}")
            if parsed is None:
                continue
            try:
                st = file.stat()
            except FileNotFoundError:
                continue
            found.append(Part(file, parsed[0], parsed[1], parsed[2], st.st_size, st.st_mtime))
    found.sort(key=lambda p: (p.first, p.date))
    return found


def live_parts(data_dir: Path) -> list[Part]:
    """The parts a reader should use: no leftover compaction sources, no temporaries."""
    parts = scan_parts(data_dir)
    keep = live((p.date, p.first, p.last) for p in parts)
    return [p for p in parts if (p.date, p.first, p.last) in keep]


class ParquetStore:
    """Writes and maintains the parts under `settings.data_dir`."""

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self.dir = Path(settings.data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _options(self) -> dict[str, object]:
        compression = self.settings.compression
        options: dict[str, object] = {"compression": None if compression == "none" else compression}
        if self.settings.compression_level is not None and compression in ("zstd",):
            options["compression_level"] = self.settings.compression_level
        return options

    def recover(self, cursor: int) -> None:
        """Delete temporaries, parts of uncommitted writes (first > cursor) and leftover compaction sources."""
        for tmp in self.dir.glob("date=*/*.tmp"):
            tmp.unlink(missing_ok=True)
        parts = scan_parts(self.dir)
        keep = live((p.date, p.first, p.last) for p in parts)
        for part in parts:
            if part.first > cursor:
                log.info("parquet: removing %s (written after the last committed cursor %d; will be rewritten)",
                         part.relative, cursor)
                part.path.unlink(missing_ok=True)
            elif (part.date, part.first, part.last) not in keep:
                log.info("parquet: removing %s (already merged by compaction)", part.relative)
                part.path.unlink(missing_ok=True)

    def write(self, table: pa.Table, first: int, last: int) -> int:
        """Write rows of WAL range [first, last] as one part per date, atomically; returns bytes written."""
        if table.num_rows == 0:
            return 0
        dates = pc.cast(pc.cast(table.column("ts"), pa.timestamp("us")), pa.date32())
        staged: list[tuple[Path, Path]] = []
        total = 0
        days = pc.unique(dates).to_pylist()
        for day in days:
            # Nearly always one date: the table itself, not a filtered copy of every row.
            rows = table if len(days) == 1 else table.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
            folder = self.dir / f"date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / part_name(first, last)
            tmp = folder / (final.name + ".tmp")
            with open(tmp, "wb") as handle:
                pq.write_table(rows, handle, row_group_size=FLUSH_ROW_GROUP_ROWS, **self._options())
                handle.flush()
                os.fsync(handle.fileno())
                total += handle.tell()
            staged.append((tmp, final))
        for tmp, final in staged:
            os.replace(tmp, final)
        for folder in {final.parent for _, final in staged}:
            _fsync_dir(folder)
        _fsync_dir(self.dir)
        return total

    def compact(self, now: float | None = None, may_touch: Callable[[Part], bool] | None = None) -> int:
        """Merge runs of small parts older than compact_after_hours, per date; returns parts merged away."""
        now = now or time.time()
        limit = self.settings.max_file_size_mb * 1024 * 1024
        age = self.settings.compact_after_hours * 3600
        merged = 0
        by_date: dict[str, list[Part]] = {}
        for part in live_parts(self.dir):
            by_date.setdefault(part.date, []).append(part)
        for parts in by_date.values():
            group: list[Part] = []
            for part in parts:
                eligible = now - part.mtime >= age and part.size < limit and (may_touch is None or may_touch(part))
                if eligible and sum(p.size for p in group) + part.size <= limit:
                    group.append(part)
                    continue
                if len(group) > 1:
                    merged += self._merge_readable(group)
                group = [part] if eligible else []
            if len(group) > 1:
                merged += self._merge_readable(group)
        return merged

    def _merge_readable(self, group: list[Part]) -> int:
        """Merge `group`, or the runs on either side of a damaged part (never a range that spans it)."""
        if len(group) < 2:
            return 0
        try:
            self._merge(group)
        except DamagedPart as exc:
            warn_damaged(exc)
            at = next(i for i, p in enumerate(group) if p.path == exc.path)
            return self._merge_readable(group[:at]) + self._merge_readable(group[at + 1:])
        return len(group)

    def _merge(self, group: list[Part]) -> None:
        table = concat_rows(read_part(p.path) for p in group)
        table = table.sort_by("seq")
        first, last = group[0].first, max(p.last for p in group)
        final = group[0].path.parent / part_name(first, last)
        tmp = final.with_name(final.name + ".tmp")
        with open(tmp, "wb") as handle:
            pq.write_table(table, handle, row_group_size=256 * 1024, **self._options())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        for part in group:
            if part.path != final:
                part.path.unlink(missing_ok=True)
                archived_marker(part).unlink(missing_ok=True)
        _fsync_dir(final.parent)
        log.info("parquet: compacted %d parts into %s", len(group), final.name)

    def expire(self, today: dt.date | None = None, may_delete: Callable[[Part], bool] | None = None) -> list[str]:
        """Delete whole date partitions older than retention_days (0 keeps everything); returns the dates."""
        days = self.settings.retention_days
        if not days:
            return []
        today = today or dt.datetime.now(dt.UTC).date()
        cutoff = (today - dt.timedelta(days=days)).isoformat()
        gone = []
        by_date: dict[str, list[Part]] = {}
        for part in scan_parts(self.dir):
            by_date.setdefault(part.date, []).append(part)
        for date, parts in sorted(by_date.items()):
            if date >= cutoff:
                continue
            if may_delete is not None and not all(may_delete(p) for p in parts):
                log.info("parquet: partition %s is past retention but not yet forwarded/archived; keeping it",
                         date)
                continue
            shutil.rmtree(self.dir / f"date={date}", ignore_errors=True)
            gone.append(date)
            log.info("parquet: retention removed partition %s", date)
        return gone

    def bytes_on_disk(self) -> int:
        return sum(p.size for p in scan_parts(self.dir))
