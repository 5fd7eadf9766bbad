"""MQTT benchmark: Mosquitto's own ceiling, ingest into signals, and in -> GT block -> out latency.

Starts its own Mosquitto (anonymous, max_queued_messages raised) on a free port.
PETRA runs in this process (the real runtime: loader, supervision tree, signal
groups, block chain, MQTT bridge); the load generator and the measuring
subscriber run in child processes, so they do not share PETRA's GIL. Every
paho client sets TCP_NODELAY.

  (a) ceiling: paho publisher -> Mosquitto -> paho subscriber, QoS 0, msg/s.
  (b) ingest: QoS 0 messages on bench/in/<signal> (100 signals) as fast as the
      publisher goes; msg/s = messages written into signals / time from the
      first to the last one arriving in PETRA.
  (c) in -> block -> out: JSON {"seq":..,"data":{"value":+-1}} with value_path
      data.value into signal x; GT(x, 0) -> y (1 ms scan); y published on change;
      latency = subscriber receive - publisher send (CLOCK_MONOTONIC, shared by
      processes). The input alternates sign, so each input flips y once. Two
      inputs inside one scan cancel out (a scan-based PLC samples; it does not
      queue events): such outputs are counted as "coalesced" and then outputs
      are matched to the latest input of the same sign sent before they arrived.
      Then the same flow as fast as possible: input msg/s with no input lost.

    python benchmarks/mqtt.py [--messages 200000] [--latency-seconds 10]
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing as mp
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_INGEST = 20_000.0
TARGET_P99_MS = 1.75
NODE_RED_THROUGHPUT = 28_000.0


def _client(client_id: str = "") -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.max_queued_messages_set(0)
    return client


def publisher(port: int, count: int, rate: float, kind: str, signals: int, out: Any) -> None:
    """Child process: publish `count` QoS 0 messages (rate 0 = flat out); send back send times."""
    client = _client()
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.2)
    sends: list[int] = []
    interval_ns = int(1e9 / rate) if rate else 0
    start = time.monotonic_ns()
    for i in range(count):
        if interval_ns:
            deadline = start + i * interval_ns
            while (now := time.monotonic_ns()) < deadline:
                if deadline - now > 200_000:
                    time.sleep((deadline - now - 150_000) / 1e9)
        if kind == "json":
            payload = json.dumps({"seq": i, "data": {"value": 1.0 if i % 2 == 0 else -1.0}})
            sends.append(time.monotonic_ns())
            client.publish("bench/json", payload, qos=0)
        else:
            client.publish(f"bench/in/s{i % signals}", str(i + 1), qos=0)  # != initial 0
    elapsed = (time.monotonic_ns() - start) / 1e9
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    out.put({"sends": sends, "elapsed": elapsed})


def subscriber(port: int, topic: str, count: int, timeout: float, ready: Any, out: Any, summary: bool) -> None:
    """Child process: collect (receive monotonic ns, payload) until `count` or `timeout` after the last one.

    With `summary` only (first, last, count) go back, as [(first_ns, b""), (last_ns, b""), (count, b"")].
    """
    received: list[tuple[int, bytes]] = []
    client = _client()
    client.on_message = lambda _c, _u, m: received.append((time.monotonic_ns(), m.payload))
    client.on_connect = lambda c, _u, _f, _r, _p: (c.subscribe(topic, qos=0), ready.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    last, seen = time.monotonic(), 0
    while len(received) < count:
        time.sleep(0.05)
        if len(received) != seen:
            last, seen = time.monotonic(), len(received)
        elif time.monotonic() - last > timeout:
            break
    client.disconnect()
    client.loop_stop()
    if summary:
        out.put([(received[0][0], b""), (received[-1][0], b""), (len(received), b"")])
    else:
        out.put(received)


def ceiling(port: int, count: int) -> float:
    ctx = mp.get_context("spawn")
    out_s, out_p, ready = ctx.Queue(), ctx.Queue(), ctx.Event()
    sub = ctx.Process(target=subscriber, args=(port, "bench/in/#", count, 3.0, ready, out_s, True))
    sub.start()
    ready.wait(10)
    pub = ctx.Process(target=publisher, args=(port, count, 0, "plain", 100, out_p))
    pub.start()
    result = out_s.get(timeout=300)
    out_p.get(timeout=60)
    sub.join(), pub.join()
    first, last, (n, _) = result[0][0], result[1][0], result[2]
    print(f"(a) paho -> mosquitto -> paho, QoS 0: {n / ((last - first) / 1e9):,.0f} msg/s ({n:,}/{count:,} delivered)")
    return n / ((last - first) / 1e9)


def start_petra(port: int, signals: int) -> Any:
    import petra.blocks  # noqa: F401
    from petra.config.loader import load_config_text
    from petra.runtime import Runtime, RuntimeOptions

    config = {
        "node_id": "bench", "scan_time_ms": 1,
        "signals": [{"name": f"s{i}", "type": "float"} for i in range(signals)] + [{"name": "x", "type": "float"}],
        "blocks": [{"name": "cmp", "type": "GT", "inputs": {"in1": "x", "in2": 0.0}, "outputs": {"out": "y"}}],
        "mqtt": {
            "broker_host": "127.0.0.1", "broker_port": port, "client_id": "petra-bench", "topic_prefix": "bench/out",
            "qos": 0, "publish_signals": [{"signal": "y", "qos": 0}],
            "subscriptions": [
                {"topic": "bench/in/+", "signal_from_topic_segment": 2, "data_type": "float"},
                {"topic": "bench/json", "signal": "x", "value_path": "data.value", "data_type": "float"},
            ],
        },
    }
    import yaml

    runtime = Runtime.from_config(load_config_text(yaml.safe_dump(config), "bench.yaml", env={}),
                                  RuntimeOptions(metrics_port=None))
    runtime.start()
    registry = runtime.plant.metrics.registry
    deadline = time.monotonic() + 10
    while registry.get_sample_value("petra_driver_connected", {"driver": "mqtt:petra-bench"}) != 1.0:
        if time.monotonic() > deadline:
            raise RuntimeError("PETRA did not connect to the benchmark broker")
        time.sleep(0.01)
    return runtime


def metric(runtime: Any, name: str, labels: dict[str, str]) -> float:
    return runtime.plant.metrics.registry.get_sample_value(name, labels) or 0.0


def ingest(runtime: Any, port: int, count: int, signals: int) -> float:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    before = metric(runtime, "petra_signal_updates_total", {"group": "default"})
    pub = ctx.Process(target=publisher, args=(port, count, 0, "plain", signals, out))
    pub.start()
    first = last = None
    seen = before
    while True:
        now = metric(runtime, "petra_signal_updates_total", {"group": "default"})
        t = time.perf_counter()
        if now > seen:
            if first is None:
                first = t
            last, seen = t, now
        elif first is not None and t - last > 2.0:
            break
        if now - before >= count:
            break
        time.sleep(0.002)
    sent = out.get(timeout=60)
    pub.join()
    written = seen - before
    rate = written / (last - first) if first and last and last > first else 0.0
    print(f"(b) Mosquitto -> PETRA signals: {rate:,.0f} msg/s ({written:,.0f}/{count:,} written; publisher ran "
          f"{count / sent['elapsed']:,.0f} msg/s) target >= {TARGET_INGEST:,.0f}: "
          f"{'met' if rate >= TARGET_INGEST else 'MISSED'}")
    return rate


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def flow(runtime: Any, port: int, count: int, rate: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out_s, out_p, ready = ctx.Queue(), ctx.Queue(), ctx.Event()
    in_before = metric(runtime, "petra_driver_messages_in_total", {"driver": "mqtt:petra-bench"})
    sub = ctx.Process(target=subscriber, args=(port, "bench/out/y", count, 2.0, ready, out_s, False))
    sub.start()
    ready.wait(10)
    time.sleep(0.2)
    pub = ctx.Process(target=publisher, args=(port, count, rate, "json", 0, out_p))
    pub.start()
    sent = out_p.get(timeout=300)
    received = out_s.get(timeout=300)
    pub.join(), sub.join()
    ingested = metric(runtime, "petra_driver_messages_in_total", {"driver": "mqtt:petra-bench"}) - in_before
    sends = sent["sends"]
    latencies: list[float] = []
    exact = len(received) == len(sends)
    signs = [i % 2 == 0 for i in range(len(sends))]
    for k, (t_recv, payload) in enumerate(received):
        value = json.loads(payload)["value"]
        if exact:
            latencies.append((t_recv - sends[k]) / 1e6)
            continue
        j = bisect.bisect_right(sends, t_recv) - 1
        while j >= 0 and signs[j] != value:
            j -= 1
        if j >= 0:
            latencies.append((t_recv - sends[j]) / 1e6)
    return {"sent": len(sends), "outputs": len(received), "ingested": ingested, "elapsed": sent["elapsed"],
            "exact": exact, "latencies": latencies}


def rss_mb() -> tuple[float, float]:
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    args = parser.parse_args()
    from tests.peers.mosquitto import Mosquitto

    broker = Mosquitto(auth=False, max_queued_messages=1_000_000).start()
    runtime = None
    try:
        top = ceiling(broker.port, args.messages)
        runtime = start_petra(broker.port, 100)
        got = ingest(runtime, broker.port, args.messages, 100)
        print(f"    ratio to the paho ceiling: {got / top:.0%}")
        steady = flow(runtime, broker.port, int(1000 * args.latency_seconds), 1000.0)
        lat = steady["latencies"]
        p50, p99, worst = pct(lat, 0.5), pct(lat, 0.99), max(lat)
        print(f"(c) in -> GT -> out at 1,000 msg/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms "
              f"(target p99 < {TARGET_P99_MS} ms: {'met' if p99 < TARGET_P99_MS else 'MISSED'}); "
              f"{steady['sent']:,} in, {steady['ingested']:,.0f} ingested, {steady['outputs']:,} out "
              f"({steady['sent'] - steady['outputs']:,} coalesced within a scan; matching "
              f"{'exact' if steady['exact'] else 'by latest same-sign input'})")
        burst = flow(runtime, broker.port, args.messages // 2, 0)
        lost = burst["sent"] - burst["ingested"]
        rate = burst["ingested"] / burst["elapsed"]
        print(f"    as fast as possible: {burst['sent']:,} in over {burst['elapsed']:.2f} s = {rate:,.0f} msg/s "
              f"offered, {lost:,.0f} lost before the signal, {burst['outputs']:,} output changes published "
              f"(Node-RED: {NODE_RED_THROUGHPUT:,.0f} msg/s)")
        current, peak = rss_mb()
        print(f"RSS of the PETRA process: {current:.0f} MB now, {peak:.0f} MB peak (Node-RED: 90-140 MB)")
    finally:
        if runtime is not None:
            runtime.stop()
        broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
