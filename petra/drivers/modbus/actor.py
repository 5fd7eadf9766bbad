"""`ModbusConnectionActor`: one supervised actor per TCP device or RTU bus (see petra.drivers.polling)."""

from __future__ import annotations

from petra.drivers.modbus.config import ModbusConnectionConfig
from petra.drivers.modbus.session import ModbusSession
from petra.drivers.polling import DriverPlan, PollingDriverActor
from petra.plant import Plant


def plan_for(conn: ModbusConnectionConfig) -> DriverPlan:
    return DriverPlan(
        driver_id=conn.driver_id,
        interval_s=conn.poll_interval_s,
        read_signals=tuple(m.signal for m in conn.mappings if m.reads),
        write_signals=tuple(m.signal for m in conn.mappings if m.writes),
        echo_signals=frozenset(m.signal for m in conn.mappings if m.direction == "read_write"),
        io_timeout_s=conn.timeout_s,
    )


class ModbusConnectionActor(PollingDriverActor):
    """Reads and writes the mappings of every unit on one connection with pymodbus."""

    def __init__(self, plant: Plant, conn: ModbusConnectionConfig) -> None:
        self.conn = conn
        super().__init__(plant, plan_for(conn), lambda metrics: ModbusSession(conn, metrics))
