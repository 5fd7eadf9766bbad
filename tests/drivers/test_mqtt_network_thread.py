"""paho's network thread fails the bridge visibly, against a real Mosquitto.

paho runs the bridge's callbacks in its own thread; whatever is raised there
(a callback, a subscribe paho refuses) used to end that thread quietly: paho
sets its thread back to None, the actor answered its liveness probes, the tree
showed it "running" with 0 restarts and nothing was ever subscribed again.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from supervision import StartError
from tests.drivers.test_mqtt_bridge import DRIVER, BridgePlant, mqtt_section, plants  # noqa: F401  (fixture)
from tests.helpers import plant_config, wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, mosquitto  # noqa: F401  (fixture)

PATH = f"petra/drivers/{DRIVER}"


def section(broker: Mosquitto, **overrides: Any) -> dict[str, Any]:
    return {"signals": [{"name": "x", "type": "float"}],
            "mqtt": mqtt_section(broker, subscriptions=[{"topic": "t/in", "signal": "x", "data_type": "float"}],
                                 **overrides)}


def test_a_subscribe_paho_refuses_in_its_thread_fails_the_bridge_logged_counted_and_restarted(
    mosquitto: Mosquitto, plants: list[BridgePlant], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    config = plant_config(section(mosquitto))
    config.sections["mqtt"]["subscriptions"][0]["topic"] = "t/in+"  # past the loader's check, as a bug would
    with caplog.at_level(logging.ERROR, logger="petra.drivers.mqtt.actor"):
        plant = BridgePlant(config)
        try:
            plant.start()
        except StartError as exc:
            # The broker answered before the rest of the tree was up: a child failing its first start stops
            # the start (fail-fast), naming the bridge and the error; as visible as a restart, earlier.
            assert exc.path == PATH and "Invalid subscription filter" in str(exc.error)
        else:
            plants.append(plant)
            wait_until(lambda: plant.node(PATH).restarts >= 1, timeout=10)
            assert plant.metric("petra_driver_errors_total") >= 1
            assert not plant.connected()
    assert "ValueError in paho's network thread: Invalid subscription filter" in caplog.text


def test_a_network_thread_that_stops_is_noticed_by_the_liveness_probe_and_the_bridge_restarted(
    mosquitto: Mosquitto, plants: list[BridgePlant]  # noqa: F811
) -> None:
    plant = BridgePlant(section(mosquitto)).start()
    plants.append(plant)
    wait_until(plant.connected, timeout=10)
    bridge = plant.bridge()
    errors = plant.metric("petra_driver_errors_total")
    bridge.proxy().client.get().loop_stop()  # the thread ends as if it had died: paho forgets it
    wait_until(lambda: plant.node(PATH).restarts == 1, timeout=10)
    assert plant.metric("petra_driver_errors_total") > errors
    wait_until(lambda: plant.bridge() not in (None, bridge) and plant.connected(), timeout=10)
    peer = MqttPeer(mosquitto)
    try:  # retained: "connected" does not say that the broker has taken the subscription yet
        peer.publish("t/in", "2.5", retain=True)
        wait_until(lambda: plant.value("x") == 2.5)  # the new instance subscribed again
    finally:
        peer.publish("t/in", b"", retain=True)
        peer.close()
