"""Real protocol servers on loopback: python-snap7's S7 server and a pymodbus server.

Used by `petra simulate` and by the test suite as the devices PETRA talks to.
Both bind 127.0.0.1 only (python-snap7's `start()` alone would bind 0.0.0.0),
can be stopped and started again on the same port (a PLC that reboots), and
expose their memory so a simulated process or a test can change it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterable
from typing import Any

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from snap7.server import Server as Snap7Server
from snap7.type import SrvArea

from petra.drivers.modbus.config import SerialSettings
from petra.drivers.s7.config import AREAS
from petra.rate_limited_log import RateLimitFilter

log = logging.getLogger(__name__)

_SERVER_LOGGERS = ("snap7.server", "pymodbus.logging")
"""The libraries log every bad request a client sends: a client polling a missing DB would flood the log."""


def rate_limit_server_logs() -> None:
    """Put one `RateLimitFilter` on each server library's logger (once per process)."""
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter())

S7_AREAS = {area: SrvArea[area] for area in AREAS}
MODBUS_TABLES = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}
"""Table name -> the read function code pymodbus' datastore keys the table by."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class S7Server:
    """python-snap7's server with named areas; `areas[("DB", 1)]` is the live bytearray."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.areas: dict[tuple[str, int], bytearray] = {}
        self.reads = 0
        self._server: Snap7Server | None = None
        self._lock = threading.Lock()

    def add_area(self, area: str, number: int, size: int) -> bytearray:
        """Create (or return) an area; DBs are numbered, PE/PA/MK use number 0."""
        key = (area, number if area == "DB" else 0)
        if key not in self.areas:
            self.areas[key] = bytearray(size)
            if self._server is not None:
                self._server.register_area(S7_AREAS[area], key[1], self.areas[key])
        return self.areas[key]

    def db(self, number: int) -> bytearray:
        return self.areas[("DB", number)]

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> S7Server:
        if self._server is not None:
            return self
        rate_limit_server_logs()
        server = Snap7Server(log=False)
        for (area, number), data in self.areas.items():
            server.register_area(S7_AREAS[area], number, data)
        server.set_read_events_callback(self._on_read)
        server.start_to(self.host, self.port)
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            server.destroy()

    def _on_read(self, _event: Any) -> None:
        with self._lock:
            self.reads += 1

    def __enter__(self) -> S7Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class ModbusServer:
    """A pymodbus server (TCP, or RTU on a serial port) on an event loop in a thread of its own.

    `units` maps unit id -> number of addresses in each of the four tables
    (coils, discrete inputs, holding and input registers, all from address 0).
    """

    def __init__(self, units: Iterable[int] = (1,), size: int = 1000, host: str = "127.0.0.1", port: int = 0,
                 serial_port: str | None = None, baudrate: int = 19200, parity: str = "N", stopbits: int = 1,
                 bytesize: int = 8) -> None:
        self.units = tuple(units)
        self.size = size
        self.host = host
        self.port = port or (0 if serial_port else free_port(host))
        self.serial = SerialSettings(serial_port, baudrate, parity, stopbits, bytesize) if serial_port else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self.requests = 0
        """Requests the server received (counted from its PDU trace)."""
        self._devices = [self._device(unit) for unit in self.units]

    def _device(self, unit: int) -> SimDevice:
        bits = self.size + (-self.size % 16)
        return SimDevice(unit, simdata=(
            [SimData(0, count=bits, values=False, datatype=DataType.BITS)],
            [SimData(0, count=bits, values=False, datatype=DataType.BITS)],
            [SimData(0, count=self.size, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=self.size, values=0, datatype=DataType.REGISTERS)],
        ))

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, timeout: float = 5.0) -> ModbusServer:
        if self._server is not None:
            return self
        rate_limit_server_logs()
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            if self.serial:
                server: ModbusTcpServer | ModbusSerialServer = ModbusSerialServer(
                    self._devices, framer=FramerType.RTU, port=self.serial.port,
                    baudrate=self.serial.baudrate, parity=self.serial.parity,
                    stopbits=self.serial.stopbits, bytesize=self.serial.bytesize, trace_pdu=self._trace)
            else:
                server = ModbusTcpServer(self._devices, address=(self.host, self.port), trace_pdu=self._trace)
            await server.serve_forever(background=True)
            self._server = server

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="modbus-server", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failure:
            self.stop()
            raise RuntimeError(f"modbus server did not start: {failure[0] if failure else 'timeout'}")
        return self

    def stop(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        self._server = None
        if loop is not None and loop.is_running():
            if server is not None:
                asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        self._loop = self._thread = None

    def _trace(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            self.requests += 1
        return pdu

    def _call(self, coro: Any) -> Any:
        if self._loop is None or self._server is None:
            coro.close()
            raise RuntimeError("modbus server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)

    def get(self, unit: int, table: str, address: int, count: int = 1) -> list[int] | list[bool]:
        """Current values of `count` addresses of a table ("coil", "holding_register", ...)."""
        assert self._server is not None
        return self._call(self._server.context.async_getValues(unit, MODBUS_TABLES[table], address, count))

    def set(self, unit: int, table: str, address: int, values: list[int] | list[bool]) -> None:
        """Change a table as the device's own logic would (input tables included)."""
        assert self._server is not None
        self._call(self._server.context.async_setValues(unit, MODBUS_TABLES[table], address, values))

    def __enter__(self) -> ModbusServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
