"""`petra mqtt publish` / `petra mqtt subscribe` against the real broker."""

from __future__ import annotations

import argparse
import json
import random
import threading

import pytest

from petra.drivers.mqtt import commands as mqtt_cmds
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, mosquitto  # noqa: F401  (fixture)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="petra")
    mqtt_cmds.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def auth(broker: Mosquitto) -> list[str]:
    return ["--port", str(broker.port), "--username", str(broker.username), "--password", str(broker.password)]


def test_patterns_simulate_a_ramp_a_sine_and_bounded_noise() -> None:
    rng = random.Random(1)
    assert [mqtt_cmds.pattern_value("ramp", "10", i, 0, 2.0, 60, rng) for i in range(3)] == [
        "10.0000", "12.0000", "14.0000"]
    assert mqtt_cmds.pattern_value("sine", "0", 0, 15.0, 5.0, 60.0, rng) == "5.0000"
    assert all(abs(float(mqtt_cmds.pattern_value("random", "0", i, 0, 1.0, 60, rng))) <= 1.0 for i in range(50))
    assert mqtt_cmds.pattern_value(None, "hello", 3, 0, 1.0, 60, rng) == "hello"


def test_publish_sends_count_messages_with_a_pattern_and_subscribe_prints_them_as_json(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    peer = MqttPeer(mosquitto, topics=("tools/#",))
    peer.publish("tools/probe", "ready", retain=True)  # printed first: proves the subscription is active
    args = parse("mqtt", "subscribe", "tools/#", "--count", "4", "--json", "--timeout", "10", *auth(mosquitto))
    result: list[int] = []
    watcher = threading.Thread(target=lambda: result.append(args.handler(args)))
    watcher.start()
    printed: list[str] = []
    try:
        wait_until(lambda: printed.append(capsys.readouterr().out) or "tools/probe" in "".join(printed))
        publish = parse("mqtt", "publish", "tools/level", "5", "--count", "3", "--rate", "200", "--pattern", "ramp",
                        "--amplitude", "1", "--qos", "1", *auth(mosquitto))
        assert publish.handler(publish) == 0
        wait_until(lambda: len(peer.payloads("tools/level")) == 3)
        assert peer.payloads("tools/level") == [b"5.0000", b"6.0000", b"7.0000"]
        watcher.join(10)
    finally:
        peer.publish("tools/probe", "", retain=True)  # clear the retained probe
        peer.close()
    assert result == [0]
    printed.append(capsys.readouterr().out)
    lines = [json.loads(line) for line in "".join(printed).splitlines()]
    assert [(line["topic"], line["payload"]) for line in lines] == [
        ("tools/probe", "ready"), *[("tools/level", p) for p in ("5.0000", "6.0000", "7.0000")]]


def test_a_refused_login_is_reported_with_exit_status_1(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    args = parse("mqtt", "publish", "x", "1", "--port", str(mosquitto.port), "--username", "petra",
                 "--password", "nope")
    assert args.handler(args) == 1
    assert "refused" in capsys.readouterr().err


def test_publish_takes_the_connection_options_before_the_action_too(mosquitto: Mosquitto) -> None:  # noqa: F811
    peer = MqttPeer(mosquitto, topics=("tools/before",))
    try:
        args = parse("mqtt", *auth(mosquitto), "--qos", "1", "publish", "tools/before", "100")
        assert args.handler(args) == 0
        wait_until(lambda: peer.payloads("tools/before") == [b"100"])
    finally:
        peer.close()


@pytest.mark.parametrize(("action", "topic", "why"), [
    ("subscribe", "plant/b+", "'+' must be a whole level"),
    ("subscribe", "plant/#/x", "'#' must be a whole last level"),
    ("publish", "plant/+/x", "cannot hold '+' or '#'"),
])
def test_a_topic_paho_would_refuse_is_a_usage_error_before_connecting(
    mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str], action: str, topic: str, why: str  # noqa: F811
) -> None:
    extra = ["1"] if action == "publish" else ["--count", "1", "--timeout", "5"]
    args = parse("mqtt", *auth(mosquitto), action, topic, *extra)
    assert args.handler(args) == 2
    assert why in capsys.readouterr().err
