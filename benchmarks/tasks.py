"""Tasks benchmark: an event task's reaction to a change, and two cyclic tasks' lateness, each beside its floor.

    python benchmarks/tasks.py [--changes 1000] [--rate 500] [--seconds 10]

1. Event path: a signal group takes a write (as a driver's is delivered), the
   event task triggered by it runs a GT and a MOVE, and a ChangeBus listener
   stamps the chain's output: write -> output latency p50/p99/max, and how many
   writes got their own run (the rest were coalesced, counted). Beside it, in
   the same run: the same chain in the main task at a 100 ms scan (what the
   change waited for before tasks), and the floor: one hand-off from this
   thread to another through a queue (the least any path through a second
   thread costs in this Python).
2. Cyclic tasks: a plant with a 5 ms task (priority 1, 10 small chains) and a
   50 ms main task (10 chains) for `--seconds`: each task's tick lateness
   p50/p99/max from its own statistics and its chain overruns (a chain still
   busy at its task's next tick), beside a bare Python loop sleeping to 5 ms
   absolute deadlines in its own process (the floor).

Each part runs PETRA in a fresh process. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from scan import bare_loop  # the floor of benchmarks/scan.py: a bare loop sleeping to absolute deadlines


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3 if ordered else float("nan")


def _row(label: str, samples: list[float], extra: str = "") -> str:
    return (f"  {label:<34} p50 {_pct(samples, 0.5):8.3f}  p99 {_pct(samples, 0.99):8.3f}  "
            f"max {max(samples, default=0.0) * 1e3:8.3f} ms{extra}")


def _runtime(config: dict[str, Any], tmp: str) -> Any:
    import yaml

    from petra.config.loader import load_config_text
    from petra.runtime import Runtime, RuntimeOptions

    loaded = load_config_text(yaml.safe_dump(config, sort_keys=False), "bench.yaml", env={})
    options = RuntimeOptions(metrics_port=None, gc_freeze=True, control_socket=Path(tmp) / "control.sock")
    return Runtime.from_config(loaded, options)


def event_path(event: bool, changes: int, rate: float, out: mp.Queue) -> None:
    """Write `changes` values at `rate`/s and stamp the chain's output for each."""
    from petra.messages import SignalUpdate, UpdateSignals

    config: dict[str, Any] = {
        "scan_time_ms": 100, "signals": [{"name": "cmd", "type": "int"}],
        "blocks": [{"name": "gt", "type": "GT", "inputs": {"in1": "cmd", "in2": "75"}, "outputs": {"out": "high"}},
                   {"name": "copy", "type": "MOVE", "inputs": {"in": "cmd"}, "outputs": {"out": "copied"}}],
    }
    if event:
        config["tasks"] = [{"name": "on_cmd", "trigger": ["cmd"]}]
        for block in config["blocks"]:
            block["task"] = "on_cmd"
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _runtime(config, tmp)
        runtime.start()
        plant = runtime.plant
        slot = plant.table.slot("copied")
        seen: dict[Any, float] = {}
        done = threading.Event()

        def listen(change: Any) -> None:
            if slot in change.slots:
                value = change.values[change.slots.index(slot)]
                seen[value] = time.perf_counter()
                if value == changes:
                    done.set()

        plant.bus.subscribe(listen)
        group = runtime.tree.lookup("petra/core/signals/default")
        time.sleep(0.5)
        sent: dict[int, float] = {}
        period, next_at = 1.0 / rate, time.perf_counter()
        for value in range(1, changes + 1):
            next_at += period
            while time.perf_counter() < next_at:
                time.sleep(max(0.0, next_at - time.perf_counter() - 0.0002))
            sent[value] = time.perf_counter()
            group.tell(UpdateSignals((SignalUpdate("cmd", value),), "bench"))
        done.wait(10)
        coalesced = plant.tasks["on_cmd"].coalesced if event else 0
        runtime.stop(timeout=20)
    out.put({"latency": [seen[v] - sent[v] for v in sent if v in seen], "own_runs": len(seen), "coalesced": coalesced})


def handoff_floor(changes: int, rate: float) -> list[float]:
    """One queue hand-off to another thread, at the same rate: the floor of any cross-thread path."""
    box: queue.SimpleQueue[float] = queue.SimpleQueue()
    samples: list[float] = []

    def consume() -> None:
        for _ in range(changes):
            sent = box.get()
            samples.append(time.perf_counter() - sent)

    worker = threading.Thread(target=consume)
    worker.start()
    period, next_at = 1.0 / rate, time.perf_counter()
    for _ in range(changes):
        next_at += period
        while time.perf_counter() < next_at:
            time.sleep(max(0.0, next_at - time.perf_counter() - 0.0002))
        box.put(time.perf_counter())
    worker.join()
    return samples


def cyclic(seconds: float, out: mp.Queue) -> None:
    """A 5 ms task and the 50 ms main task, 10 chains each; each task's lateness after a warm-up."""
    blocks = []
    for task, count in (("fast", 10), ("main", 10)):
        for i in range(count):
            blocks.append({"name": f"{task}_gen{i}", "type": "DATA_GENERATOR", "task": task,
                           "inputs": {"enable": "enable"}, "outputs": {"sine_out": f"{task}_s{i}"}})
            blocks.append({"name": f"{task}_gt{i}", "type": "GT", "task": task,
                           "inputs": {"in1": f"{task}_s{i}", "in2": "0.5"}, "outputs": {"out": f"{task}_b{i}"}})
    config = {"scan_time_ms": 50, "signals": [{"name": "enable", "type": "bool", "initial": True}],
              "tasks": [{"name": "fast", "interval_ms": 5, "priority": 1}], "blocks": blocks}
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _runtime(config, tmp)
        runtime.start()
        time.sleep(1.0)
        tasks = runtime.plant.tasks
        skip = {name: len(run.stats.lateness_samples()) for name, run in tasks.items()}
        over = {name: run.stats.overruns for name, run in tasks.items()}
        time.sleep(seconds)
        result = {name: {"lateness": run.stats.lateness_samples()[skip[name]:],
                         "overruns": run.stats.overruns - over[name]} for name, run in tasks.items()}
        runtime.stop(timeout=20)
    out.put(result)


def _in_process(target: Any, *args: Any) -> Any:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="writes per second on the event path")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the cyclic part")
    args = parser.parse_args()

    print(f"PETRA tasks benchmark: event path {args.changes} writes at {args.rate:g}/s; cyclic tasks "
          f"{args.seconds:g} s")
    floor = handoff_floor(args.changes, args.rate)
    event = _in_process(event_path, True, args.changes, args.rate)
    scan = _in_process(event_path, False, min(args.changes, 70), 7.0)  # not a divisor of the scan: any phase
    print("write -> chain output")
    print(_row("floor: one thread hand-off", floor))
    print(_row("event task", event["latency"], f"  own runs {event['own_runs']}/{args.changes}, "
               f"coalesced {event['coalesced']}"))
    print(_row("main task, 100 ms scan (7 writes/s)", scan["latency"]))
    bare = _in_process(bare_loop, 0.005, args.seconds)
    tasks = _in_process(cyclic, args.seconds)
    print("tick lateness per task")
    print(_row("floor: bare loop at 5 ms", bare))
    for name, found in tasks.items():
        print(_row(f"task {name}", found["lateness"], f"  chain overruns {found['overruns']}, "
                   f"ticks {len(found['lateness'])}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
