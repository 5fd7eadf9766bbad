"""`S7ConnectionActor`: one supervised actor per PLC, polling its mapping (see petra.drivers.polling)."""

from __future__ import annotations

from petra.drivers.polling import DriverPlan, PollingDriverActor
from petra.drivers.s7.config import S7PlcConfig
from petra.drivers.s7.session import S7Session
from petra.plant import Plant


def plan_for(plc: S7PlcConfig) -> DriverPlan:
    return DriverPlan(
        driver_id=plc.driver_id,
        interval_s=plc.poll_interval_s,
        read_signals=tuple(m.signal for m in plc.mappings if m.reads),
        write_signals=tuple(m.signal for m in plc.mappings if m.writes),
        echo_signals=frozenset(m.signal for m in plc.mappings if m.direction == "read_write"),
        io_timeout_s=plc.timeout_s,
    )


class S7ConnectionActor(PollingDriverActor):
    """Reads and writes one PLC's mapping with python-snap7."""

    def __init__(self, plant: Plant, plc: S7PlcConfig) -> None:
        self.plc = plc
        super().__init__(plant, plan_for(plc), lambda metrics: S7Session(plc, metrics))
