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
  (floor) the same JSON messages at 1,000 msg/s from the paho publisher to the
      paho subscriber through Mosquitto alone: the round trip PETRA adds to.
  (c) in -> block -> out: JSON {"seq":..,"data":{"value":+-1}} with value_path
      data.value into signal x; GT(x, 0) -> y (1 ms scan); y published on change;
      latency = subscriber receive - publisher send (CLOCK_MONOTONIC, shared by
      processes). The input alternates sign, so each input flips y once. Two
      inputs inside one scan cancel out (a scan-based PLC samples; it does not
      queue events): such outputs are counted as "coalesced" and then outputs
      are matched to the latest input of the same sign sent before they arrived.
      Then the same flow as fast as possible: input msg/s with no input lost.
  (d) the same with an event task: x2 (from bench/json2) triggers task on_x2,
      whose chain GT(x2, 0) -> y2 runs when x2 changes, not on a scan tick, and
      y2 is published at once. `--hops` stamps each hop of (d) (CLOCK_MONOTONIC,
      shared with the publisher's and subscriber's processes) by wrapping the
      methods each one runs, and prints where the time goes.

    python benchmarks/mqtt.py [--messages 200000] [--latency-seconds 10] [--hops] [--only ingest|latency]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
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


def publisher(port: int, count: int, rate: float, kind: str, signals: int, out: Any,
              topic: str = "bench/json") -> None:
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
            client.publish(topic, payload, qos=0)
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


