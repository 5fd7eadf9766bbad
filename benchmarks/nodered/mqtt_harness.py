"""The MQTT side of benchmarks/vs_nodered.py: the paho publisher and subscriber, and how a phase is scored.

Every system under test (and the harness alone, the floor) gets exactly these clients, in child
processes of their own: the publisher sends JSON {"temperature":{"value":V},"t":T} on bench/in, T its
CLOCK_MONOTONIC send time in microseconds and unique per message; the subscriber keeps every message's
receive time. `score` matches outputs to inputs by T: a T that never comes out is lost, an output whose
alarm is not V > 75 for its T is wrong. TCP_NODELAY on every client; QoS 0.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

IN_TOPIC, OUT_TOPIC = "bench/in", "bench/out"
PAYLOAD = b'{"temperature":{"value":%.1f},"t":%d}'
THRESHOLD = 75.0

Broker = tuple[int, str, str]
"""(port, user, password): what a child process needs to reach the run's Mosquitto."""


def value(i: int) -> float:
    """V of message i: 70.5 .. 79.5, so half the messages raise the alarm and it changes every 5 messages."""
    return 70.5 + i % 10


# -- the harness's clients (child processes) ---------------------------------------------------------------


def make_client(broker: Broker) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(broker[1], broker[2])
    client.on_socket_open = _nodelay
    client.max_queued_messages_set(0)
    return client


def _nodelay(_client: Any, _userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(client: Any, broker: Broker) -> None:
    connected = threading.Event()
    client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else connected.set()
    client.connect("127.0.0.1", broker[0])
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError("the harness could not connect to Mosquitto")


def publisher(broker: Broker, count: int, rate: float, threaded: bool, out: Any) -> None:
    """Publish `count` messages at `rate` msg/s on absolute deadlines (0: flat out); send back every T.

    Without `threaded`, paho runs no network thread: each publish() writes to the socket in this thread
    (paho does that when no loop is running), so T is stamped right before the write and no hand-off
    to another thread adds to the latency floor or caps the blast; a full socket buffer holds it back.
    """
    client = make_client(broker)
    if threaded:
        connect(client, broker)
    else:
        connected = threading.Event()
        client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else connected.set()
        client.connect("127.0.0.1", broker[0])
        deadline = time.monotonic() + 10
        while not connected.is_set() and time.monotonic() < deadline:
            client.loop(timeout=0.05)
    stamps: list[int] = []
    interval_ns = int(1e9 / rate) if rate else 0
    last = 0
    info = None
    start = time.monotonic_ns()
    for i in range(count):
        if interval_ns:
            deadline_ns = start + i * interval_ns
            while (now := time.monotonic_ns()) < deadline_ns:
                if deadline_ns - now > 200_000:
                    time.sleep((deadline_ns - now - 150_000) / 1e9)
        t = max(time.monotonic_ns() // 1000, last + 1)  # microseconds, unique per message
        last = t
        info = client.publish(IN_TOPIC, PAYLOAD % (value(i), t), qos=0)
        stamps.append(t)
    if info is not None:  # paho writes in order: the last one out means all are
        until = time.monotonic() + 60
        while not info.is_published() and time.monotonic() < until:
            if threaded:
                info.wait_for_publish(timeout=1)
            else:
                client.loop(timeout=0.01)
    elapsed = (time.monotonic_ns() - start) / 1e9
    client.disconnect()
    if threaded:
        client.loop_stop()
    out.put({"stamps": stamps, "elapsed": elapsed})


def subscriber(broker: Broker, topic: str, ready: Any, done: Any, quiet: float, out: Any) -> None:
    """Collect (receive ns, payload) from `ready` (subscribed) until `quiet` s after `done` and the last one."""
    received: list[tuple[int, bytes]] = []
    client = make_client(broker)
    client.on_message = lambda _c, _u, m: received.append((time.monotonic_ns(), m.payload))
    client.on_subscribe = lambda *_: ready.set()
    connect(client, broker)
    client.subscribe(topic, qos=0)
    seen, last, done_at = 0, time.monotonic(), None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = time.monotonic()
        if len(received) != seen:
            seen, last = len(received), now
        if done_at is None and done.is_set():
            done_at = now
        if done_at is not None and now - max(last, done_at) > quiet:
            break
    client.disconnect()
    client.loop_stop()
    out.put(received)


# -- one phase: publisher and subscriber around whatever runs the flow ---------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Phase:
    """What came out of one phase, matched to what went in by T."""

    sent: int
    delivered: int
    lost: int
    wrong: int
    offered: float
    throughput: float
    p50: float
    p99: float
    max: float


def score(stamps: list[int], elapsed: float, received: list[tuple[int, bytes]]) -> Phase:
    index = {t: i for i, t in enumerate(stamps)}
    seen: set[int] = set()
    latencies: list[float] = []
    wrong, last_us = 0, 0
    for recv_ns, payload in received:
        try:
            doc = json.loads(payload)
            t, alarm = (int(doc["t"]), doc.get("alarm")) if isinstance(doc, dict) else (int(doc), None)
        except (ValueError, KeyError, TypeError):
            wrong += 1
            continue
        i = index.get(t)
        if i is None or t in seen:  # a probe, an earlier phase's straggler, a duplicate
            continue
        seen.add(t)
        recv_us = recv_ns // 1000
        latencies.append((recv_us - t) / 1000)
        last_us = max(last_us, recv_us)
        if alarm is not None and alarm != (value(i) > THRESHOLD):
            wrong += 1
    span = (last_us - stamps[0]) / 1e6 if seen else 0.0
    return Phase(len(stamps), len(seen), len(stamps) - len(seen), wrong, len(stamps) / elapsed if elapsed else 0.0,
                 len(seen) / span if span > 0 else 0.0, pct(latencies, 0.5), pct(latencies, 0.99),
                 max(latencies, default=float("nan")))


def phase(broker: Broker, topic: str, count: int, rate: float, threaded: bool, quiet: float = 2.0) -> Phase:
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    out_s, out_p = ctx.Queue(), ctx.Queue()
    sub = ctx.Process(target=subscriber, args=(broker, topic, ready, done, quiet, out_s))
    sub.start()
    if not ready.wait(30):
        sub.kill()
        raise RuntimeError("the harness's subscriber did not subscribe within 30 s")
    pub = ctx.Process(target=publisher, args=(broker, count, rate, threaded, out_p))
    pub.start()
    sent = out_p.get(timeout=900)
    done.set()
    received = out_s.get(timeout=900)
    pub.join()
    sub.join()
    return score(sent["stamps"], sent["elapsed"], received)
