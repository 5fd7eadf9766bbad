"""The Modbus section's actors: one supervised actor per connection or serial bus."""

from __future__ import annotations

from petra.drivers.modbus.actor import ModbusConnectionActor
from petra.drivers.modbus.config import connections_from_section
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One `modbus:<name>` child per configured connection; [] without a `modbus` section."""
    return [
        ChildSpec(conn.driver_id, ModbusConnectionActor, kwargs={"plant": plant, "conn": conn},
                  shutdown_timeout=conn.timeout_s + 3.0)
        for conn in connections_from_section(plant.config.sections.get("modbus"))
    ]
