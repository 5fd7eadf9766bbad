"""Alarm benchmark: 1,000 alarms on changing signals, in the real runtime.

PETRA runs in this process (loader, supervision tree, signal groups, the pooled
alarm actors, the escalation actor, notifiers, LMDB with fsync on every
transition). A local Twilio-shaped HTTP server (tests/peers/twilio_server.py)
receives the notifications through the real `twilio` client.

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

    python benchmarks/alarms.py [--seconds 5] [--batch 10] [--interval-ms 10] [--notify-rate 50]
"""

from __future__ import annotations

import argparse
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


def config(state_dir: Path, twilio_url: str | None) -> dict[str, Any]:
    signals = [{"name": f"x{i}", "type": "float", "initial": 0.0, "group": "bench"} for i in range(ALARMS)]
    alarms = [{"id": f"a{i}", "signal": f"x{i}", "condition": "above", "setpoint": 50.0, "severity": "warning",
               "message_template": "{id} {value}"} for i in range(ALARMS)]
    data: dict[str, Any] = {
        "node_id": "bench", "scan_time_ms": 100, "signals": signals,
        "alarms": {"alarms": alarms, "state_dir": str(state_dir), "notification_cooldown_seconds": 0,
                   "flood": {"threshold": 1_000_000}},
    }
    if twilio_url is not None:
        from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN

        data["alarms"]["contacts"] = [{"id": "op", "name": "Operator", "phone": "+15550000001",
                                       "escalation_delay_seconds": 3600}]
        data["alarms"]["escalation_chains"] = {a["id"]: ["op"] for a in alarms}
        data["twilio"] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": "+15559999999",
                          "api_base_url": twilio_url}
    return data


class Bench:
    def __init__(self, data: dict[str, Any]) -> None:
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
        self.group = self.runtime.tree.lookup("petra/core/signals/bench")  # type: ignore[union-attr]
        self.sent: dict[str, float] = {}
        self.lat: list[float] = []
        self.transition_at: dict[str, float] = {}
        self.done = threading.Condition()
        self.count = 0
        self.service.transition_listeners.append(self._on_transition)

    def _on_transition(self, t: Any) -> None:
        now = time.perf_counter()
        sent = self.sent.pop(t.alarm, None)
        if sent is not None:
            self.lat.append(now - sent)
        self.transition_at[t.alarm] = now
        with self.done:
            self.count += 1
            self.done.notify_all()

    def write(self, values: dict[str, float]) -> None:
        from petra.messages import SignalUpdate, UpdateSignals

        now = time.perf_counter()
        for name in values:
            self.sent["a" + name[1:]] = now
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
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("petra.alarms").setLevel(logging.WARNING)
    from tests.peers.twilio_server import FakeTwilio

    work = Path(tempfile.mkdtemp(prefix="petra-alarm-bench-"))
    print(f"{ALARMS} alarms, durability 'batched' (group commits, fsync every 100 ms), state in {work}")

    bench = Bench(config(work / "a", None))
    try:
        threads = threading.active_count()
        print(f"start-up: {bench.start_s:.2f} s, {threads} threads in the process")
        lat, rate = run_steady(bench, args.seconds, args.batch, args.interval_ms / 1000)
        ms = [x * 1e3 for x in lat]
        print(f"(a) steady {rate:.0f} changes/s ({args.batch} per batch every {args.interval_ms:g} ms), "
              f"{len(ms)} transitions: signal change -> durable alarm state change "
              f"p50 {pct(ms, 50):.3f} ms, p99 {pct(ms, 99):.3f} ms, max {max(ms):.3f} ms "
              f"(target p99 < {TARGET_P99_MS} ms: {'met' if pct(ms, 99) < TARGET_P99_MS else 'NOT met'})")
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
