"""The S7 section's actors: one supervised connection actor per configured PLC."""

from __future__ import annotations

from petra.drivers.s7.actor import S7ConnectionActor
from petra.drivers.s7.config import plcs_from_section
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One `s7:<name>` child per configured PLC; [] without an `s7` section."""
    return [
        ChildSpec(plc.driver_id, S7ConnectionActor, kwargs={"plant": plant, "plc": plc},
                  shutdown_timeout=plc.timeout_s + 3.0)
        for plc in plcs_from_section(plant.config.sections.get("s7"))
    ]
