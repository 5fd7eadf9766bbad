"""`petra mqtt publish` and `petra mqtt subscribe`: a sensor simulator and a topic monitor.

Exit status: 0 on success; 1 when the broker refuses or cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import socket
import sys
import threading
import time
from typing import Any

from petra.commands.option_order import before_or_after_action


def register(sub: argparse._SubParsersAction) -> None:
    mqtt = sub.add_parser("mqtt", help="publish to or watch an MQTT broker")
    actions = mqtt.add_subparsers(dest="mqtt_command", metavar="ACTION", required=True)

    publish = actions.add_parser("publish", help="publish VALUE to TOPIC, once or as a simulated sensor")
    publish.add_argument("topic")
    publish.add_argument("value", help="the payload; with --pattern, the centre (sine, random) or start (ramp)")
    publish.add_argument("--count", type=int, default=1, help="messages to send (0 = until interrupted)")
    publish.add_argument("--rate", type=float, default=1.0, help="messages per second when --count > 1")
    publish.add_argument("--pattern", choices=("sine", "ramp", "random"), help="vary a numeric VALUE")
    publish.add_argument("--amplitude", type=float, default=10.0, help="pattern amplitude (ramp: step)")
    publish.add_argument("--period", type=float, default=60.0, help="sine period in seconds")
    publish.add_argument("--retain", action="store_true")
    publish.set_defaults(handler=_publish)

    subscribe = actions.add_parser("subscribe", help="print messages on TOPIC (+ and # allowed)")
    subscribe.add_argument("topic")
    subscribe.add_argument("--count", type=int, default=0, help="stop after N messages (0 = until interrupted)")
    subscribe.add_argument("--json", action="store_true", help="one JSON object per line")
    subscribe.add_argument("--timeout", type=float, default=0.0, help="give up after N seconds (0 = never)")
    subscribe.set_defaults(handler=_subscribe)
    before_or_after_action(mqtt, (publish, subscribe), _connection_args)


def _connection_args(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        parser.add_argument("--host", default="127.0.0.1"),
        parser.add_argument("--port", type=int, default=1883),
        parser.add_argument("--username"),
        parser.add_argument("--password"),
        parser.add_argument("--qos", type=int, choices=(0, 1, 2), default=0),
        parser.add_argument("--cafile", help="CA certificate (PEM): connect with TLS"),
    ]


def pattern_value(pattern: str | None, base: str, index: int, elapsed_s: float, amplitude: float,
                  period_s: float, rng: random.Random) -> str:
    """The payload of message `index` (0-based) for a simulated sensor."""
    if pattern is None:
        return base
    centre = float(base)
    if pattern == "sine":
        return f"{centre + amplitude * math.sin(2 * math.pi * elapsed_s / period_s):.4f}"
    if pattern == "ramp":
        return f"{centre + amplitude * index:.4f}"
    return f"{centre + rng.uniform(-amplitude, amplitude):.4f}"


def _connect(args: argparse.Namespace, on_message: Any = None, topic: str | None = None) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if args.username:
        client.username_pw_set(args.username, args.password)
    if args.cafile:
        client.tls_set(ca_certs=args.cafile)
    result: dict[str, Any] = {}
    ready = threading.Event()

    def on_connect(c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        if not reason.is_failure and topic is not None:
            c.subscribe(topic, qos=args.qos)
        ready.set()

    def on_socket_open(_c: Any, _u: Any, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    client.on_socket_open = on_socket_open
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(args.host, args.port)
    except OSError as exc:
        print(f"petra mqtt: cannot reach {args.host}:{args.port}: {exc}", file=sys.stderr)
        return None
    client.loop_start()
    if not ready.wait(10) or result["reason"].is_failure:
        print(f"petra mqtt: {args.host}:{args.port} refused: {result.get('reason', 'no answer')}", file=sys.stderr)
        client.loop_stop()
        return None
    return client


def _bad_topic(topic: str, subscribing: bool) -> bool:
    """Say so and return True when paho would refuse `topic` (checked before connecting, as the config's are)."""
    from petra.drivers.mqtt.codec import TopicError, validate_filter, validate_topic

    try:
        (validate_filter if subscribing else validate_topic)(topic)
    except TopicError as exc:
        print(f"petra mqtt: {exc}", file=sys.stderr)
        return True
    return False


def _publish(args: argparse.Namespace) -> int:
    if _bad_topic(args.topic, subscribing=False):
        return 2
    if args.pattern is not None:
        try:
            float(args.value)
        except ValueError:
            print(f"petra mqtt: --pattern needs a numeric VALUE, got {args.value!r}", file=sys.stderr)
            return 1
    client = _connect(args)
    if client is None:
        return 1
    rng = random.Random()
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    started = time.monotonic()
    index = 0
    try:
        while args.count == 0 or index < args.count:
            deadline = started + index * interval
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload = pattern_value(args.pattern, args.value, index, time.monotonic() - started, args.amplitude,
                                    args.period, rng)
            info = client.publish(args.topic, payload, qos=args.qos, retain=args.retain)
            if args.qos:
                info.wait_for_publish(10)
            index += 1
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
    print(f"published {index} message(s) to {args.topic}", file=sys.stderr)
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    received = 0
    done = threading.Event()
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        nonlocal received
        with lock:
            if done.is_set():
                return
            payload = message.payload.decode("utf-8", errors="replace")
            if args.json:
                print(json.dumps({"topic": message.topic, "payload": payload, "qos": message.qos,
                                  "retain": bool(message.retain), "ts": time.time()}), flush=True)
            else:
                print(f"{message.topic} {payload}", flush=True)
            received += 1
            if args.count and received >= args.count:
                done.set()

    if _bad_topic(args.topic, subscribing=True):
        return 2
    client = _connect(args, on_message, args.topic)
    if client is None:
        return 1
    try:
        done.wait(args.timeout or None)
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
    return 0
