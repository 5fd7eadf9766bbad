"""Modbus TCP/RTU driver: pymodbus sync client, one supervised actor per connection or serial bus.

Files: `config.py` (typed model of the `modbus` section), `codec.py` (pure
register encode/decode and read coalescing), `session.py` (the pymodbus
glue), `actor.py` (the supervised actor).
"""

from __future__ import annotations

from petra.drivers.modbus.actor import ModbusConnectionActor
from petra.drivers.modbus.config import ModbusConnectionConfig, ModbusMapping, connections_from_section
from petra.plant import Plant
from supervision import ChildSpec

__all__ = ["ModbusConnectionActor", "ModbusConnectionConfig", "ModbusMapping", "child_specs",
           "connections_from_section"]


def child_specs(plant: Plant) -> list[ChildSpec]:
    """One `modbus:<name>` child per configured connection; [] without a `modbus` section."""
    return [
        ChildSpec(conn.driver_id, ModbusConnectionActor, kwargs={"plant": plant, "conn": conn},
                  shutdown_timeout=conn.timeout_s + 3.0)
        for conn in connections_from_section(plant.config.sections.get("modbus"))
    ]
