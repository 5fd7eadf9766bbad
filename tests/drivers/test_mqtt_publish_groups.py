"""Publish groups: one MQTT message composing several signals, in the real runtime against a real Mosquitto."""

from __future__ import annotations

import json
from typing import Any

from tests.drivers.test_mqtt_bridge import BridgePlant, mqtt_section, peer, plants, start  # noqa: F401  (fixtures)
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, mosquitto  # noqa: F401  (fixture)


def objects(client: MqttPeer, topic: str) -> list[Any]:
    return [json.loads(payload) for payload in client.payloads(topic)]


def test_one_message_feeds_two_signals_and_the_logic_output_is_paired_with_its_own_input(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    # temperature.value and t of one message land in one batch; the chain computes alarm and carries t
    # through SELECT, so both fields come from one run of the chain (one change event).
    plant = start(plants, {
        "scan_time_ms": 5,
        "signals": [{"name": "temp", "type": "float"}, {"name": "t_in", "type": "float"}],
        "blocks": [
            {"name": "hot", "type": "GT", "inputs": {"in1": "temp", "in2": "75.0"}, "outputs": {"out": "alarm"}},
            {"name": "carry", "type": "SELECT", "inputs": {"g": "alarm", "in0": "t_in", "in1": "t_in"},
             "outputs": {"out": "t"}},
        ],
        "mqtt": mqtt_section(mosquitto, subscriptions=[
            {"topic": "t/in", "signal": "temp", "value_path": "temperature.value"},
            {"topic": "t/in", "signal": "t_in", "value_path": "t"},
        ], publish_signals=[], publish_groups=[
            {"topic": "t/alarm", "fields": {"alarm": "alarm", "t": "t"}, "on": ["t"], "qos": 1},
        ]),
    })
    temperatures = [70.0, 80.0, 90.0, 60.0, 76.0, 75.0]
    for n, value in enumerate(temperatures, 1):
        peer.publish("t/in", json.dumps({"temperature": {"value": value}, "t": float(n)}))
        wait_until(lambda n=n: len(peer.payloads("t/alarm")) == n)
    assert objects(peer, "t/alarm") == [{"alarm": v > 75, "t": float(n)} for n, v in enumerate(temperatures, 1)]
    assert plant.metric("petra_driver_errors_total") == 0


def test_a_group_is_sent_when_any_of_its_fields_changes_and_a_bad_value_is_null(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "level", "type": "float"}, {"name": "pump", "type": "bool"}],
        "mqtt": mqtt_section(mosquitto, publish_signals=[], subscriptions=[
            {"topic": "t/level", "signal": "level"},
        ], publish_groups=[{"topic": "t/tank", "fields": {"lvl": "level", "running": "pump"}}]),
    })
    plant.write("default", pump=True)
    wait_until(lambda: objects(peer, "t/tank")[-1:] == [{"lvl": None, "running": True}])  # level: no message yet
    peer.publish("t/level", "2.5")
    wait_until(lambda: objects(peer, "t/tank")[-1:] == [{"lvl": 2.5, "running": True}])
    peer.publish("t/level", "not a number")  # bad quality: the value is null, the message still goes out
    wait_until(lambda: objects(peer, "t/tank")[-1:] == [{"lvl": None, "running": True}])
    assert plant.metric("petra_driver_errors_total") >= 1


def test_a_group_waits_for_its_trigger_and_is_retained_when_asked(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "a", "type": "float"}, {"name": "sample", "type": "int"}],
        "mqtt": mqtt_section(mosquitto, publish_signals=[{"signal": "sample", "qos": 1}], publish_groups=[
            {"topic": "t/snapshot", "fields": {"a": "a"}, "on": ["sample"], "retain": True},
        ]),
    })
    plant.write("default", a=1.0)
    plant.write("default", a=2.0)
    plant.write("default", sample=1)
    # the bridge sends in the order the changes came: had a change of `a` alone sent the group, those
    # messages would have arrived before this one
    wait_until(lambda: peer.payloads("t/snapshot"))
    assert objects(peer, "t/snapshot") == [{"a": 2.0}]
    late = MqttPeer(mosquitto, topics=("t/snapshot",))
    try:
        wait_until(lambda: late.payloads("t/snapshot"))
        assert json.loads(late.payloads("t/snapshot")[0]) == {"a": 2.0}
    finally:
        late.close()
        peer.publish("t/snapshot", b"", retain=True)  # the broker is the session's: clear what this test retained
