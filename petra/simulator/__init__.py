"""The plant simulator: real S7 and Modbus servers on loopback, fed by a simulated process.

`Simulator` starts python-snap7's server (the "tank" PLC) and a pymodbus TCP
server (the "heater" controller, unit 1), steps a `SimulatedProcess` at 10 Hz
and copies its state into the servers' memory and PETRA's commands back out.
`config_snippet()` is PETRA YAML that connects to both. `petra simulate` runs it.

Memory layout (what the snippet maps):

=================  ==============================  ===========
where              what                            direction
=================  ==============================  ===========
DB1.DBD0  REAL     tank level, m                   PLC -> PETRA
DB1.DBD4  REAL     inflow, m³/h                    PLC -> PETRA
DB1.DBD8  REAL     outflow, m³/h                   PLC -> PETRA
DB1.DBX12.0/.1     level high / low switches       PLC -> PETRA
DB1.DBX14.0        pump on                         PETRA -> PLC
DB1.DBD16 REAL     valve opening, %                PETRA -> PLC
DB1.DBD20 DINT     process steps                   PLC -> PETRA
IR 0-1 FLOAT32     vessel temperature, °C          device -> PETRA
DI 0               heater running                  device -> PETRA
coil 0             heater on                       PETRA -> device
=================  ==============================  ===========
"""

from __future__ import annotations

import logging
import struct
import threading
import time

from petra.drivers.modbus.codec import decode as modbus_decode
from petra.drivers.modbus.codec import encode as modbus_encode
from petra.simulator.process import SimulatedProcess
from petra.simulator.servers import ModbusServer, S7Server

__all__ = ["SimulatedProcess", "Simulator"]

log = logging.getLogger(__name__)


class Simulator:
    """Both servers plus the process thread; `start()`/`stop()`, ports in `s7_port`/`modbus_port`."""

    def __init__(self, s7_port: int = 0, modbus_port: int = 0, step_s: float = 0.1,
                 process: SimulatedProcess | None = None) -> None:
        self.process = process or SimulatedProcess()
        self.step_s = step_s
        self.s7 = S7Server(port=s7_port)
        self.db = self.s7.add_area("DB", 1, 32)
        self.modbus = ModbusServer(units=(1,), size=16, port=modbus_port)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def s7_port(self) -> int:
        return self.s7.port

    @property
    def modbus_port(self) -> int:
        return self.modbus.port

    def start(self) -> Simulator:
        struct.pack_into(">f", self.db, 16, self.process.valve_open_pct)
        self.s7.start()
        self.modbus.start()
        self._publish()
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="petra-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.modbus.stop()
        self.s7.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def step(self, dt_s: float | None = None) -> None:
        """Read PETRA's commands, advance the process one step, publish its state."""
        with self._lock:
            process = self.process
            process.pump_on = bool(self.db[14] & 1)
            process.valve_open_pct = struct.unpack_from(">f", self.db, 16)[0]
            process.heater_on = bool(self.modbus.get(1, "coil", 0, 1)[0])
            process.step(self.step_s if dt_s is None else dt_s)
            self._publish()

    def _publish(self) -> None:
        p = self.process
        struct.pack_into(">fff", self.db, 0, p.level_m, p.inflow_m3h, p.outflow_m3h)
        self.db[12] = (1 if p.level_high else 0) | (2 if p.level_low else 0)
        struct.pack_into(">i", self.db, 20, p.steps)
        self.modbus.set(1, "input_register", 0, modbus_encode("float32", p.temperature_c))
        self.modbus.set(1, "discrete_input", 0, [p.heater_on])

    def temperature(self) -> float:
        """The temperature as the Modbus device reports it."""
        return float(modbus_decode("float32", self.modbus.get(1, "input_register", 0, 2)))

    def _run(self) -> None:
        deadline = time.monotonic()
        while not self._halt.is_set():
            try:
                self.step()
            except Exception:  # a stopped server during shutdown; the next step retries
                log.debug("simulator step failed", exc_info=True)
            deadline += self.step_s
            self._halt.wait(max(0.0, deadline - time.monotonic()))

    def config_snippet(self, poll_interval_ms: int = 100) -> str:
        """PETRA YAML that connects to this simulator (a complete, loadable config)."""
        return SNIPPET.format(s7_port=self.s7_port, modbus_port=self.modbus_port, poll=poll_interval_ms)


SNIPPET = """\
# PETRA connected to `petra simulate` (S7 on 127.0.0.1:{s7_port}, Modbus TCP on 127.0.0.1:{modbus_port}).
node_id: simulator
scan_time_ms: 100

signals:
  - name: valve_open_pct
    type: float
    initial: 50.0
    unit: "%"

s7:
  - name: tank
    ip: 127.0.0.1
    port: {s7_port}
    rack: 0
    slot: 1
    poll_interval_ms: {poll}
    timeout_ms: 1000
    mappings:
      - {{signal: tank_level_m, area: DB, db_number: 1, address: 0, data_type: real}}
      - {{signal: tank_inflow_m3h, area: DB, db_number: 1, address: 4, data_type: real}}
      - {{signal: tank_outflow_m3h, area: DB, db_number: 1, address: 8, data_type: real}}
      - {{signal: tank_level_high, area: DB, db_number: 1, address: 12, bit: 0, data_type: bool}}
      - {{signal: tank_level_low, area: DB, db_number: 1, address: 12, bit: 1, data_type: bool}}
      - {{signal: pump_on, area: DB, db_number: 1, address: 14, bit: 0, data_type: bool, direction: write}}
      - {{signal: valve_open_pct, area: DB, db_number: 1, address: 16, data_type: real, direction: write}}
      - {{signal: process_steps, area: DB, db_number: 1, address: 20, data_type: dint}}

modbus:
  - name: heater
    transport: tcp
    host: 127.0.0.1
    port: {modbus_port}
    timeout_ms: 1000
    poll_interval_ms: {poll}
    mappings:
      - {{signal: vessel_temp_c, unit_id: 1, table: input_register, address: 0, data_type: float32}}
      - {{signal: heater_running, unit_id: 1, table: discrete_input, address: 0, data_type: bool}}
      - {{signal: heater_on, unit_id: 1, table: coil, address: 0, data_type: bool, direction: write}}

blocks:
  # Keep the tank between the switches: pump on below 2 m, off above 3 m.
  - name: tank_refill
    type: SR
    inputs: {{s1: tank_below_2m, r: tank_above_3m}}
    outputs: {{q1: pump_on}}
  - name: below_2m
    type: LT
    inputs: {{in1: tank_level_m, in2: 2.0}}
    outputs: {{out: tank_below_2m}}
  - name: above_3m
    type: GT
    inputs: {{in1: tank_level_m, in2: 3.0}}
    outputs: {{out: tank_above_3m}}
  # Heat the vessel to 60 degC.
  - name: heat
    type: LT
    inputs: {{in1: vessel_temp_c, in2: 60.0}}
    outputs: {{out: heater_on}}
"""