def start_petra(port: int, signals: int, event_task: bool, scan_ms: int = 1) -> Any:
    import petra.blocks  # noqa: F401
    from petra.config.loader import load_config_text
    from petra.runtime import Runtime, RuntimeOptions

    config: dict[str, Any] = {
        "node_id": "bench", "scan_time_ms": scan_ms,
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
    if event_task:
        config["signals"].append({"name": "x2", "type": "float"})
        config["tasks"] = [{"name": "on_x2", "trigger": ["x2"]}]
        config["blocks"].append({"name": "cmp_event", "type": "GT", "task": "on_x2",
                                 "inputs": {"in1": "x2", "in2": 0.0}, "outputs": {"out": "y2"}})
        config["mqtt"]["publish_signals"].append({"signal": "y2", "qos": 0})
        config["mqtt"]["subscriptions"].append(
            {"topic": "bench/json2", "signal": "x2", "value_path": "data.value", "data_type": "float"})
    import tempfile

    import yaml

    control = Path(tempfile.mkdtemp(prefix="petra-bench-mqtt-")) / "control.sock"  # beside any other PETRA
    runtime = Runtime.from_config(load_config_text(yaml.safe_dump(config), "bench.yaml", env={}),
                                  RuntimeOptions(metrics_port=None, control_socket=control))
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
        time.sleep(0.02)  # the poll takes the GIL from PETRA: seldom, first and last stamps within 20 ms
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


def flow(runtime: Any, port: int, count: int, rate: float, topic_in: str = "bench/json",
         topic_out: str = "bench/out/y") -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out_s, out_p, ready = ctx.Queue(), ctx.Queue(), ctx.Event()
    in_before = metric(runtime, "petra_driver_messages_in_total", {"driver": "mqtt:petra-bench"}) if runtime else 0
    sub = ctx.Process(target=subscriber, args=(port, topic_out, count, 2.0, ready, out_s, False))
    sub.start()
    ready.wait(10)
    time.sleep(0.2)
    pub = ctx.Process(target=publisher, args=(port, count, rate, "json", 0, out_p, topic_in))
    pub.start()
    sent = out_p.get(timeout=300)
    received = out_s.get(timeout=300)
    pub.join(), sub.join()
    ingested = (metric(runtime, "petra_driver_messages_in_total", {"driver": "mqtt:petra-bench"}) - in_before
                if runtime else 0)
    sends = sent["sends"]
    latencies: list[float] = []
    exact = len(received) == len(sends)
    signs = [i % 2 == 0 for i in range(len(sends))]
    for k, (t_recv, payload) in enumerate(received):
        document = json.loads(payload)
        value = document["value"] if "value" in document else document["data"]["value"] > 0
        if exact:
            latencies.append((t_recv - sends[k]) / 1e6)
            continue
        j = bisect.bisect_right(sends, t_recv) - 1
        while j >= 0 and signs[j] != value:
            j -= 1
        if j >= 0:
            latencies.append((t_recv - sends[j]) / 1e6)
    return {"sent": len(sends), "outputs": len(received), "ingested": ingested, "elapsed": sent["elapsed"],
            "exact": exact, "latencies": latencies, "sends": sends, "received": [t for t, _ in received]}


HOPS = ("sent", "paho", "group", "chain", "bridge", "publish", "socket", "received")
HOP_NAMES = {
    "paho": "publisher send -> PETRA's paho on_message (Mosquitto, kernel, paho's read and parse)",
    "group": "on_message -> signal group applies x2 (routing, decode, hand-off to the group's thread)",
    "chain": "group applies -> event task's chain starts (bus, event task, hand-off to the pool worker)",
    "bridge": "chain starts -> the bridge hears y2 changed (scan, bus publish)",
    "publish": "bridge hears it -> paho publish called (deadband, encode; hand-off if the bridge queues it)",
    "socket": "publish -> the packet's send() starts (in this thread, or paho's after a hand-off)",
    "received": "send() -> subscriber's on_message (kernel, Mosquitto, the subscriber's paho)",
}


class Hops:
    """Stamps (monotonic ns) of each hop of (d), keyed by the seq of the message being handled.

    At 1,000 msg/s a message is through PETRA long before the next arrives, so each hop stamps the
    latest seq the bridge received (the first stamp of a hop for a seq counts).
    """

    def __init__(self) -> None:
        self.stamps: dict[int, dict[str, int]] = {}
        self.latest = -1

    def install(self) -> None:
        """Wrap the hops' methods; before PETRA starts (the bridge binds its callbacks when it starts)."""
        import paho.mqtt.client as mqtt

        from petra.actors.block_chain import BlockChainActor
        from petra.actors.signal_group import SignalGroupActor
        from petra.drivers.mqtt.actor import MqttBridgeActor

        clock = time.monotonic_ns
        hops = self
        y2_slot: list[int] = []

        def is_y2(slots: Any) -> bool:
            if not y2_slot:
                if hops.runtime is None:
                    return False
                y2_slot.append(hops.runtime.plant.table.index["y2"])
            return y2_slot[0] in slots

        def stamp(hop: str) -> None:
            entry = hops.stamps.get(hops.latest)
            if entry is not None and hop not in entry:
                entry[hop] = clock()

        def arrived(topic: str, payload: bytes) -> None:
            if topic == "bench/json2":
                now = clock()
                hops.latest = json.loads(payload)["seq"]
                hops.stamps[hops.latest] = {"paho": now}

        on_message = MqttBridgeActor._on_message

        def received(bridge: Any, client: Any, userdata: Any, message: Any) -> None:
            arrived(message.topic, message.payload)
            on_message(bridge, client, userdata, message)

        receive = getattr(MqttBridgeActor, "_receive", None)  # the QoS 0 path without MQTTMessage, if there is one

        def received_fast(bridge: Any, topic: str, payload: bytes) -> None:
            arrived(topic, payload)
            receive(bridge, topic, payload)  # type: ignore[misc]

        apply = SignalGroupActor.apply

        def applied(group: Any, updates: Any, *args: Any, **kwargs: Any) -> Any:
            if any(u.name == "x2" for u in updates):
                stamp("group")
            return apply(group, updates, *args, **kwargs)

        on_receive = BlockChainActor.on_receive

        def chain_received(chain: Any, message: Any) -> Any:
            if is_y2(chain.chain.output_slots):
                stamp("chain")
            return on_receive(chain, message)

        on_change = MqttBridgeActor._on_change

        def changed(bridge: Any, event: Any) -> None:
            if is_y2(event.slots):
                stamp("bridge")
            on_change(bridge, event)

        publish = mqtt.Client.publish

        def published(client: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
            if topic == "bench/out/y2":
                stamp("publish")
                hops.sending = True
            return publish(client, topic, *args, **kwargs)

        sock_send = mqtt.Client._sock_send

        def sent(client: Any, buf: Any) -> int:
            if hops.sending:  # stamped as the send starts: after it, the GIL may be another thread's a while
                hops.sending = False
                stamp("socket")
            result: int = sock_send(client, buf)
            return result

        self.sending = False
        self.runtime: Any = None
        MqttBridgeActor._on_message = received  # type: ignore[method-assign,assignment]
        if receive is not None:
            MqttBridgeActor._receive = received_fast  # type: ignore[attr-defined]
        SignalGroupActor.apply = applied  # type: ignore[method-assign,assignment]
        BlockChainActor.on_receive = chain_received  # type: ignore[method-assign,assignment]
        MqttBridgeActor._on_change = changed  # type: ignore[method-assign,assignment]
        mqtt.Client.publish = published  # type: ignore[method-assign,assignment]
        mqtt.Client._sock_send = sent  # type: ignore[method-assign,assignment]

    def table(self, result: dict[str, Any]) -> list[str]:
        """The hop table, rows complete from send to receive (the exact matching of an unbroken run)."""
        rows = []
        for seq, sent in enumerate(result["sends"]):
            entry = self.stamps.get(seq)
            if entry is not None:
                rows.append({"sent": sent, **entry})
        if result["exact"]:  # each output is its input's: the receive stamp belongs to the row
            for row, got in zip(rows, result["received"], strict=False):
                row["received"] = got
        complete = [row for row in rows if all(hop in row for hop in HOPS)]
        lines = [f"    hops of (d), {len(complete)} of {result['sent']} messages stamped at every hop "
                 f"(each hop over the messages that reached it; µs):",
                 f"    {'hop':<100} {'p50':>7} {'p99':>7}"]
        for before, hop in itertools.pairwise(HOPS):
            spans = [(row[hop] - row[before]) / 1e3 for row in rows if hop in row and before in row]
            if spans:
                lines.append(f"    {HOP_NAMES[hop]:<100} {pct(spans, 0.5):7.0f} {pct(spans, 0.99):7.0f}")
        total = [(row["received"] - row["sent"]) / 1e3 for row in complete]
        if total:
            lines.append(f"    {'total: publisher send -> subscriber receive':<100} {pct(total, 0.5):7.0f} "
                         f"{pct(total, 0.99):7.0f}")
        return lines


def rss_mb() -> tuple[float, float]:
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency_line(label: str, lat: list[float], target: str = "") -> str:
    if not lat:
        return f"{label}: no outputs"
    return (f"{label}: p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, max {max(lat):.2f} ms{target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--hops", action="store_true", help="stamp each hop of (d) and print where the time goes")
    parser.add_argument("--only", choices=("ingest", "latency"), help="run (a)+(b) or floor+(c)+(d) only")
    parser.add_argument("--scan-ms", type=int, default=1, help="the main task's scan, which (c) runs on (default 1)")
    args = parser.parse_args()
    from tests.peers.mosquitto import Mosquitto

    with open("/proc/loadavg") as handle:
        print(f"load average before the run: {' '.join(handle.read().split()[:3])}")
    broker = Mosquitto(auth=False, max_queued_messages=1_000_000).start()
    runtime = None
    steady_count = int(1000 * args.latency_seconds)
    try:
        if args.only != "latency":
            top = ceiling(broker.port, args.messages)
        else:
            floor = flow(None, broker.port, steady_count, 1000.0, "bench/floor", "bench/floor")
            print(latency_line("(floor) paho -> Mosquitto -> paho at 1,000 msg/s", floor["latencies"]))
        event_task = _has_tasks()
        hops = None
        if args.hops and event_task:
            hops = Hops()
            hops.install()
        runtime = start_petra(broker.port, 100, event_task, args.scan_ms)
        if hops is not None:
            hops.runtime = runtime
        if args.only != "latency":
            got = ingest(runtime, broker.port, args.messages, 100)
            print(f"    ratio to the paho ceiling: {got / top:.0%} (target >= 70 %: "
                  f"{'met' if got >= 0.7 * top else 'MISSED'})")
        if args.only == "ingest":
            return 0
        if args.only is None:
            floor = flow(None, broker.port, steady_count, 1000.0, "bench/floor", "bench/floor")
            print(latency_line("(floor) paho -> Mosquitto -> paho at 1,000 msg/s", floor["latencies"]))
        steady = flow(runtime, broker.port, steady_count, 1000.0)
        lat = steady["latencies"]
        p99 = pct(lat, 0.99) if lat else float("inf")
        print(latency_line(f"(c) in -> GT -> out at 1,000 msg/s, {args.scan_ms} ms scan", lat,
                           f" (target p99 < {TARGET_P99_MS} ms: {'met' if p99 < TARGET_P99_MS else 'MISSED'})")
              + f"; {steady['sent']:,} in, {steady['ingested']:,.0f} ingested, {steady['outputs']:,} out "
              f"({steady['sent'] - steady['outputs']:,} coalesced within a scan; matching "
              f"{'exact' if steady['exact'] else 'by latest same-sign input'})")
        burst = flow(runtime, broker.port, args.messages // 2, 0)
        lost = burst["sent"] - burst["ingested"]
        rate = burst["ingested"] / burst["elapsed"]
        print(f"    as fast as possible: {burst['sent']:,} in over {burst['elapsed']:.2f} s = {rate:,.0f} msg/s "
              f"offered, {lost:,.0f} lost before the signal, {burst['outputs']:,} output changes published "
              f"(Node-RED: {NODE_RED_THROUGHPUT:,.0f} msg/s)")
        if event_task:
            runs_before = metric(runtime, "petra_task_runs_total", {"task": "on_x2"})
            event = flow(runtime, broker.port, steady_count, 1000.0, "bench/json2", "bench/out/y2")
            runs = metric(runtime, "petra_task_runs_total", {"task": "on_x2"}) - runs_before
            lat = event["latencies"]
            p99 = pct(lat, 0.99) if lat else float("inf")
            print(latency_line("(d) in -> GT -> out at 1,000 msg/s, event task", lat,
                               f" (target p99 < {TARGET_P99_MS} ms: {'met' if p99 < TARGET_P99_MS else 'MISSED'})")
                  + f"; {event['sent']:,} in, {event['outputs']:,} out, {runs:,.0f} task runs "
                  f"(matching {'exact' if event['exact'] else 'by latest same-sign input'})")
            if hops is not None:
                print("\n".join(hops.table(event)))
        else:
            print("(d) skipped: this build has no tasks: section")
        current, peak = rss_mb()
        print(f"RSS of the PETRA process: {current:.0f} MB now, {peak:.0f} MB peak (Node-RED: 90-140 MB)")
    finally:
        if runtime is not None:
            runtime.stop()
        broker.close()
    return 0


def _has_tasks() -> bool:
    try:
        import petra.tasks  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
