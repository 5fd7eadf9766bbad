"""The MQTT section's actor: one bridge between the broker and the plant's signals."""

from __future__ import annotations

from petra.drivers.mqtt.actor import MqttBridgeActor
from petra.drivers.mqtt.config import build_config
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One bridge actor for the plant's `mqtt` section; [] without one."""
    config = build_config(plant.config)
    if config is None:
        return []
    return [ChildSpec(config.driver_id, MqttBridgeActor, kwargs={"plant": plant, "config": config})]
