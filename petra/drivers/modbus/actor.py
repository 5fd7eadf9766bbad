"""`ModbusConnectionActor`: one supervised actor per TCP device or RTU bus (see petra.drivers.polling)."""

from __future__ import annotations

from petra.drivers.modbus.config import ModbusConnectionConfig
from petra.drivers.modbus.session import ModbusSession
from petra.drivers.polling import DriverPlan, PollingDriverActor
from petra.plant import Plant


def plan_for(conn: ModbusConnectionConfig) -> DriverPlan:
    return DriverPlan.for_mappings(conn.driver_id, conn.poll_interval_s, conn.mappings, conn.timeout_s)


class ModbusConnectionActor(PollingDriverActor):
    """Reads and writes the mappings of every unit on one connection with pymodbus."""

    def __init__(self, plant: Plant, conn: ModbusConnectionConfig) -> None:
        self.conn = conn
        super().__init__(plant, plan_for(conn), lambda metrics: ModbusSession(conn, metrics))
