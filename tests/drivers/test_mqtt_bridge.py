"""The MQTT bridge in the real runtime against a real Mosquitto (no mocks)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from petra.values import Quality
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, free_port, mosquitto  # noqa: F401  (fixture)

DRIVER = "mqtt:bridge-test"


def mqtt_section(broker: Mosquitto, **overrides: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "broker_host": "127.0.0.1", "broker_port": broker.port, "client_id": "bridge-test",
        "username": broker.username, "password": broker.password, "topic_prefix": "t/out",
        "status_topic": "t/status", "command_topic": "t/cmd/+", "reconnect_max_s": 0.5, "qos": 1,
    }
    section.update(overrides)
    return {k: v for k, v in section.items() if v is not None}


class BridgePlant(RunningPlant):
    """A running plant whose metrics are read for the bridge under test unless other labels are given."""

    def metric(self, name: str, labels: Mapping[str, str] | None = None, **more: str) -> float:
        return super().metric(name, labels if labels or more else {"driver": DRIVER}, **more)

    def connected(self) -> bool:
        return self.metric("petra_driver_connected") == 1.0

    def bridge(self) -> Any:
        return self.lookup(f"petra/drivers/{DRIVER}")


@pytest.fixture
def plants() -> Iterator[list[BridgePlant]]:
    started: list[BridgePlant] = []
    yield started
    for plant in started:
        plant.stop()


@pytest.fixture
def peer(mosquitto: Mosquitto) -> Iterator[MqttPeer]:  # noqa: F811
    client = MqttPeer(mosquitto, topics=("t/#",))
    yield client
    client.close()


def start(plants: list[BridgePlant], data: dict[str, Any]) -> BridgePlant:
    plant = BridgePlant(data).start()
    plants.append(plant)
    wait_until(plant.connected, timeout=10)
    return plant


def test_wildcard_subscriptions_write_signals_named_by_topic_segments(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "kitchen", "type": "float"}, {"name": "pump_speed", "type": "int"}],
        "mqtt": mqtt_section(mosquitto, subscriptions=[
            {"topic": "t/rooms/+/temp", "signal_from_topic_segment": 2, "data_type": "float"},
            {"topic": "t/site/#", "signal_from_topic_segment": 4, "data_type": "int"},
        ]),
    })
    peer.publish("t/rooms/kitchen/temp", "21.5")
    peer.publish("t/site/hall1/line2/pump_speed", "1450")
    peer.publish("t/rooms/nowhere/temp", "1.0")  # no such signal: counted, ignored
    wait_until(lambda: plant.value("kitchen") == 21.5 and plant.value("pump_speed") == 1450)
    assert plant.quality("kitchen") is Quality.GOOD
    wait_until(lambda: plant.metric("petra_driver_errors_total") >= 1)


def test_json_value_paths_reach_into_nested_objects_and_arrays(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "filler", "type": "float"}],
        "mqtt": mqtt_section(mosquitto, subscriptions=[
            {"topic": "t/json", "signal": "humidity", "value_path": "data.readings[1].value", "data_type": "float"},
        ]),
    })
    payload = {"data": {"readings": [{"value": 1.0}, {"value": 55.25, "unit": "%"}]}}
    peer.publish("t/json", json.dumps(payload))
    wait_until(lambda: plant.value("humidity") == 55.25 and plant.quality("humidity") is Quality.GOOD)


def test_payloads_that_do_not_coerce_turn_the_signal_bad_are_counted_and_never_crash(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "filler", "type": "float"}],
        "mqtt": mqtt_section(mosquitto, subscriptions=[
            {"topic": "t/count", "signal": "count", "data_type": "int"},
            {"topic": "t/doc", "signal": "level", "value_path": "a.b", "data_type": "float"},
        ]),
    })
    peer.publish("t/count", "7")
    peer.publish("t/doc", '{"a": {"b": 3.5}}')
    wait_until(lambda: plant.value("count") == 7 and plant.value("level") == 3.5)
    with caplog.at_level(logging.WARNING, logger="petra.drivers.mqtt.actor"):
        peer.publish("t/count", "seven")
        peer.publish("t/doc", "{broken")
        wait_until(lambda: plant.quality("count") is Quality.BAD and plant.quality("level") is Quality.BAD)
    assert plant.value("count") == 7  # the last good value is kept
    assert plant.metric("petra_driver_errors_total") >= 2
    assert "cannot convert 'seven' to int" in caplog.text and "payload is not JSON" in caplog.text
    peer.publish("t/count", "8")
    wait_until(lambda: plant.value("count") == 8 and plant.quality("count") is Quality.GOOD)
    assert plant.bridge() is not None and plant.metric("petra_driver_connected") == 1.0


def test_the_command_topic_writes_allowed_signals_and_refuses_and_counts_the_rest(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "setpoint", "type": "float"}, {"name": "locked", "type": "float", "initial": 1.0}],
        "mqtt": mqtt_section(mosquitto, writable_signals=["setpoint"]),
    })
    with caplog.at_level(logging.WARNING, logger="petra.drivers.mqtt.actor"):
        peer.publish("t/cmd/locked", "99")
        peer.publish("t/cmd/setpoint", '{"value": 42.5}')
        wait_until(lambda: plant.value("setpoint") == 42.5)
    wait_until(lambda: plant.metric("petra_driver_writes_refused_total") == 1)
    assert plant.value("locked") == 1.0
    assert "refused remote write to 'locked'" in caplog.text


def test_changes_are_published_under_the_prefix_when_they_pass_the_deadband(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "flow", "type": "float"}, {"name": "pump", "type": "bool"}],
        "mqtt": mqtt_section(mosquitto, publish_signals=[
            {"signal": "flow", "deadband": 1.0, "qos": 1, "retain": True}, {"signal": "pump", "qos": 0},
        ]),
    })
    for value in (10.0, 10.5, 11.2, 11.3, 9.0):
        plant.write("default", flow=value)
    plant.write("default", pump=True)
    wait_until(lambda: len(peer.payloads("t/out/flow")) >= 3 and peer.payloads("t/out/pump"))
    values = [json.loads(p)["value"] for p in peer.payloads("t/out/flow")]
    assert values == [10.0, 11.2, 9.0]
    assert json.loads(peer.payloads("t/out/pump")[-1]) ["quality"] == "good"
    late = MqttPeer(mosquitto, topics=("t/out/flow",))  # retained: a late subscriber gets the last value
    try:
        wait_until(lambda: late.payloads("t/out/flow"))
        assert json.loads(late.payloads("t/out/flow")[0])["value"] == 9.0
    finally:
        late.close()


def test_the_status_topic_has_a_retained_birth_message_and_the_last_will_says_offline(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {"signals": [{"name": "a", "type": "float"}], "mqtt": mqtt_section(mosquitto)})
    wait_until(lambda: peer.payloads("t/status")[-1:] == [b"online"])
    before = plant.metric("petra_driver_reconnects_total")
    client = plant.bridge().proxy().client.get()
    client.socket().shutdown(socket.SHUT_RDWR)  # the connection dies without DISCONNECT
    wait_until(lambda: b"offline" in peer.payloads("t/status"))
    wait_until(lambda: plant.metric("petra_driver_reconnects_total") == before + 1)
    wait_until(lambda: peer.payloads("t/status")[-1:] == [b"online"])


def test_a_bad_password_is_refused_counted_and_retried_with_back_off_without_a_crash_loop(
    mosquitto: Mosquitto, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    with caplog.at_level(logging.WARNING, logger="petra.drivers.mqtt.actor"):
        plant = BridgePlant({"signals": [{"name": "a", "type": "float"}],
                             "mqtt": mqtt_section(mosquitto, password="wrong", reconnect_max_s=0.4)}).start()
        plants.append(plant)
        wait_until(lambda: plant.metric("petra_driver_errors_total") >= 3, timeout=5)
        attempts = plant.metric("petra_driver_errors_total")
        wait_until(lambda: plant.metric("petra_driver_errors_total") >= attempts + 2, timeout=5)
    assert not plant.connected()
    assert "Not authorized" in caplog.text
    assert caplog.text.count("cannot connect") == 1  # rate-limited: one line, not one per attempt
    node = plant.node(f"petra/drivers/{DRIVER}")
    assert node.restarts == 0  # paho's back-off retries; the actor itself never crashed


def test_a_tls_listener_is_reached_with_the_brokers_ca(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "filler", "type": "float"}],
        "mqtt": mqtt_section(mosquitto, broker_port=mosquitto.tls_port, tls={"ca_file": str(mosquitto.ca_file)},
                             subscriptions=[{"topic": "t/tls", "signal": "secure", "data_type": "float"}]),
    })
    peer.publish("t/tls", "3.25")
    wait_until(lambda: plant.value("secure") == 3.25)


def test_the_mqtt_client_offers_only_the_allowed_cipher_suites(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    """security.allowed_cipher_suites binds the MQTT client: ECDSA-only suites cannot reach the RSA-certified
    broker (counted as connection errors), an RSA suite can."""

    def bridge(suites: list[str], signal: str) -> BridgePlant:
        plant = BridgePlant({
            "signals": [{"name": "filler", "type": "float"}],
            "security": {"allowed_cipher_suites": suites},
            "mqtt": mqtt_section(mosquitto, broker_port=mosquitto.tls_port, client_id=f"bridge-{signal}",
                                 tls={"ca_file": str(mosquitto.ca_file)},
                                 subscriptions=[{"topic": "t/suites", "signal": signal, "data_type": "float"}]),
        }).start()
        plants.append(plant)
        return plant

    refused = bridge(["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "refused")
    wait_until(lambda: refused.runtime.plant.metrics.registry.get_sample_value(
        "petra_driver_errors_total", {"driver": "mqtt:bridge-refused"}), timeout=10)
    allowed = bridge(["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"], "allowed")
    wait_until(lambda: allowed.runtime.plant.metrics.registry.get_sample_value(
        "petra_driver_connected", {"driver": "mqtt:bridge-allowed"}) == 1, timeout=10)
    peer.publish("t/suites", "4.5")
    wait_until(lambda: allowed.value("allowed") == 4.5)
    assert refused.runtime.plant.metrics.registry.get_sample_value(
        "petra_driver_connected", {"driver": "mqtt:bridge-refused"}) == 0


def test_a_broker_restart_buffers_publishes_marks_inputs_bad_and_recovers(plants: list[BridgePlant]) -> None:
    broker = Mosquitto(auth=False).start()
    try:
        plant = start(plants, {
            "signals": [{"name": "a", "type": "float"}, {"name": "b", "type": "float"},
                        {"name": "c", "type": "float"}],
            "mqtt": mqtt_section(broker, retain=True, subscriptions=[
                {"topic": "t/in", "signal": "sensor", "data_type": "float"}]),
        })
        peer = MqttPeer(broker)
        peer.publish("t/in", "1.5")
        wait_until(lambda: plant.value("sensor") == 1.5 and plant.quality("sensor") is Quality.GOOD)
        peer.close()
        broker.stop()
        wait_until(lambda: not plant.connected() and plant.quality("sensor") is Quality.BAD)
        plant.write("default", a=1.0, b=2.0, c=3.0)
        wait_until(lambda: plant.metric("petra_driver_buffer_depth") == 3)
        broker.start()  # same port, no persistence: whatever is retained now came after the restart
        wait_until(plant.connected, timeout=10)
        wait_until(lambda: plant.metric("petra_driver_buffer_depth") == 0)
        late = MqttPeer(broker, topics=("t/out/#", "t/status"))
        try:
            wait_until(lambda: all(late.payloads(f"t/out/{n}") for n in "abc") and late.payloads("t/status"))
            assert [json.loads(late.payloads(f"t/out/{n}")[-1])["value"] for n in "abc"] == [1.0, 2.0, 3.0]
            assert late.payloads("t/status")[-1] == b"online"
            assert plant.quality("sensor") is Quality.BAD  # until its next message
            late.publish("t/in", "2.5")
            wait_until(lambda: plant.value("sensor") == 2.5 and plant.quality("sensor") is Quality.GOOD)
        finally:
            late.close()
        assert plant.metric("petra_driver_reconnects_total") == 1
    finally:
        broker.close()


def test_the_outbound_buffer_is_bounded_and_counts_what_it_drops(plants: list[BridgePlant]) -> None:
    plant = BridgePlant({
        "signals": [{"name": "a", "type": "float"}],
        "mqtt": {"broker_host": "127.0.0.1", "broker_port": free_port(), "client_id": "bridge-test",
                 "buffer_max_messages": 3, "reconnect_max_s": 0.2},
    }).start()
    plants.append(plant)
    for value in range(1, 6):
        plant.write("default", a=float(value))
    wait_until(lambda: plant.metric("petra_driver_dropped_total") == 2)
    assert plant.metric("petra_driver_buffer_depth") == 3
    assert not plant.connected()


HUGE = "1" + "0" * 400
DEEP = "[" * 10_000 + "]" * 10_000


def test_a_retained_poison_payload_is_a_counted_decode_error_and_never_restarts_the_bridge(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    poison = {"t/poison/huge": f'{{"a":{{"b":{HUGE}}}}}', "t/poison/deep": f'{{"a":{{"b":{DEEP}}}}}',
              "t/poison/cmd/setpoint": f'{{"value":{HUGE}}}', "t/poison/cmd/limit": f'{{"value":{DEEP}}}'}
    for topic, payload in poison.items():
        peer.publish(topic, payload, retain=True)
    try:
        with caplog.at_level(logging.WARNING, logger="petra.drivers.mqtt.actor"):
            plant = start(plants, {
                "signals": [{"name": "setpoint", "type": "float", "initial": 1.0},
                            {"name": "limit", "type": "float", "initial": 2.0}],
                "mqtt": mqtt_section(mosquitto, command_topic="t/poison/cmd/+", writable_signals=["setpoint", "limit"],
                                     subscriptions=[
                    {"topic": "t/poison/huge", "signal": "huge", "value_path": "a.b", "data_type": "float"},
                    {"topic": "t/poison/deep", "signal": "deep", "value_path": "a.b", "data_type": "float"},
                    {"topic": "t/poison/good", "signal": "good", "data_type": "float"},
                ]),
            })
            wait_until(lambda: plant.metric("petra_driver_errors_total") >= 4)
        peer.publish("t/poison/good", "1.5")
        peer.publish("t/poison/huge", '{"a": {"b": 2.5}}')
        wait_until(lambda: plant.value("good") == 1.5 and plant.value("huge") == 2.5)
        assert plant.quality("good") is Quality.GOOD and plant.quality("huge") is Quality.GOOD
        assert plant.quality("deep") is Quality.BAD
        assert (plant.value("setpoint"), plant.value("limit")) == (1.0, 2.0)
        node = plant.node(f"petra/drivers/{DRIVER}")
        assert node.restarts == 0
        assert plant.connected()
        assert "too large" in caplog.text and "nested too deeply" in caplog.text
    finally:
        for topic in poison:
            peer.publish(topic, b"", retain=True)  # clear the retained poison for later tests


def test_many_distinct_topics_under_a_wildcard_keep_the_bridges_per_topic_state_bounded(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = start(plants, {
        "signals": [{"name": "known", "type": "float"}],
        "mqtt": mqtt_section(mosquitto, subscriptions=[
            {"topic": "t/many/+", "signal_from_topic_segment": 2, "data_type": "float"}]),
    })
    topics = 12_000
    for index in range(topics):
        peer.publish(f"t/many/unknown{index}", "1", qos=0)
    for index in range(100):
        peer.publish(f"t/many/{index}{'x' * 20_000}", "1", qos=0)  # a topic may be up to 64 KiB long
    peer.publish("t/many/known", "4.5")
    wait_until(lambda: plant.value("known") == 4.5, timeout=60)
    footprint = plant.bridge().proxy().status().get()
    assert footprint["topic_cache"] <= 10_000 and footprint["topic_cache_chars"] <= 1_000_000
    assert footprint["log_keys"] <= 10
    assert plant.metric("petra_driver_errors_total") >= topics + 100  # each unknown signal is still counted


def test_a_connection_that_keeps_being_taken_over_logs_rate_limited_lines(
    mosquitto: Mosquitto, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    with caplog.at_level(logging.INFO, logger="petra.drivers.mqtt.actor"):
        plant = start(plants, {"signals": [{"name": "a", "type": "float"}],
                               "mqtt": mqtt_section(mosquitto, reconnect_max_s=0.2)})
        twin = MqttPeer(mosquitto, client_id="bridge-test")  # the same client id: the broker drops the other one
        try:
            wait_until(lambda: plant.metric("petra_driver_reconnects_total") >= 3)
        finally:
            twin.close()
        wait_until(plant.connected)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(DRIVER)
             and ("connection lost" in r.getMessage() or "connected to" in r.getMessage())]
    assert sum("connection lost" in line for line in lines) == 1, lines  # rate-limited
    assert len(lines) == 3 and "connected to" in lines[-1], lines  # connected, lost, connected: never ends on lost


def test_a_signal_group_too_far_behind_has_its_batches_dropped_counted_and_logged_and_then_catches_up(
    mosquitto: Mosquitto, peer: MqttPeer, plants: list[BridgePlant],  # noqa: F811
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petra.drivers.mqtt import actor as bridge_actor
    from supervision import Inject

    monkeypatch.setattr(bridge_actor, "GROUP_BACKLOG_MAX", 3)
    plant = start(plants, {
        "signals": [{"name": "level", "type": "int", "initial": 0, "group": "process"}],
        "mqtt": mqtt_section(mosquitto, subscriptions=[{"topic": "t/level", "signal": "level", "data_type": "int"}]),
    })
    peer.publish("t/level", "1")
    wait_until(lambda: plant.value("level") == 1)
    errors = plant.metric("petra_driver_errors_total")
    group = plant.lookup("petra/core/signals/process")
    group.tell(Inject("hang", 2.0))  # the group stops taking batches; the bridge's tells queue up
    with caplog.at_level(logging.WARNING):
        for value in range(2, 40):
            peer.publish("t/level", str(value))
        wait_until(lambda: plant.metric("petra_driver_errors_total") > errors)
        wait_until(lambda: any("batches waiting; dropped" in r.getMessage() for r in caplog.records))
    # the hang ends: the group applies the batches it had queued (the first values after 1), and new ones land
    wait_until(lambda: plant.value("level") in range(2, 40), timeout=15)
    peer.publish("t/level", "1000")
    wait_until(lambda: plant.value("level") == 1000)
    assert plant.lookup(f"petra/drivers/{DRIVER}").is_alive()
