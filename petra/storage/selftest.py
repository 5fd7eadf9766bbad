"""`petra storage selftest`: push generated samples through the real pipeline and check every tier.

Builds a plant with the given `storage` section (or a temporary local one), writes
`count` samples through the signal-group path into the WAL, waits until every
consumer has caught up and then checks that each configured tier holds exactly
the acknowledged sequences (Parquet: the files; ClickHouse: the table; S3: the
objects), with counts and rates.

A self-test never writes into the plant's history: `scratch_storage` moves the
WAL and the Parquet directory into a temporary directory, ClickHouse into a
database of its own (``petra_selftest_<tag>``) and S3 under a prefix of its own
(``<prefix>/petra-selftest-<tag>/``); `remove_scratch` drops both afterwards.
A failing tier says why (``why=...``).
"""

from __future__ import annotations

import copy
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petra.paths import WAL, group_path, storage_path

if TYPE_CHECKING:
    from pykka import ActorRef

    from supervision import SupervisionTree

log = logging.getLogger(__name__)


@dataclass
class SelfTestReport:
    samples: int = 0
    seconds: float = 0.0
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(t.get("ok") for t in self.tiers.values())

    def lines(self) -> list[str]:
        rate = self.samples / self.seconds if self.seconds else 0.0
        out = [f"pushed {self.samples} samples in {self.seconds:.2f} s ({rate:,.0f} samples/s acknowledged)"]
        for name, info in self.tiers.items():
            out.append(f"  {name:<12} {'OK ' if info.get('ok') else 'FAIL'} "
                       + " ".join(f"{k}={v}" for k, v in info.items() if k != "ok"))
        return out


def scratch_storage(storage: dict[str, Any], scratch: Path, tag: str) -> dict[str, Any]:
    """`storage` with every place it writes moved to scratch space named by `tag` (see the module docstring)."""
    from petra.storage.settings import S3Settings

    out = copy.deepcopy(storage)
    out["wal"] = {**(out.get("wal") or {}), "wal_dir": str(scratch / "wal")}
    out["local"] = {**(out.get("local") or {}), "data_dir": str(scratch / "local"), "flush_interval_seconds": 0.2}
    if out.get("remote"):
        out["remote"]["database"] = f"petra_selftest_{tag}"
    if out.get("s3"):
        prefix = str(out["s3"].get("prefix", S3Settings.prefix)).strip("/")
        out["s3"]["prefix"] = f"{prefix}/petra-selftest-{tag}/" if prefix else f"petra-selftest-{tag}/"
    return out


def remove_scratch(storage: dict[str, Any], node_id: str = "selftest") -> list[str]:
    """Drop the scratch ClickHouse database and S3 prefix of a `scratch_storage` section; what could not go."""
    from petra.storage.settings import parse_settings

    settings = parse_settings(storage, node_id)
    left: list[str] = []
    if settings.remote is not None:
        from petra.storage.clickhouse_sink import ClickHouseSink

        sink = ClickHouseSink(settings.remote)
        try:
            sink.drop_database()  # on every host of a cluster, not only the one it connects to
        except Exception as exc:
            left.append(f"ClickHouse database {settings.remote.database}, if it was made ({_why(exc)})")
        finally:
            sink.disconnect()
    if settings.s3 is not None:
        from petra.storage.s3_sink import S3Archive

        try:
            archive = S3Archive(settings.s3, settings.local.data_dir if settings.local else ".")
            archive.fs.delete_dir(archive.root)
        except FileNotFoundError:
            pass
        except Exception as exc:
            left.append(f"S3 prefix {settings.s3.bucket}/{settings.s3.prefix} ({_why(exc)})")
    return left


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def run_selftest(storage: dict[str, Any], count: int = 20000, signals: int = 50, timeout: float = 60.0,
                 node_id: str = "selftest") -> SelfTestReport:
    """Run the self-test against `storage` (a storage section as in the YAML, with defaults filled)."""
    import tempfile

    import yaml

    import petra.blocks  # noqa: F401
    from petra.config.loader import load_config_text
    from petra.messages import SignalUpdate, UpdateSignals
    from petra.runtime import Runtime, RuntimeOptions
    from petra.storage.plan import plan_for
    from petra.storage.settings import parse_settings

    data = {"node_id": node_id, "scan_time_ms": 100,
            "signals": [{"name": f"selftest_{i}", "type": "float", "group": "selftest"} for i in range(signals)],
            "storage": storage,
            "control": {"socket": f"{tempfile.mkdtemp(prefix='petra-selftest-')}/control.sock"}}
    config = load_config_text(yaml.safe_dump(data, sort_keys=False), "<selftest>", env={})
    settings = parse_settings(config.sections["storage"], node_id)
    plan = plan_for(settings)
    runtime = Runtime.from_config(config, RuntimeOptions(metrics_port=None, gc_freeze=False))
    runtime.start()
    report = SelfTestReport()
    try:
        tree = runtime.tree
        assert tree is not None
        group = _started(tree, group_path("selftest"))
        wal = _started(tree, WAL).proxy()
        origin = wal.head().get(timeout=10) + 1
        started = time.perf_counter()
        sent = 0
        step = 0
        while sent < count:
            step += 1
            batch = tuple(SignalUpdate(f"selftest_{i}", float(step * signals + i)) for i in range(signals))
            group.tell(UpdateSignals(batch, "selftest"))
            sent += signals
        # The group answers only after every update told before (each one published to the WAL's queue
        # in the group's thread); the WAL's flush after that commits them all.
        group.proxy().mailbox_depth().get(timeout=timeout)
        head = wal.flush().get(timeout=timeout)
        report.seconds = time.perf_counter() - started
        report.samples = head - origin + 1
        expected = set(range(origin, head + 1))
        deadline = time.monotonic() + timeout
        for consumer in plan.consumers:
            while wal.cursor(consumer).get() < head and time.monotonic() < deadline:
                time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if plan.parquet:
            report.tiers["parquet"] = _check_parquet(settings, origin, expected, elapsed)
        if plan.clickhouse:
            report.tiers["clickhouse"] = _check_clickhouse(settings, origin, expected, elapsed)
        if plan.s3:
            report.tiers["s3"] = _check_s3(settings, origin, expected, deadline)
        for name, status in _tier_errors(tree).items():
            tier = report.tiers.get(name)
            if tier is not None and not tier["ok"] and "why" not in tier:
                tier["why"] = f"the tier kept failing: {status}"
    finally:
        runtime.stop()
    return report


