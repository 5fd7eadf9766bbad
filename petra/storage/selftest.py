"""`petra storage selftest`: push generated samples through the real pipeline and check every tier.

Builds a plant with the given `storage` section (or a temporary local one), writes
`count` samples through the signal-group path into the WAL, waits until every
consumer has caught up and then checks that each configured tier holds exactly
the acknowledged sequences (Parquet: the files; ClickHouse: the table; S3: the
objects), with counts and rates.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any


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
        group = tree.lookup("petra/core/signals/selftest")
        wal = tree.lookup("petra/storage/wal").proxy()
        origin = wal.head().get(timeout=10) + 1
        started = time.perf_counter()
        sent = 0
        step = 0
        while sent < count:
            step += 1
            batch = tuple(SignalUpdate(f"selftest_{i}", float(step * signals + i)) for i in range(signals))
            group.tell(UpdateSignals(batch, "selftest"))
            sent += signals
        head = wal.flush().get(timeout=timeout)
        while wal.flush().get(timeout=timeout) != head or group.proxy().mailbox_depth().get() > 0:
            head = wal.head().get()
            time.sleep(0.05)
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
    finally:
        runtime.stop()
    return report


def _verdict(found: list[int], expected: set[int], elapsed: float) -> dict[str, Any]:
    unique = set(found)
    return {"ok": unique == expected and len(found) == len(unique), "rows": len(found),
            "missing": len(expected - unique), "duplicates": len(found) - len(unique),
            "rate": f"{len(unique) / elapsed:,.0f}/s" if elapsed else "-"}


def _check_parquet(settings: Any, origin: int, expected: set[int], elapsed: float) -> dict[str, Any]:
    from petra.storage.query import read_rows

    rows = read_rows(settings.local.data_dir)
    seqs = [s for s in rows.column("seq").to_pylist() if s >= origin]
    return _verdict(seqs, expected, elapsed)


def _check_clickhouse(settings: Any, origin: int, expected: set[int], elapsed: float) -> dict[str, Any]:
    from petra.storage.clickhouse import ClickHouseSink

    sink = ClickHouseSink(settings.remote)
    try:
        client = sink.connect()
        seqs = [r[0] for r in client.execute(f"SELECT seq FROM {sink.target} WHERE node_id = %(n)s AND seq >= %(o)s",
                                             {"n": settings.node_id, "o": origin})]
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    finally:
        sink.disconnect()
    return _verdict(seqs, expected, elapsed)


def _check_s3(settings: Any, origin: int, expected: set[int], deadline: float) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from petra.storage.parquet_store import live, parse_part
    from petra.storage.s3 import S3Archive

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
            return {"ok": False, "error": str(exc)}
        if set(seqs) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return _verdict(seqs, expected, 0.0)
