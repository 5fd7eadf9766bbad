"""Siemens S7 driver: python-snap7 client, one supervised actor per PLC.

Files: `config.py` (typed model of the `s7` section), `codec.py` (pure
encode/decode and read coalescing), `session.py` (the snap7 glue),
`actor.py` (the supervised actor).
"""

from __future__ import annotations

from petra.drivers.s7.actor import S7ConnectionActor
from petra.drivers.s7.config import S7Mapping, S7PlcConfig, plcs_from_section
from petra.plant import Plant
from supervision import ChildSpec

__all__ = ["S7ConnectionActor", "S7Mapping", "S7PlcConfig", "child_specs", "plcs_from_section"]


def child_specs(plant: Plant) -> list[ChildSpec]:
    """One `s7:<name>` child per configured PLC; [] without an `s7` section."""
    return [
        ChildSpec(plc.driver_id, S7ConnectionActor, kwargs={"plant": plant, "plc": plc},
                  shutdown_timeout=plc.timeout_s + 3.0)
        for plc in plcs_from_section(plant.config.sections.get("s7"))
    ]
