"""The Sparkplug section's actor: one edge node for the plant."""

from __future__ import annotations

from petra.drivers.sparkplug.actor import SparkplugNode
from petra.drivers.sparkplug.settings import build_config
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One edge node actor for the plant's `sparkplug` section; [] without one."""
    config = build_config(plant.config)
    if config is None:
        return []
    return [ChildSpec(config.driver_id, SparkplugNode, kwargs={"plant": plant, "config": config, "wiring": wiring},
                      shutdown_timeout=10.0)]
