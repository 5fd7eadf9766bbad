"""The MQTT driver: a paho-mqtt 2.x bridge between a broker and the plant's signals.

Files as in every driver folder: `config.py` (typed model of the `mqtt:`
section), `codec.py` (pure topic, payload and deadband logic), `buffer.py`
(bounded outbound buffer), `metrics.py`, `actor.py` (`MqttBridgeActor`).
"""

from __future__ import annotations

from petra.drivers.mqtt.actor import MqttBridgeActor
from petra.drivers.mqtt.config import MqttConfig, build_config
from petra.plant import Plant
from supervision import ChildSpec

__all__ = ["MqttBridgeActor", "MqttConfig", "build_config", "child_specs"]


def child_specs(plant: Plant) -> list[ChildSpec]:
    """One bridge actor for the plant's `mqtt` section; [] without one."""
    config = build_config(plant.config)
    if config is None:
        return []
    return [ChildSpec(config.driver_id, MqttBridgeActor, kwargs={"plant": plant, "config": config})]
