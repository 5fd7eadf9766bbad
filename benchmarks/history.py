"""History throughput: durable samples/s via the WAL (fsync) into Parquet zstd, bytes/sample, ClickHouse rows/s.

    .venv/bin/python benchmarks/history.py [--samples 2000000] [--signals 10000] [--no-clickhouse]

Three measurements, printed as they are:

1. core: samples encoded into WAL blocks, group-committed with fsync, read back by
   a consumer thread, written as zstd Parquet parts and the cursor committed - the
   storage code without actors. Time = until the last cursor commit.
2. runtime: SignalsChanged events for `--signals` signals published on a running
   plant's bus (as block chains do) through the WAL actor (recording policy, group
   commit, fsync) and the Parquet tier actor, until its cursor reaches the head.
3. clickhouse: rows/s the ClickHouse sink inserts (columns straight from Arrow, and the
   driver's row conversion it replaced), the running tier catching up a backlog, beside the
   server's own ceiling in the same run (INSERT SELECT per batch: no client work; and
   clickhouse-client streaming Native blocks), then the same through a two-shard cluster's
   Distributed table (servers started for the run; skipped when clickhouse-server is missing).
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


def _ch_batches(rows: int, batch: int, signals: int, first_seq: int = 1) -> list:
    """`rows` samples of `signals` signals as ROW_SCHEMA tables of `batch` rows with consecutive seqs."""
    import pyarrow as pa

    base = to_rows(decode_block(encode_block(_samples(batch, signals, time.time()), "bench")), 1)
    out = []
    for i in range(rows // batch):
        seq = pa.array(range(first_seq + i * batch, first_seq + (i + 1) * batch), pa.uint64())
        out.append(base.set_column(0, "seq", seq))
    return out


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes `pids` have used (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _side_by_side(sink, tables: list, target: str, server_pids: list[int],
                  settings: dict | None = None) -> dict[str, float]:
    """PETRA's inserts and the server's own, interleaved batch by batch so both see the same load.

    The server's: `INSERT INTO target SELECT ... FROM staging` of the same rows per batch into the same
    table (a Memory table on the server: no client, no network, no encoding; what is left is the insert's
    own cost: the table's parts and its rollup view). The copies it makes are not PETRA's rows.
    """
    from petra.storage.clickhouse_sink import COLUMNS, python_columns

    client = sink.connect()
    database = sink.settings.database
    cols = ", ".join(COLUMNS)
    client.execute(f"CREATE TABLE IF NOT EXISTS {database}.staging AS {database}.samples_local ENGINE = Memory"
                   if sink.settings.cluster else
                   f"CREATE TABLE IF NOT EXISTS {database}.staging AS {database}.samples ENGINE = Memory")
    client.execute(f"INSERT INTO {database}.staging ({cols}) VALUES", python_columns(tables[0]), columnar=True)
    petra = server = petra_cpu = petra_server_cpu = server_cpu = 0.0
    for table in tables:
        started, cpu, srv = time.perf_counter(), time.process_time(), _cpu_s(server_pids)
        sink.insert(table)
        petra += time.perf_counter() - started
        petra_cpu += time.process_time() - cpu
        petra_server_cpu += _cpu_s(server_pids) - srv
        started, srv = time.perf_counter(), _cpu_s(server_pids)
        client.execute(f"INSERT INTO {database}.{target} ({cols}) SELECT {cols} FROM {database}.staging",
                       settings=settings)
        server += time.perf_counter() - started
        server_cpu += _cpu_s(server_pids) - srv
    rows = sum(t.num_rows for t in tables)
    return {"native": rows / petra, "ceiling_per_query": rows / server,
            "petra_cpu_us": petra_cpu / rows * 1e6, "petra_server_cpu_us": petra_server_cpu / rows * 1e6,
            "ceiling_server_cpu_us": server_cpu / rows * 1e6}


def _native_stream(port: int, database: str, source: str, target: str, rows: int, batch: int, root: Path,
                   settings: dict | None = None) -> float:
    """clickhouse-client streaming `rows` as Native blocks of `batch` rows in one INSERT: a C++ client's rate."""
    import subprocess

    from petra.storage.clickhouse_sink import COLUMNS

    cols = ", ".join(COLUMNS)
    native = root / f"{database}-{target}.native"
    with open(native, "wb") as out:
        subprocess.run(["clickhouse-client", "--port", str(port), "--max_block_size", str(batch), "--query",
                        f"SELECT {cols} FROM {database}.{source} LIMIT {rows} FORMAT Native"], stdout=out, check=True)
    extra = [f"--{k}={v}" for k, v in (settings or {}).items()]
    started = time.perf_counter()
    with open(native, "rb") as inp:
        subprocess.run(["clickhouse-client", "--port", str(port), "--max_insert_block_size", str(batch), *extra,
                        "--query", f"INSERT INTO {database}.{target} ({cols}) FORMAT Native"], stdin=inp, check=True)
    return rows / (time.perf_counter() - started)


def _tier_catch_up(root: Path, server, rows: int, signals: int, batch: int) -> float:
    """remote:clickhouse in a running plant catching up `rows` samples it could not send while the server was
    stopped: rows/s from its first insert until its cursor reaches the WAL's head (WAL read -> Arrow ->
    native insert -> cursor commit; strategy remote_first, so Parquet only spills and stays idle)."""
    import yaml

    import petra.blocks  # noqa: F401
    from petra.config.loader import load_config_text
    from petra.messages import Change, SignalsChanged
    from petra.runtime import Runtime, RuntimeOptions
    from petra.values import Quality

    data = {"node_id": "bench-tier", "scan_time_ms": 50,
            "signals": [{"name": f"sig{i:05d}", "type": "float"} for i in range(signals)],
            "storage": {"strategy": "remote_first",
                        "remote": {"host": "127.0.0.1", "port": server.tcp_port, "database": "bench_tier",
                                   "batch_size": batch, "fallback_after_seconds": 3600},
                        "local": {"data_dir": str(root / "tier-local")},
                        "wal": {"wal_dir": str(root / "tier-wal"), "sync_on_write": True, "map_size_mb": 1024,
                                "max_map_size_mb": 8192},
                        "history": {"max_interval_ms": 0}},
            "control": {"socket": str(root / "tier-control.sock")}}
    config = load_config_text(yaml.safe_dump(data), "<bench>", env={})
    server.stop()
    runtime = Runtime.from_config(config, RuntimeOptions(metrics_port=None, gc_freeze=False))
    runtime.start()
    try:
        wal = runtime.tree.lookup("petra/storage/wal").proxy()
        names = runtime.plant.table.names
        for r in range(rows // signals):
            now = time.time()
            runtime.plant.bus.publish(SignalsChanged("bench", tuple(
                Change(i, names[i], float(r) + 0.5, Quality.GOOD, now) for i in range(signals))))
            if r % 20 == 19:  # keep the WAL's inbox short: this fills the WAL, it does not measure it
                wal.flush().get(timeout=600)
        head = wal.flush().get(timeout=600)
        while (new := wal.flush().get(timeout=600)) != head:
            head = new
            time.sleep(0.05)
        server.start()
        registry = runtime.plant.metrics.registry

        def written() -> float:
            return registry.get_sample_value("petra_storage_rows_written_total", {"tier": "clickhouse"}) or 0.0

        while written() == 0:
            time.sleep(0.002)
        started, at_start = time.perf_counter(), wal.cursor("clickhouse").get()
        while (cursor := wal.cursor("clickhouse").get()) < head:
            time.sleep(0.005)
        return (cursor - at_start) / (time.perf_counter() - started)
    finally:
        runtime.stop()


def bench_clickhouse(root: Path, rows: int, batch: int, signals: int, tier_rows: int,
                     cluster: bool) -> dict[str, float] | None:
    if not shutil.which("clickhouse-server") and not os.path.exists("/usr/sbin/clickhouse-server"):
        return None
    from petra.storage.clickhouse_sink import COLUMNS, ClickHouseSink, python_columns
    from petra.storage.settings import RemoteSettings
    from tests.peers.clickhouse import ClickHouseServer

    out: dict[str, float] = {}
    server = ClickHouseServer(root / "ch")
    server.start()
    try:
        sink = ClickHouseSink(RemoteSettings(host="127.0.0.1", port=server.tcp_port, database="bench"))
        client = sink.connect()
        assert server.proc is not None
        out.update(_side_by_side(sink, _ch_batches(rows, batch, signals), "samples", [server.proc.pid]))
        assert sink.native
        driver_tables = _ch_batches(max(batch, rows // 5), batch, signals, first_seq=10 * rows)
        query = f"INSERT INTO bench.samples ({', '.join(COLUMNS)}) VALUES"
        started, cpu = time.perf_counter(), time.process_time()
        for table in driver_tables:
            client.execute(query, python_columns(table), columnar=True)
        driver_rows = sum(t.num_rows for t in driver_tables)
        out["driver"] = driver_rows / (time.perf_counter() - started)
        out["driver_cpu_us"] = (time.process_time() - cpu) / driver_rows * 1e6
        out["ceiling_native_stream"] = _native_stream(server.tcp_port, "bench", "samples", "samples", rows, batch,
                                                      root)
        sink.disconnect()
        if tier_rows:
            out["tier"] = _tier_catch_up(root, server, tier_rows, signals, batch)
    finally:
        server.stop()
    if cluster:
        from tests.peers.clickhouse_cluster import ClickHouseCluster

        two = ClickHouseCluster(root / "cluster")
        two.start()
        try:
            host, port = two.hosts[0]
            sink = ClickHouseSink(RemoteSettings(host=host, port=port, database="bench", cluster=two.name))
            sync = {"insert_distributed_sync": 1}
            pids = [shard.proc.pid for shard in two.shards if shard.proc is not None]
            side = _side_by_side(sink, _ch_batches(rows, batch, signals), "samples", pids, settings=sync)
            out.update({f"cluster_{k}": v for k, v in side.items()})
            out["cluster_ceiling_native_stream"] = _native_stream(port, "bench", "samples", "samples", rows, batch,
                                                                  root, settings=sync)
            sink.disconnect()
        finally:
            two.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000)
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--block", type=int, default=10_000, help="samples per group commit (core)")
    parser.add_argument("--runtime-samples", type=int, default=1_000_000)
    parser.add_argument("--clickhouse-rows", type=int, default=1_000_000)
    parser.add_argument("--clickhouse-batch", type=int, default=None,
                        help="rows per insert (default: storage.remote.batch_size's default)")
    parser.add_argument("--tier-rows", type=int, default=1_000_000,
                        help="samples the running ClickHouse tier catches up (0: skip)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the two-shard cluster")
    parser.add_argument("--no-clickhouse", action="store_true")
    parser.add_argument("--only-clickhouse", action="store_true", help="skip the WAL/Parquet measurements")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="petra-bench-history-"))
    try:
        if not args.only_clickhouse:
            wal_and_parquet(root, args)
        if not args.no_clickhouse:
            clickhouse(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def wal_and_parquet(root: Path, args: argparse.Namespace) -> None:
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
    target = 200_000
    best = max(core["durable_parquet_per_s"], 0)
    print(f"target >= {target:,} samples/s durable: core {'MET' if best >= target else 'NOT MET'}, "
          f"runtime {'MET' if rt['durable_parquet_per_s'] >= target else 'NOT MET'}")


def clickhouse(root: Path, args: argparse.Namespace) -> None:
    from petra.storage.settings import RemoteSettings

    batch = args.clickhouse_batch or RemoteSettings.batch_size
    ch = bench_clickhouse(root, args.clickhouse_rows, batch, 1000, args.tier_rows, not args.no_cluster)
    if ch is None:
        print("clickhouse: skipped (no clickhouse-server)")
    else:
        print(f"clickhouse 18.16, {args.clickhouse_rows:,} rows of 1,000 signals, {batch:,} rows per insert:")
        print(f"  PETRA sink, columns from Arrow          {ch['native']:>11,.0f} rows/s"
              f"   (clickhouse-driver row conversion, before: {ch['driver']:,.0f} rows/s)")
        if "tier" in ch:
            print(f"  PETRA tier catching up (WAL -> insert)  {ch['tier']:>11,.0f} rows/s"
                  f"   ({args.tier_rows:,} samples of 1,000 signals)")
        print(f"  server ceiling: INSERT SELECT per batch {ch['ceiling_per_query']:>11,.0f} rows/s"
              f"   clickhouse-client Native stream: {ch['ceiling_native_stream']:,.0f} rows/s")
        if "cluster_native" in ch:
            print(f"  two shards, Distributed, sync insert:   {ch['cluster_native']:>11,.0f} rows/s"
                  f"   ceiling: INSERT SELECT per batch {ch['cluster_ceiling_per_query']:,.0f}, "
                  f"clickhouse-client {ch['cluster_ceiling_native_stream']:,.0f} rows/s")
        print(f"  CPU per row: PETRA's process {ch['petra_cpu_us']:.2f} us (with the driver's row conversion "
              f"{ch['driver_cpu_us']:.2f} us); the server {ch['petra_server_cpu_us']:.2f} us for PETRA's inserts, "
              f"{ch['ceiling_server_cpu_us']:.2f} us for its own INSERT SELECT")
        if "cluster_native" in ch:
            print(f"  cluster CPU per row: PETRA's process {ch['cluster_petra_cpu_us']:.2f} us; both servers "
                  f"{ch['cluster_petra_server_cpu_us']:.2f} us for PETRA's inserts, "
                  f"{ch['cluster_ceiling_server_cpu_us']:.2f} us for their own")
        verdict = "MET" if ch["native"] >= 500_000 else "NOT MET"
        print(f"  target >= 500,000 rows/s per node (sink): {verdict}; load average "
              f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