def _started(tree: SupervisionTree, path: str) -> ActorRef[Any]:
    """The actor at `path`, which the self-test's own config starts: missing means that runtime is broken."""
    ref = tree.lookup(path)
    if ref is None:
        raise RuntimeError(f"the self-test runtime has no actor at {path}")
    return ref


def _tier_errors(tree: Any) -> dict[str, str]:
    """The last error of each tier that is failing now, by report name."""
    names = {"history:parquet": "parquet", "remote:clickhouse": "clickhouse", "archive:s3": "s3"}
    out = {}
    for path, name in names.items():
        ref = tree.lookup(storage_path(path))
        try:
            status = ref.proxy().status().get(timeout=5) if ref is not None else {}
        except Exception:
            continue
        if status.get("last_error"):
            out[name] = str(status["last_error"])[:300]
    return out


def _verdict(found: list[int], expected: set[int], elapsed: float) -> dict[str, Any]:
    """Judged on the acknowledged range only: samples recorded after it (heartbeats) are not the test's."""
    if not expected:
        return {"ok": False, "rows": 0, "why": "the WAL acknowledged none of the samples pushed"}
    lo, hi = min(expected), max(expected)
    found = [s for s in found if lo <= s <= hi]
    unique = set(found)
    missing = len(expected - unique)
    duplicates = len(found) - len(unique)
    verdict: dict[str, Any] = {"ok": not missing and not duplicates, "rows": len(found), "missing": missing,
                               "duplicates": duplicates,
                               "rate": f"{len(unique) / elapsed:,.0f}/s" if elapsed else "-"}
    if missing:
        verdict["why"] = f"{missing} acknowledged samples never arrived"
    elif duplicates:
        verdict["why"] = f"{duplicates} samples were written twice"
    return verdict


def _check_parquet(settings: Any, origin: int, expected: set[int], elapsed: float) -> dict[str, Any]:
    from petra.storage.query import read_rows

    rows = read_rows(settings.local.data_dir)
    seqs = [s for s in rows.column("seq").to_pylist() if s >= origin]
    return _verdict(seqs, expected, elapsed)


def _check_clickhouse(settings: Any, origin: int, expected: set[int], elapsed: float) -> dict[str, Any]:
    from petra.storage.clickhouse_sink import ClickHouseSink

    sink = ClickHouseSink(settings.remote)
    try:
        client = sink.connect()
        seqs = [r[0] for r in client.execute(f"SELECT seq FROM {sink.target} WHERE node_id = %(n)s AND seq >= %(o)s",
                                             {"n": settings.node_id, "o": origin})]
    except Exception as exc:
        return {"ok": False, "why": _why(exc)}
    finally:
        sink.disconnect()
    return _verdict(seqs, expected, elapsed)


def _check_s3(settings: Any, origin: int, expected: set[int], deadline: float) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from petra.storage.parquet_store import live, parse_part
    from petra.storage.s3_sink import S3Archive

    archive = S3Archive(settings.s3, settings.local.data_dir)
    seqs: list[int] = []
    while True:
        try:
            seqs = []
            names = archive.remote_sizes()
            keep = live(p for p in map(parse_part, names) if p is not None)
            for name in [n for n in names if parse_part(n) in keep]:
                with archive.fs.open_input_file(f"{archive.root}/{name}") as f:
                    table = pq.read_table(io.BytesIO(f.read()), columns=["seq"])
                seqs.extend(s for s in table.column("seq").to_pylist() if s >= origin)
        except Exception as exc:
            return {"ok": False, "why": _why(exc)}
        if set(seqs) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return _verdict(seqs, expected, 0.0)
