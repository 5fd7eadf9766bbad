"""Scan benchmark: 10,000 signals and 10,000 blocks at a 50 ms scan.

Generates the configuration, runs the real runtime (config loader, compiler,
supervision tree, clock and block-chain actors) in a fresh child process for a
fixed time and prints tick lateness p50/p99/max, scan work p50/p99, overruns
and peak RSS. In the same run it measures the floor: a bare Python loop in its
own process sleeping to the same absolute deadlines for the same duration.

    python benchmarks/scan.py [--seconds 30] [--scan-ms 50] [--chains 100]
                              [--with-history] [--with-drivers] [--with-alarms N]

--with-history records every signal on change through the WAL (fsync) into
Parquet zstd while the scan runs; --with-drivers polls the plant simulator's
S7 PLC and Modbus device (run in the benchmark's own process, as a remote PLC
would be) from the same PETRA.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET_WORK_P99_MS = 10.0
TARGET_RSS_MB = 256.0

# One chain's template: every block writes one new signal; 100 blocks per chain.
_PATTERN = [
    ("DATA_GENERATOR", {"enable": "{enable}"}, {"sine_out": "s"}, {"frequency": 0.5, "amplitude": 10.0}),
    ("ADD", {"in1": "{prev}", "in2": "1.5"}, {"out": "s"}, {}),
    ("MUL", {"in1": "{prev}", "in2": "0.9"}, {"out": "s"}, {}),
    ("GT", {"in1": "{prev}", "in2": "2.0"}, {"out": "b"}, {}),
    ("AND", {"in1": "{prevb}", "in2": "{enable}"}, {"out": "b"}, {}),
    ("TON", {"in": "{prevb}"}, {"q": "b"}, {"preset_ms": 200}),
    ("LIMIT", {"mn": "-5.0", "in": "{prev}", "mx": "5.0"}, {"out": "s"}, {}),
    ("SCALE", {"in": "{prev}"}, {"out": "s"}, {"in_min": -5, "in_max": 5, "out_min": 0, "out_max": 100}),
    ("SUB", {"in1": "{prev}", "in2": "50.0"}, {"out": "s"}, {}),
    ("MOVING_AVERAGE", {"in": "{prev}"}, {"out": "s"}, {"window": 10}),
]


def generate(chains: int, blocks_per_chain: int) -> dict:
    """A plant of `chains` independent chains, `blocks_per_chain` blocks each."""
    signals = [{"name": "enable", "type": "bool", "initial": True}]
    blocks = []
    for c in range(chains):
        prev = prevb = None
        for i in range(blocks_per_chain):
            # The generator starts the chain; every later block reads an earlier
            # output, so each chain is one connected component.
            kind, inputs, outputs, params = _PATTERN[0] if i == 0 else _PATTERN[1 + (i - 1) % (len(_PATTERN) - 1)]
            out_names = {}
            for port, flavour in outputs.items():
                out_names[port] = f"c{c}_{flavour}{i}"
            fill = {"enable": "enable", "prev": prev or "1.0", "prevb": prevb or "true"}
            block: dict[str, object] = {
                "name": f"c{c}_b{i}",
                "type": kind,
                "inputs": {p: v.format(**fill) for p, v in inputs.items()},
                "outputs": out_names,
            }
            if params:
                block["params"] = params
            blocks.append(block)
            for port, name in out_names.items():
                if outputs[port] == "s":
                    prev = name
                else:
                    prevb = name
    # Top the signal count up to 10,000 with declared set-points nothing writes.
    declared = 10_000 - len(blocks) - 1
    signals.extend({"name": f"sp{i}", "type": "float", "initial": float(i)} for i in range(max(0, declared)))
    return {"node_id": "bench", "scan_time_ms": 50, "signals": signals, "blocks": blocks}


def history_section(tmp: Path) -> dict:
    """`storage:` recording every change through the WAL (fsync on write) into Parquet zstd under `tmp`."""
    return {
        "strategy": "local_first",
        "local": {"data_dir": str(tmp / "history"), "compression": "zstd", "flush_interval_seconds": 5},
        "wal": {"wal_dir": str(tmp / "wal"), "sync_on_write": True},
    }


def bare_loop(period: float, seconds: float, queue: mp.Queue) -> None:
    """The floor: what a Python process sleeping to absolute deadlines achieves here."""
    lateness = []
    deadline = time.monotonic() + period
    end = deadline + seconds
    while deadline < end:
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        lateness.append(time.monotonic() - deadline)
        deadline += period
    queue.put(lateness)


def run_petra(config_path: str, scan_ms: int, seconds: float, gc_freeze: bool, switch: float | None,
              queue: mp.Queue, gc_between_scans: bool = True) -> None:
    """The real runtime in a fresh process; reports samples and peak RSS."""
    import logging

    from petra.commands.common import load_or_report
    from petra.runtime import Runtime, RuntimeOptions

    logging.basicConfig(level=logging.WARNING)
    t0 = time.monotonic()
    loaded = load_or_report(config_path, [])
    if loaded is None:
        queue.put({"error": "config did not load"})
        return
    config, _ = loaded
    load_s = time.monotonic() - t0
    options = RuntimeOptions(scan_time_ms=scan_ms, metrics_port=None, gc_freeze=gc_freeze,
                             gc_between_scans=gc_between_scans,
                             switch_interval_s=switch)
    runtime = Runtime.from_config(config, options)
    t1 = time.monotonic()
    runtime.start()
    start_s = time.monotonic() - t1
    time.sleep(2.0)  # warm-up: first scans compile caches, fill windows
    stats = runtime.plant.stats
    registry = runtime.plant.metrics.registry
    samples0 = registry.get_sample_value("petra_wal_samples_total") or 0.0
    rows0 = registry.get_sample_value("petra_storage_rows_written_total", {"tier": "parquet"}) or 0.0
    skip_late = len(stats.lateness_samples())
    skip_work = len(stats.work_samples())
    overruns0 = stats.overruns
    time.sleep(seconds)
    late = stats.lateness_samples()[skip_late:]
    work = stats.work_samples()[skip_work:]
    overruns = stats.overruns - overruns0
    acked = (registry.get_sample_value("petra_wal_samples_total") or 0.0) - samples0
    parquet = (registry.get_sample_value("petra_storage_rows_written_total", {"tier": "parquet"}) or 0.0) - rows0
    threads = __import__("threading").active_count()
    runtime.stop(timeout=20)
    queue.put({
        "lateness": late, "work": work, "overruns": overruns, "rss_mb": _peak_rss_mb(),
        "load_s": load_s, "start_s": start_s, "chains": len(runtime.plant.chains),
        "signals": len(runtime.plant.table), "blocks": len(config.blocks), "threads": threads,
        "wal_samples_per_s": acked / seconds, "parquet_rows_per_s": parquet / seconds,
    })


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--scan-ms", type=int, default=50)
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--no-gc-freeze", action="store_true")
    parser.add_argument("--gc-in-scans", action="store_true", help="collections whenever Python starts them, as "
                        "`petra run --gc-in-scans` (by default they run between scans)")
    parser.add_argument("--switch-interval", type=float, default=0.0005,
                        help="sys.setswitchinterval for the runtime (0 keeps Python's 5 ms)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    parser.add_argument("--with-history", action="store_true", help="record every change to WAL + Parquet")
    parser.add_argument("--with-drivers", action="store_true", help="poll the plant simulator over S7 and Modbus")
    parser.add_argument("--with-alarms", type=int, default=0, metavar="N",
                        help="N alarms (ISA-18.2, durable state) on the plant's changing signals")
    parser.add_argument("--alarm-setpoint", type=float, default=100.0,
                        help="'above' limit of those alarms: 100 (default) is never reached, so the alarms "
                             "watch quietly; 1.0 makes every one raise and clear about once a second")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    simulator = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        plant = generate(args.chains, args.blocks // args.chains)
        plant["control"] = {"socket": str(Path(tmp) / "control.sock")}
        if args.with_history:
            plant["storage"] = history_section(Path(tmp))
        if args.with_alarms:
            floats = [b["outputs"]["out"] for b in plant["blocks"] if b["type"] in ("ADD", "MUL", "SUB")]
            plant["alarms"] = {
                "state_dir": str(Path(tmp) / "alarms"),
                "alarms": [{"id": f"a{i}", "name": f"alarm {i}", "signal": name, "condition": "above",
                            "setpoint": args.alarm_setpoint, "deadband": 0.1, "severity": "warning"}
                           for i, name in enumerate(floats[:args.with_alarms])],
            }
        if args.with_drivers:
            from petra.simulator import Simulator

            simulator = Simulator().start()
            extra = yaml.safe_load(simulator.config_snippet(poll_interval_ms=50))
            plant["signals"].extend(extra.get("signals", []))
            plant["blocks"].extend(extra.get("blocks", []))
            plant["s7"], plant["modbus"] = extra["s7"], extra["modbus"]
        path.write_text(yaml.safe_dump(plant, sort_keys=False))

        q: mp.Queue = ctx.Queue()
        floor_proc = ctx.Process(target=bare_loop, args=(args.scan_ms / 1000, args.seconds, q))
        floor_proc.start()
        floor = q.get()
        floor_proc.join()

        petra_proc = ctx.Process(
            target=run_petra,
            args=(str(path), args.scan_ms, args.seconds, not args.no_gc_freeze, args.switch_interval or None, q,
                  not args.gc_in_scans),
        )
        petra_proc.start()
        result = q.get()
        petra_proc.join()
    if simulator is not None:
        simulator.stop()
    if "error" in result:
        print(result["error"], file=sys.stderr)
        return 1

    late, work = result["lateness"], result["work"]
    report = {
        "signals": result["signals"], "blocks": result["blocks"], "chains": result["chains"],
        "scan_ms": args.scan_ms, "seconds": args.seconds, "ticks": len(late),
        "config_load_s": round(result["load_s"], 2), "tree_start_s": round(result["start_s"], 2),
        "floor_lateness_ms": {"p50": _pct(floor, 0.5), "p99": _pct(floor, 0.99), "max": max(floor) * 1e3},
        "petra_lateness_ms": {"p50": _pct(late, 0.5), "p99": _pct(late, 0.99), "max": max(late) * 1e3},
        "scan_work_ms": {"p50": _pct(work, 0.5), "p99": _pct(work, 0.99), "max": max(work) * 1e3},
        "overruns": result["overruns"], "peak_rss_mb": round(result["rss_mb"], 1), "threads": result["threads"],
    }
    fl, pl, sw = report["floor_lateness_ms"], report["petra_lateness_ms"], report["scan_work_ms"]
    checks = {
        "lateness p99 within 0.5 ms of floor": pl["p99"] <= fl["p99"] + 0.5,
        "lateness max within 2 ms of floor": pl["max"] <= fl["max"] + 2.0,
        "lateness p99 < 1 ms (floor p99 < 0.5 ms)": fl["p99"] >= 0.5 or pl["p99"] < 1.0,
        f"scan work p99 < {TARGET_WORK_P99_MS} ms": sw["p99"] < TARGET_WORK_P99_MS,
        f"peak RSS < {TARGET_RSS_MB} MB": report["peak_rss_mb"] < TARGET_RSS_MB,
    }
    load = [name for name, on in (("history", args.with_history), ("drivers", args.with_drivers),
                                  (f"{args.with_alarms} alarms", args.with_alarms)) if on]
    print(f"PETRA scan benchmark: {report['signals']} signals, {report['blocks']} blocks in "
          f"{report['chains']} chains, {args.scan_ms} ms scan, {args.seconds:.0f} s ({len(late)} ticks)"
          + (f", with {' and '.join(load)} running" if load else ""))
    print(f"  config load {report['config_load_s']} s, tree start {report['tree_start_s']} s, "
          f"threads {report['threads']}")
    print(f"  bare loop lateness  p50 {fl['p50']:.3f}  p99 {fl['p99']:.3f}  max {fl['max']:.3f} ms")
    print(f"  petra tick lateness p50 {pl['p50']:.3f}  p99 {pl['p99']:.3f}  max {pl['max']:.3f} ms")
    print(f"  scan work           p50 {sw['p50']:.3f}  p99 {sw['p99']:.3f}  max {sw['max']:.3f} ms")
    print(f"  overruns {report['overruns']}, peak RSS {report['peak_rss_mb']} MB")
    if args.with_history:
        print(f"  history: {result['wal_samples_per_s']:,.0f} samples/s acknowledged by the WAL (fsync), "
              f"{result['parquet_rows_per_s']:,.0f} rows/s written to Parquet zstd")
    for name, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    if args.json:
        print(json.dumps(report))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
