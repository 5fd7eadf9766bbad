"""`S7ConnectionActor`: one supervised actor per PLC, polling its mapping (see petra.drivers.polling)."""

from __future__ import annotations

from petra.drivers.polling import DriverPlan, PollingDriverActor
from petra.drivers.s7.config import S7PlcConfig
from petra.drivers.s7.session import S7Session
from petra.plant import Plant


def plan_for(plc: S7PlcConfig) -> DriverPlan:
    return DriverPlan.for_mappings(plc.driver_id, plc.poll_interval_s, plc.mappings, plc.timeout_s)


class S7ConnectionActor(PollingDriverActor):
    """Reads and writes one PLC's mapping with python-snap7."""

    def __init__(self, plant: Plant, plc: S7PlcConfig) -> None:
        self.plc = plc
        super().__init__(plant, plan_for(plc), lambda metrics: S7Session(plc, metrics))
