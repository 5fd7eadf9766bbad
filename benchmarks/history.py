"""History throughput: durable samples/s via the WAL (fsync) into Parquet zstd, bytes/sample, ClickHouse rows/s.

    .venv/bin/python benchmarks/history.py [--samples 2000000] [--signals 10000] [--no-clickhouse]

Three measurements, printed as they are:

1. core: samples encoded into WAL blocks, group-committed with fsync, read back by
   a consumer thread, written as zstd Parquet parts and the cursor committed - the
   storage code without actors. Time = until the last cursor commit.
2. runtime: SignalsChanged events for `--signals` signals published on a running
   plant's bus (as block chains do) through the WAL actor (recording policy, group
   commit, fsync) and the Parquet tier actor, until its cursor reaches the head.
3. clickhouse: rows/s inserted by the ClickHouse sink in batches of 10,000 into a
   clickhouse-server started for the run (skipped when the server is missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from petra.storage.parquet_store import ParquetStore, scan_parts
from petra.storage.rows import concat_rows, decode_block, encode_block, to_rows
from petra.storage.settings import LocalSettings, WalSettings
from petra.storage.wal import Wal


def _samples(n: int, signals: int, start: float) -> list[tuple[float, str, object, int]]:
    names = [f"sig{i:05d}" for i in range(signals)]
    return [(start + i * 1e-5, names[i % signals], 20.0 + (i % 977) * 0.01, 0) for i in range(n)]


def bench_core(root: Path, total: int, signals: int, block: int) -> dict[str, float]:
    wal = Wal(WalSettings(wal_dir=root / "wal", sync_on_write=True, map_size_mb=512, max_map_size_mb=8192),
              ("parquet",))
    store = ParquetStore(LocalSettings(data_dir=root / "local", compression="zstd"))
    batch = _samples(block, signals, time.time())
    done = threading.Event()
    target = wal.head + total
    lock = threading.Lock()  # the WAL is single-owner: the actor serialises; here a lock does
    committed = [wal.cursor("parquet")]

    def consume() -> None:
        cursor = committed[0]
        buffered = []
        rows = 0
        while cursor < target:
            with lock:
                blocks = wal.read(cursor, 200_000)
            if not blocks:
                time.sleep(0.001)
                continue
            for b in blocks:
                buffered.append(to_rows(decode_block(b.payload), b.first_seq))
                rows += b.count
            last = blocks[-1].last_seq
            if rows >= 1_000_000 or last >= target:
                store.write(concat_rows(buffered), committed[0] + 1, last)
                with lock:
                    wal.commit("parquet", last)
                committed[0] = last
                buffered, rows = [], 0
            cursor = last
        done.set()

    consumer = threading.Thread(target=consume)
    started = time.perf_counter()
    consumer.start()
    encode_s = 0.0
    for _ in range(total // block):
        t = time.perf_counter()
        payload = encode_block(batch, "bench")
        encode_s += time.perf_counter() - t
        with lock:
            wal.append(payload, block)
    acked = time.perf_counter() - started
    consumer.join()
    elapsed = time.perf_counter() - started
    parquet_bytes = sum(p.size for p in scan_parts(store.dir))
    wal_bytes = wal.stats()["used_bytes"]
    wal.close()
    return {"samples": total, "acked_per_s": total / acked, "durable_parquet_per_s": total / elapsed,
            "encode_share": encode_s / acked, "parquet_bytes_per_sample": parquet_bytes / total,
            "wal_bytes_per_sample": wal_bytes / total}


def bench_runtime(root: Path, total: int, signals: int) -> dict[str, float]:
    import yaml

    import petra.blocks  # noqa: F401
    from petra.config.loader import load_config_text
    from petra.messages import Change, SignalsChanged
    from petra.runtime import Runtime, RuntimeOptions
    from petra.values import Quality

    data = {"node_id": "bench", "scan_time_ms": 50,
            "signals": [{"name": f"sig{i:05d}", "type": "float"} for i in range(signals)],
            "storage": {"local": {"data_dir": str(root / "rt-local"), "flush_interval_seconds": 0.5},
                        "wal": {"wal_dir": str(root / "rt-wal"), "sync_on_write": True, "map_size_mb": 1024,
                                "max_map_size_mb": 8192},
                        "history": {"max_interval_ms": 0}},
            "control": {"socket": str(root / "control.sock")}}
    config = load_config_text(yaml.safe_dump(data), "<bench>", env={})
    runtime = Runtime.from_config(config, RuntimeOptions(metrics_port=None, gc_freeze=False))
    runtime.start()
    try:
        wal = runtime.tree.lookup("petra/storage/wal").proxy()
        start_head = wal.flush().get()
        names = runtime.plant.table.names
        rounds = total // signals
        started = time.perf_counter()
        for r in range(rounds):
            now = time.time()
            value = float(r) + 0.5
            runtime.plant.bus.publish(SignalsChanged("bench", tuple(
                Change(i, names[i], value, Quality.GOOD, now) for i in range(signals))))
        head = wal.flush().get(timeout=600)
        while True:
            time.sleep(0.02)
            new = wal.flush().get(timeout=600)
            if new == head:
                break
            head = new
        acked = time.perf_counter() - started
        while wal.cursor("parquet").get() < head:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        runtime.stop()
    n = head - start_head
    return {"samples": n, "acked_per_s": n / acked, "durable_parquet_per_s": n / elapsed}


def bench_clickhouse(root: Path, rows: int) -> dict[str, float] | None:
    if not shutil.which("clickhouse-server") and not os.path.exists("/usr/sbin/clickhouse-server"):
        return None
    from petra.storage.clickhouse_sink import ClickHouseSink
    from petra.storage.settings import RemoteSettings
    from tests.peers.clickhouse import ClickHouseServer

    server = ClickHouseServer(root / "ch")
    server.start()
    try:
        sink = ClickHouseSink(RemoteSettings(host="127.0.0.1", port=server.tcp_port, database="bench"))
        table = to_rows(decode_block(encode_block(_samples(10_000, 1000, time.time()), "bench")), 1)
        sink.connect()
        started = time.perf_counter()
        for i in range(rows // 10_000):
            sink.insert(table.set_column(0, "seq", [list(range(1 + i * 10_000, 1 + (i + 1) * 10_000))])
                        .cast(table.schema))
        elapsed = time.perf_counter() - started
        sink.disconnect()
        return {"rows": rows, "rows_per_s": rows / elapsed}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000)
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--block", type=int, default=10_000, help="samples per group commit (core)")
    parser.add_argument("--runtime-samples", type=int, default=1_000_000)
    parser.add_argument("--clickhouse-rows", type=int, default=500_000)
    parser.add_argument("--no-clickhouse", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="petra-bench-history-"))
    try:
        core = bench_core(root, args.samples, args.signals, args.block)
        print(f"core    : {core['samples']:,} samples, WAL fsync'd group commits of {args.block:,}: "
              f"acknowledged {core['acked_per_s']:,.0f}/s, "
              f"durable in Parquet zstd {core['durable_parquet_per_s']:,.0f}/s "
              f"(encoding {core['encode_share']:.0%} of producer time)")
        print(f"          bytes/sample: Parquet zstd {core['parquet_bytes_per_sample']:.2f}, "
              f"WAL (lz4 Arrow blocks) {core['wal_bytes_per_sample']:.2f}")
        rt = bench_runtime(root, args.runtime_samples, args.signals)
        print(f"runtime : {rt['samples']:,} samples from {args.signals:,} signals via bus -> WAL actor -> "
              f"Parquet tier: acknowledged {rt['acked_per_s']:,.0f}/s, durable in Parquet "
              f"{rt['durable_parquet_per_s']:,.0f}/s")
        if not args.no_clickhouse:
            ch = bench_clickhouse(root, args.clickhouse_rows)
            if ch is None:
                print("clickhouse: skipped (no clickhouse-server)")
            else:
                print(f"clickhouse: {ch['rows']:,} rows in batches of 10,000: {ch['rows_per_s']:,.0f} rows/s")
        target = 200_000
        best = max(core["durable_parquet_per_s"], 0)
        print(f"target >= {target:,} samples/s durable: core {'MET' if best >= target else 'NOT MET'}, "
              f"runtime {'MET' if rt['durable_parquet_per_s'] >= target else 'NOT MET'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
