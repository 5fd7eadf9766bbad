"""Alarm benchmark: 1,000 alarms on changing signals, in the real runtime.

PETRA runs in this process (loader, supervision tree, signal groups, the pooled
alarm actors, the escalation actor, notifiers, the LMDB store with the
configured `alarms.durability`: "batched" by default, i.e. each transition is
committed to the OS before it is announced and fsynced within 100 ms;
`--durability fsync` fsyncs every group commit before announcing it). A local
Twilio-shaped HTTP server (tests/peers/twilio_server.py) receives the
notifications through the real `twilio` client.

  (a) signal change -> alarm state change: 1,000 float signals, one "above"
      alarm each. Every `--interval-ms` a batch of `--batch` random signals is
      written (one UpdateSignals to the owning group, as a driver poll does),
      each crossing its alarm's limit in one direction or the other. Latency =
      from just before the write to the moment the alarm's transition is durable
      (LMDB commit done) and announced. No contacts: nothing but alarms runs.
  (b) the same at a burst: all 1,000 signals in one batch (a whole plant trips).
  (c) alarm -> first notification request: the same 1,000 alarms, each with a
      one-contact chain (SMS), raised `--notify-rate` per second; latency = from
      the durable transition to the Twilio-shaped server receiving the request.

The floor is measured in the same run, before PETRA starts: an LMDB commit of
one state and one event alone (as the store writes them, and with an fsync),
a pykka tell to an idle actor (one thread hand-off), and the state machine's
evaluate alone. `--hops` adds where (a)'s time goes, hop by hop, from stamps
taken in the methods each hop runs (a few µs of overhead per stamp).

    python benchmarks/alarms.py [--seconds 5] [--batch 10] [--interval-ms 10] [--notify-rate 50]
                                [--durability batched|fsync] [--hops] [--skip-notify]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 1.0
ALARMS = 1000


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


def config(state_dir: Path, twilio_url: str | None, durability: str = "batched") -> dict[str, Any]:
    signals = [{"name": f"x{i}", "type": "float", "initial": 0.0, "group": "bench"} for i in range(ALARMS)]
    alarms = [{"id": f"a{i}", "signal": f"x{i}", "condition": "above", "setpoint": 50.0, "severity": "warning",
               "message_template": "{id} {value}"} for i in range(ALARMS)]
    data: dict[str, Any] = {
        "node_id": "bench", "scan_time_ms": 100, "signals": signals,
        "alarms": {"alarms": alarms, "state_dir": str(state_dir), "notification_cooldown_seconds": 0,
                   "flood": {"threshold": 1_000_000}, "durability": durability},
    }
    if twilio_url is not None:
        from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN

        data["alarms"]["contacts"] = [{"id": "op", "name": "Operator", "phone": "+15550000001",
                                       "escalation_delay_seconds": 3600}]
        data["alarms"]["escalation_chains"] = {a["id"]: ["op"] for a in alarms}
        data["twilio"] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": "+15559999999",
                          "api_base_url": twilio_url}
    return data


HOPS = ("sent", "router", "actor", "submitted", "commit start", "committed", "announced")
HOP_NAMES = {
    "router": "bench write -> router callback (signal group's thread: apply, publish on the bus)",
    "actor": "router callback -> alarm actor handles Evaluate (tell, pool hand-off)",
    "submitted": "Evaluate -> submitted to the store (machine, view, message, event)",
    "commit start": "submitted -> its group commit starts (queue, hand-off to the committing thread)",
    "committed": "commit start -> committed (JSON, LMDB transaction; fsync with durability fsync)",
    "announced": "committed -> announced (the group's callbacks before this one's)",
}


class Hops:
    """Per-alarm stamps (perf_counter) at each hop of (a), taken by wrapping the methods each hop runs."""

    def __init__(self) -> None:
        self.stamps: dict[str, dict[str, float]] = {}
        self.rows: list[dict[str, float]] = []

    def install(self) -> None:
        from petra.alarms.alarm_actor import AlarmActor
        from petra.alarms.messages import Evaluate
        from petra.alarms.router_actor import AlarmRouter
        from petra.alarms.store import AlarmStore

        stamps = self.stamps
        clock = time.perf_counter

        def stamp(alarm: str, hop: str, now: float) -> None:
            entry = stamps.get(alarm)
            if entry is not None and hop not in entry:
                entry[hop] = now

        on_change = AlarmRouter._on_change

        def routed(router: Any, event: Any) -> None:
            now = clock()
            for name in event.names:
                stamp("a" + name[1:], "router", now)
            on_change(router, event)

        on_receive = AlarmActor.on_receive

        def received(actor: Any, message: Any) -> Any:
            if isinstance(message, Evaluate):
                stamp(actor.spec.id, "actor", clock())
            return on_receive(actor, message)

        submit = AlarmStore.submit

        def submitted(store: Any, *args: Any, **records: Any) -> None:
            now = clock()
            for alarm in records.get("states") or ():
                stamp(alarm, "submitted", now)
            submit(store, *args, **records)

        commit = AlarmStore._commit_group

        def committed(store: Any, groups: list[dict[str, Any]]) -> None:
            now = clock()
            alarms = [alarm for records in groups for alarm in (records.get("states") or ())]
            for alarm in alarms:
                stamp(alarm, "commit start", now)
            commit(store, groups)
            now = clock()
            for alarm in alarms:
                stamp(alarm, "committed", now)

        for cls, name, wrapper in ((AlarmRouter, "_on_change", routed), (AlarmActor, "on_receive", received),
                                   (AlarmStore, "submit", submitted), (AlarmStore, "_commit_group", committed)):
            setattr(cls, name, wrapper)

    def sent(self, alarm: str, now: float) -> None:
        self.stamps[alarm] = {"sent": now}

    def announced(self, alarm: str, now: float) -> None:
        entry = self.stamps.pop(alarm, None)
        if entry is not None:
            entry["announced"] = now
            self.rows.append(entry)

    def table(self) -> list[str]:
        complete = [row for row in self.rows if all(hop in row for hop in HOPS)]
        lines = [f"    hops of (a), {len(complete)} of {len(self.rows)} transitions stamped at every hop (µs):",
                 f"    {'hop':<92} {'p50':>7} {'p99':>7}"]
        for before, hop in itertools.pairwise(HOPS):
            spans = [(row[hop] - row[before]) * 1e6 for row in complete]
            lines.append(f"    {HOP_NAMES[hop]:<92} {pct(spans, 50):7.0f} {pct(spans, 99):7.0f}")
        total = [(row["announced"] - row["sent"]) * 1e6 for row in complete]
        lines.append(f"    {'total: bench write -> durable and announced':<92} {pct(total, 50):7.0f} "
                     f"{pct(total, 99):7.0f}")
        return lines


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each live thread of this process, by thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), f"tid {task.name}")
        name = name.rstrip("0123456789").rstrip("-") or name  # pool-alarms-1 and -2 count together
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_table(before: dict[str, float], after: dict[str, float], transitions: int, seconds: float) -> list[str]:
    used = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    lines = [f"    CPU by thread during (a): {sum(used.values()) / seconds * 100:.0f} % of one core in all, "
             f"{sum(used.values()) / max(1, transitions) * 1e6:.0f} µs per transition"]
    for name, spent in sorted(used.items(), key=lambda item: -item[1]):
        if spent > 0:
            per = spent / max(1, transitions) * 1e6
            lines.append(f"      {name:<40} {spent / seconds * 100:5.1f} %  {per:6.0f} µs per transition")
    return lines


def floors(work: Path, n: int = 2000) -> list[str]:
    """What the hops cost alone, in this process, before PETRA starts (µs)."""
    import lmdb
    import pykka

    from petra.alarms.config import AlarmSpec
    from petra.alarms.states import AlarmMachine
    from petra.alarms.store import AlarmStore

    spec = AlarmSpec(id="a0", signal="x0", condition="above", setpoint=50.0)
    machine = AlarmMachine(spec)
    snapshot = machine.snapshot()
    event = {"alarm": "a0", "event": "raised", "state": "active_unacked", "previous": "normal",
             "time": time.time(), "value": 90.0, "who": ""}
    out = []

    store = AlarmStore(work / "floor-store", fsync=False)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        store.write(states={"a0": snapshot}, events=[event])
        samples.append((time.perf_counter() - t0) * 1e6)
    out.append(f"    store.write of one state and one event (JSON, LMDB commit, no fsync): p50 {pct(samples, 50):.0f}, "
               f"p99 {pct(samples, 99):.0f} µs")
    store.close()

    env = lmdb.open(str(work / "floor-lmdb"), map_size=64 << 20, sync=False, metasync=False)
    raw = b"x" * 400
    for label, fsync in (("no fsync", False), ("with fsync", True)):
        samples = []
        for i in range(n if not fsync else n // 10):
            t0 = time.perf_counter()
            with env.begin(write=True) as txn:
                txn.put(b"state", raw)
                txn.put(i.to_bytes(8, "big"), raw)
            if fsync:
                env.sync(True)
            samples.append((time.perf_counter() - t0) * 1e6)
        out.append(f"    LMDB commit of two 400-byte values alone ({label}): p50 {pct(samples, 50):.0f}, "
                   f"p99 {pct(samples, 99):.0f} µs")
    env.close()

    got: list[float] = []
    done = threading.Event()

    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            got.append(time.perf_counter() - message)
            if len(got) >= n // 2:
                done.set()

    ref = Echo.start()
    for _ in range(n // 2):
        ref.tell(time.perf_counter())
        time.sleep(0.001)
    done.wait(10)
    ref.stop()
    out.append(f"    pykka tell to an idle ThreadingActor (one thread hand-off): p50 {pct(got, 50) * 1e6:.0f}, "
               f"p99 {pct(got, 99) * 1e6:.0f} µs")

    samples = []
    now = time.time()
    for i in range(n):
        t0 = time.perf_counter()
        machine.evaluate(90.0 if i % 2 == 0 else 10.0, 50.0, False, now + i)
        samples.append((time.perf_counter() - t0) * 1e6)
    out.append(f"    AlarmMachine.evaluate with a transition, alone: p50 {pct(samples, 50):.0f}, "
               f"p99 {pct(samples, 99):.0f} µs")
    return out


class Bench:
    def __init__(self, data: dict[str, Any], hops: Hops | None = None) -> None:
        from petra.alarms.service import AlarmService
        from petra.runtime import Runtime, RuntimeOptions
        from tests.helpers import plant_config

        started = time.perf_counter()
        self.runtime = Runtime.from_config(plant_config(data), RuntimeOptions(metrics_port=None))
        self.runtime.start()
        self.start_s = time.perf_counter() - started
        service = AlarmService.of(self.runtime.wiring)
        assert service is not None
        self.service = service
        group = self.runtime.tree.lookup("petra/core/signals/bench")  # type: ignore[union-attr]
        assert group is not None
        self.group = group
        self.sent: dict[str, float] = {}
        self.lat: list[float] = []
        self.transition_at: dict[str, float] = {}
        self.done = threading.Condition()
        self.count = 0
        self.hops = hops
        self.service.transition_listeners.append(self._on_transition)

    def _on_transition(self, t: Any) -> None:
        now = time.perf_counter()
        sent = self.sent.pop(t.alarm, None)
        if sent is not None:
            self.lat.append(now - sent)
            if self.hops is not None:
                self.hops.announced(t.alarm, now)
        self.transition_at[t.alarm] = now
        with self.done:
            self.count += 1
            self.done.notify_all()

    def write(self, values: dict[str, float]) -> None:
        from petra.messages import SignalUpdate, UpdateSignals

        now = time.perf_counter()
        for name in values:
            self.sent["a" + name[1:]] = now
            if self.hops is not None:
                self.hops.sent("a" + name[1:], now)
        self.group.tell(UpdateSignals(tuple(SignalUpdate(k, v) for k, v in values.items()), "bench"))

    def wait_count(self, target: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self.done:
            while self.count < target and time.monotonic() < deadline:
                self.done.wait(0.1)

    def stop(self) -> None:
        self.runtime.stop()


def run_steady(bench: Bench, seconds: float, batch: int, interval_s: float) -> tuple[list[float], float]:
    rng = random.Random(1)
    high = [False] * ALARMS
    expected = bench.count
    deadline = time.perf_counter() + seconds
    next_at = time.perf_counter()
    while time.perf_counter() < deadline:
        values = {}
        for i in rng.sample(range(ALARMS), batch):
            high[i] = not high[i]
            values[f"x{i}"] = 90.0 if high[i] else 10.0
        bench.write(values)
        expected += batch
        next_at += interval_s
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    bench.wait_count(expected)
    return list(bench.lat), expected / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--notify-rate", type=float, default=50.0)
    parser.add_argument("--durability", choices=("batched", "fsync"), default="batched",
                        help="alarms.durability for (a) and (b); (c) always runs with the default")
    parser.add_argument("--hops", action="store_true", help="print where (a)'s time goes, hop by hop")
    parser.add_argument("--skip-notify", action="store_true", help="leave out (c)")
    args = parser.parse_args()
    import logging

    from petra.options import RuntimeOptions

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("petra.alarms").setLevel(logging.WARNING)
    from tests.peers.twilio_server import FakeTwilio

    work = Path(tempfile.mkdtemp(prefix="petra-alarm-bench-"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    policy = {"batched": "each transition committed to the OS before it is announced, fsync every 100 ms",
              "fsync": "each group commit fsynced before it is announced"}[args.durability]
    print(f"{ALARMS} alarms, durability {args.durability!r} ({policy}); load average {load}; state in {work}")
    switch = RuntimeOptions().switch_interval_s
    if switch:
        sys.setswitchinterval(switch)  # as the runtime sets it, for the floors too
    print("floor, in this process before PETRA starts:")
    for line in floors(work):
        print(line)

    hops = Hops() if args.hops else None
    if hops is not None:
        hops.install()
    bench = Bench(config(work / "a", None, args.durability), hops)
    try:
        threads = threading.active_count()
        print(f"start-up: {bench.start_s:.2f} s, {threads} threads in the process")
        cpu_before = thread_cpu()
        lat, rate = run_steady(bench, args.seconds, args.batch, args.interval_ms / 1000)
        cpu_after = thread_cpu()
        ms = [x * 1e3 for x in lat]
        print(f"(a) steady {rate:.0f} changes/s ({args.batch} per batch every {args.interval_ms:g} ms), "
              f"{len(ms)} transitions: signal change -> durable alarm state change "
              f"p50 {pct(ms, 50):.3f} ms, p99 {pct(ms, 99):.3f} ms, max {max(ms):.3f} ms "
              f"(target p99 < {TARGET_P99_MS} ms: {'met' if pct(ms, 99) < TARGET_P99_MS else 'NOT met'})")
        if hops is not None:
            for line in hops.table() + cpu_table(cpu_before, cpu_after, len(lat), args.seconds):
                print(line)
            bench.hops = None
        bench.lat.clear()
        before = bench.count
        values = {f"x{i}": 95.0 if bench.service.views[f"a{i}"]["state"] == "normal" else 5.0 for i in range(ALARMS)}
        started = time.perf_counter()
        bench.write(values)
        bench.wait_count(before + ALARMS)
        took = time.perf_counter() - started
        ms = [x * 1e3 for x in bench.lat]
        print(f"(b) burst of {ALARMS} changes in one batch: all transitions durable after {took * 1e3:.1f} ms "
              f"({ALARMS / took:.0f}/s); per-alarm latency p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms")
    finally:
        bench.stop()
    if args.skip_notify:
        return 0

    with FakeTwilio() as twilio:
        bench = Bench(config(work / "c", twilio.base_url))
        try:
            rng = random.Random(2)
            order = rng.sample(range(ALARMS), int(args.notify_rate * args.seconds))
            interval = 1.0 / args.notify_rate
            next_at = time.perf_counter()
            for i in order:
                bench.write({f"x{i}": 99.0})
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            received = twilio.wait_for(len(order), timeout=60)
            notify = []
            for r in received:
                alarm = r.form["Body"].split()[0]
                raised = bench.transition_at.get(alarm)
                if raised is not None:
                    notify.append((r.at - raised) * 1e3)
            print(f"(c) {len(order)} alarms raised at {args.notify_rate:g}/s, each with an SMS contact: "
                  f"alarm -> notification request at the Twilio-shaped server p50 {pct(notify, 50):.2f} ms, "
                  f"p99 {pct(notify, 99):.2f} ms, max {max(notify):.2f} ms")
        finally:
            bench.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
