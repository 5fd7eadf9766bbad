"""The pymodbus glue of one connection (TCP device or RTU bus): connect, coalesced reads, writes.

pymodbus' synchronous clients are used from the driver's poll thread: a
request/response round trip on loopback is ~0.2 ms with no event loop to run,
and the poll thread is blocking by design. Errors come back from the device as
`ExceptionResponse` (illegal address, unknown unit, ...): those mark only the
mappings of that read bad and are counted. A connection that fails (TCP) or a
serial port that cannot be opened raises `ConnectionLost`; on an RTU bus a
unit that does not answer is a per-read error, the bus itself stays up.
"""

from __future__ import annotations

import logging
from typing import Any

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from petra.drivers.driver_metrics import DriverMetrics
from petra.drivers.modbus.codec import (
    ModbusDecodeError,
    ReadRequest,
    decode,
    encode,
    mapping_width,
    plan_reads,
    to_raw,
    to_signal,
)
from petra.drivers.modbus.config import ModbusConnectionConfig, ModbusMapping
from petra.drivers.polling import ConnectionLost, Reading
from petra.rate_limited_log import RateLimitedLog
from petra.values import Value

log = logging.getLogger(__name__)

_READERS = {
    "coil": "read_coils",
    "discrete_input": "read_discrete_inputs",
    "holding_register": "read_holding_registers",
    "input_register": "read_input_registers",
}


class ModbusRequestError(RuntimeError):
    """The device answered a request with an exception response or nothing usable."""


class NoAnswer(ModbusRequestError):
    """Nothing came back from the unit (RTU: a unit that is absent or off)."""


def make_client(conn: ModbusConnectionConfig) -> ModbusTcpClient | ModbusSerialClient:
    """A pymodbus sync client for `conn`, not yet connected (no retries: the driver polls again)."""
    if conn.serial is not None:
        s = conn.serial
        return ModbusSerialClient(port=s.port, baudrate=s.baudrate, parity=s.parity, stopbits=s.stopbits,
                                  bytesize=s.bytesize, timeout=conn.timeout_s, retries=0)
    return ModbusTcpClient(conn.host, port=conn.port, timeout=conn.timeout_s, retries=0)


class ModbusSession:
    """One pymodbus client for one device or bus."""

    def __init__(self, conn: ModbusConnectionConfig, metrics: DriverMetrics) -> None:
        self.conn = conn
        self.metrics = metrics
        self.reads: tuple[ModbusMapping, ...] = tuple(m for m in conn.mappings if m.reads)
        self.writes: dict[str, ModbusMapping] = {m.signal: m for m in conn.mappings if m.writes}
        self.plan: list[ReadRequest] = plan_reads(self.reads)
        self.client: ModbusTcpClient | ModbusSerialClient | None = None
        self._rlog = RateLimitedLog(log)

    @property
    def requests_per_poll(self) -> int:
        return len(self.plan)

    def connect(self) -> None:
        client = make_client(self.conn)
        try:
            ok = client.connect()
        except (ModbusException, OSError) as exc:
            client.close()
            raise ConnectionLost(f"{self.conn.target}: {exc}") from exc
        if not ok:
            client.close()
            raise ConnectionLost(f"{self.conn.target}: cannot connect")
        self.client = client
        self.plan = plan_reads(self.reads)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def _execute(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.client is None:
            raise ConnectionLost("not connected")
        self.metrics.requests.inc()
        try:
            response = getattr(self.client, method)(*args, **kwargs)
        except ConnectionException as exc:
            raise ConnectionLost(str(exc)) from exc
        except ModbusIOException as exc:
            if self.conn.serial is None:
                raise ConnectionLost(str(exc)) from exc
            raise NoAnswer(f"no answer: {exc}") from exc
        except OSError as exc:
            raise ConnectionLost(str(exc)) from exc
        if response is None or response.isError():
            raise ModbusRequestError(f"{method} answered {response}")
        return response

    def read(self, request: ReadRequest) -> list[int] | list[bool]:
        """The values of one coalesced read; ModbusRequestError when unusable."""
        response = self._execute(_READERS[request.table], request.address, count=request.count,
                                 device_id=request.unit_id)
        values = response.bits if request.table in ("coil", "discrete_input") else response.registers
        if len(values) < request.count:
            raise ModbusRequestError(f"asked for {request.count} values, got {len(values)}")
        return values[:request.count]

    def poll(self) -> list[Reading]:
        """Read every unit's mappings. A coalesced read that gets an error answer (e.g. a hole in
        the device's map) is split into one read per mapping for good, so it costs only itself.
        A unit that does not answer at all is not split (that would only multiply the timeouts);
        when no unit answers anything, the bus is as good as gone: ConnectionLost."""
        readings: list[Reading] = []
        queue = list(self.plan)
        plan: list[ReadRequest] = []
        answered = not queue
        silent: list[tuple[ReadRequest, list[ModbusMapping], str]] = []
        while queue:
            request = queue.pop(0)
            members = [self.reads[i] for i in request.members]
            try:
                values = self.read(request)
            except ModbusRequestError as exc:
                answered = answered or not isinstance(exc, NoAnswer)
                if len(members) > 1 and not isinstance(exc, NoAnswer):
                    queue[0:0] = [ReadRequest(request.unit_id, request.table, self.reads[i].address,
                                              mapping_width(self.reads[i]), (i,)) for i in request.members]
                    continue
                plan.append(request)
                if isinstance(exc, NoAnswer):
                    silent.append((request, members, str(exc)))
                else:
                    self._failed(request, members, str(exc))
                readings.extend(Reading(m.signal, None) for m in members)
                continue
            answered = True
            plan.append(request)
            for mapping in members:
                offset = mapping.address - request.address
                try:
                    if mapping.is_bit:
                        raw: Value = bool(values[offset])
                    else:
                        raw = decode(mapping.data_type, values[offset:], mapping.byte_order,
                                     mapping.word_order, mapping.length)
                except ModbusDecodeError as exc:
                    self._failed(request, [mapping], str(exc))
                    readings.append(Reading(mapping.signal, None))
                    continue
                readings.append(Reading(mapping.signal, to_signal(mapping, raw)))
        self.plan = plan
        if not answered:
            raise ConnectionLost(f"{self.conn.target}: no unit answered")
        for request, members, why in silent:
            self._failed(request, members, why)
        return readings

    def _failed(self, request: ReadRequest, members: list[ModbusMapping], why: str) -> None:
        self.metrics.errors.inc()
        self._rlog.warning(f"{request.unit_id}:{request.table}@{request.address}", "modbus:%s unit %d %s@%d: %s (%s)",
                           self.conn.name, request.unit_id, request.table, request.address, why,
                           ", ".join(m.signal for m in members[:5]))

    def write(self, signal: str, value: Value) -> None:
        mapping = self.writes[signal]
        raw = to_raw(mapping, value)
        if mapping.table == "coil":
            self._execute("write_coil", mapping.address, bool(raw), device_id=mapping.unit_id)
            return
        registers = encode(mapping.data_type, raw, mapping.byte_order, mapping.word_order, mapping.length)
        if len(registers) == 1:
            self._execute("write_register", mapping.address, registers[0], device_id=mapping.unit_id)
        else:
            self._execute("write_registers", mapping.address, registers, device_id=mapping.unit_id)
