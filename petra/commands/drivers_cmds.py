"""Field tools: `petra s7 connect|info|read|write|monitor`, `petra modbus read|write|monitor`, `petra simulate`.

They use the drivers' own sessions and codecs, so what a tool reads is what
the runtime would read. Exit codes: 0 done, 1 device error, 2 usage or config
error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from petra.commands.option_order import before_or_after_action
from petra.drivers.driver_metrics import DriverMetrics
from petra.drivers.polling import ConnectionLost, Reading, Session
from petra.values import CoercionError, DataType, Value, coerce

if TYPE_CHECKING:
    from petra.drivers.modbus.config import ModbusConnectionConfig
    from petra.drivers.s7.config import S7PlcConfig
    from petra.drivers.s7.session import S7Session

S7_TYPES = ["bool", "byte", "word", "int", "dword", "dint", "real", "lreal", "string"]
MODBUS_TYPES = ["bool", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64", "string"]
MODBUS_TABLES = ["coil", "discrete_input", "holding_register", "input_register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `s7`, `modbus` and `simulate` sub-commands."""
    _register_s7(sub)
    _register_modbus(sub)
    simulate = sub.add_parser("simulate", help="run a simulated plant: an S7 and a Modbus server on loopback")
    simulate.add_argument("--s7-port", type=int, default=10102, help="S7 server port (default 10102; 0 = any)")
    simulate.add_argument("--modbus-port", type=int, default=10502, help="Modbus TCP port (default 10502; 0 = any)")
    simulate.add_argument("--print-config", action="store_true", help="print the PETRA config snippet and exit")
    simulate.add_argument("--config-out", metavar="FILE",
                          help="write the config snippet to FILE instead of stdout")
    simulate.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    simulate.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None,
                          help="log level of the servers' log on stderr (default: PETRA_LOG, else warning)")
    simulate.set_defaults(handler=_simulate)


# -- S7 ---------------------------------------------------------------------------------------------------------

def _register_s7(sub: argparse._SubParsersAction) -> None:
    s7 = sub.add_parser("s7", help="talk to a Siemens S7 PLC (python-snap7)")
    actions = s7.add_subparsers(dest="action", metavar="ACTION", required=True)

    def connection(parser: argparse.ArgumentParser) -> list[argparse.Action]:
        return [
            parser.add_argument("--ip", default="127.0.0.1", help="PLC address"),
            parser.add_argument("--port", type=int, default=102),
            parser.add_argument("--rack", type=int, default=0),
            parser.add_argument("--slot", type=int, default=1, help="1 for S7-1200/1500, 2 for S7-300"),
            parser.add_argument("--timeout", type=float, default=2.0, help="seconds"),
        ]

    def address(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--area", choices=["DB", "MK", "PE", "PA"], default="DB")
        parser.add_argument("--db", type=int, default=1, help="DB number (area DB)")
        parser.add_argument("--address", type=int, default=0, help="byte offset")
        parser.add_argument("--bit", type=int, default=0, choices=range(8), metavar="0-7")
        parser.add_argument("--data-type", choices=S7_TYPES, default="int")
        parser.add_argument("--length", type=int, default=254, help="characters of a STRING")

    connect = actions.add_parser("connect", help="connect and report the PDU size")
    connect.set_defaults(handler=_s7_connect)
    info = actions.add_parser("info", help="CPU state and identity")
    info.set_defaults(handler=_s7_info)
    read = actions.add_parser("read", help="read one value")
    address(read)
    read.set_defaults(handler=_s7_read)
    write = actions.add_parser("write", help="write one value")
    address(write)
    write.add_argument("--value", required=True)
    write.set_defaults(handler=_s7_write)
    monitor = actions.add_parser("monitor", help="poll one address, or every s7 mapping of a config")
    address(monitor)
    monitor.add_argument("--config", help="PETRA config: monitor its s7 mappings")
    monitor.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    monitor.add_argument("--count", type=int, default=0, help="stop after this many polls (0: until Ctrl-C)")
    monitor.set_defaults(handler=_s7_monitor)
    before_or_after_action(s7, (connect, info, read, write, monitor), connection)


def _metrics() -> DriverMetrics:
    return DriverMetrics.for_driver(CollectorRegistry(), "tool")


def _s7_plc(args: argparse.Namespace, direction: str = "read") -> S7PlcConfig:
    from petra.drivers.s7.config import S7Mapping, S7PlcConfig

    mappings: tuple[S7Mapping, ...] = ()
    if hasattr(args, "area"):
        mappings = (S7Mapping("value", args.area, args.address, args.data_type,
                              db_number=args.db if args.area == "DB" else 0, bit=args.bit,
                              direction=direction, length=args.length),)
    return S7PlcConfig(name="tool", ip=args.ip, rack=args.rack, slot=args.slot, port=args.port,
                       timeout_ms=round(args.timeout * 1000), mappings=mappings)


def _s7_session(args: argparse.Namespace, direction: str = "read") -> S7Session:
    from petra.drivers.s7.session import S7Session

    session = S7Session(_s7_plc(args, direction), _metrics())
    session.connect()
    return session


def _device_call(action: Callable[[], int]) -> int:
    try:
        return action()
    except ConnectionLost as exc:
        print(f"petra: cannot reach the device: {exc}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"petra: {exc}", file=sys.stderr)
        return 1


def _s7_connect(args: argparse.Namespace) -> int:
    def run() -> int:
        session = _s7_session(args)
        print(f"connected to {args.ip}:{args.port} rack {args.rack} slot {args.slot}, PDU {session.pdu_size} bytes")
        session.close()
        return 0
    return _device_call(run)


def _s7_info(args: argparse.Namespace) -> int:
    from petra.drivers.s7.plc_info import cpu_state_text, fields_text, order_code_text

    def run() -> int:
        session = _s7_session(args)
        client = session.client
        assert client is not None, "a connected session has a client"
        print(f"PLC {args.ip}:{args.port}  PDU {session.pdu_size} bytes")
        for label, call, text in (("CPU state", client.get_cpu_state, cpu_state_text),
                                  ("CPU info", client.get_cpu_info, fields_text),
                                  ("order code", client.get_order_code, order_code_text)):
            try:
                print(f"{label}: {text(call())}")
            except Exception as exc:  # not every PLC (or simulator) answers every SZL query
                print(f"{label}: not available ({exc})")
        session.close()
        return 0
    return _device_call(run)


def _print_readings(readings: Sequence[Reading], stamp: bool = False) -> None:
    prefix = time.strftime("%H:%M:%S ") if stamp else ""
    for reading in readings:
        shown = "BAD" if reading.value is None else repr(reading.value)
        print(f"{prefix}{reading.signal} = {shown}")


def _s7_read(args: argparse.Namespace) -> int:
    def run() -> int:
        session = _s7_session(args)
        readings = session.poll()
        session.close()
        _print_readings(readings)
        return 0 if all(r.value is not None for r in readings) else 1
    return _device_call(run)


def _parse(value: str, data_type: str) -> Value:
    kind = {"bool": DataType.BOOL, "string": DataType.STRING, "real": DataType.FLOAT, "lreal": DataType.FLOAT,
            "float32": DataType.FLOAT, "float64": DataType.FLOAT}.get(data_type, DataType.INT)
    return coerce(value, kind)


def _s7_write(args: argparse.Namespace) -> int:
    def run() -> int:
        try:
            value = _parse(args.value, args.data_type)
        except CoercionError as exc:
            print(f"petra: --value: {exc}", file=sys.stderr)
            return 2
        session = _s7_session(args, "write")
        session.write("value", value)
        session.close()
        print(f"wrote {value!r} to {session.plc.mappings[0].label}")
        return 0
    return _device_call(run)


def _monitor(sessions: Sequence[Session], interval: float, count: int) -> int:
    try:
        for session in sessions:
            session.connect()
        done = 0
        while count == 0 or done < count:
            for session in sessions:
                _print_readings(session.poll(), stamp=True)
            done += 1
            if count == 0 or done < count:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for session in sessions:
            session.close()
    return 0


def _config_section(path: str, section: str) -> object | None:
    from petra.commands.common import load_sections_or_report

    loaded = load_sections_or_report(path, (section,))
    if loaded is None:
        return None
    return loaded.sections.get(section) or []


def _s7_monitor(args: argparse.Namespace) -> int:
    from petra.drivers.s7.config import plcs_from_section
    from petra.drivers.s7.session import S7Session

    if args.config:
        section = _config_section(args.config, "s7")
        if section is None:
            return 2
        sessions = [S7Session(plc, _metrics()) for plc in plcs_from_section(section)]
    else:
        sessions = [S7Session(_s7_plc(args), _metrics())]
    return _device_call(lambda: _monitor(sessions, args.interval, args.count))


# -- Modbus -----------------------------------------------------------------------------------------------------

def _register_modbus(sub: argparse._SubParsersAction) -> None:
    modbus = sub.add_parser("modbus", help="talk to a Modbus TCP or RTU device (pymodbus)")
    actions = modbus.add_subparsers(dest="action", metavar="ACTION", required=True)

    def connection(parser: argparse.ArgumentParser) -> list[argparse.Action]:
        return [
            parser.add_argument("--host", default="127.0.0.1"),
            parser.add_argument("--port", type=int, default=502),
            parser.add_argument("--serial", help="serial device for RTU, e.g. /dev/ttyUSB0 (instead of --host)"),
            parser.add_argument("--baudrate", type=int, default=9600),
            parser.add_argument("--parity", choices=["N", "E", "O"], default="N"),
            parser.add_argument("--stopbits", type=int, choices=[1, 2], default=1),
            parser.add_argument("--bytesize", type=int, choices=[7, 8], default=8),
            parser.add_argument("--timeout", type=float, default=1.0, help="seconds"),
            parser.add_argument("--unit", type=int, default=1, help="unit (slave/device) id"),
        ]

    def address(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--table", choices=MODBUS_TABLES, default="holding_register")
        parser.add_argument("--address", type=int, default=0, help="protocol address, from 0")
        parser.add_argument("--data-type", choices=MODBUS_TYPES, default=None,
                            help="default: bool for coils and discrete inputs, else uint16")
        parser.add_argument("--count", type=int, default=1, help="consecutive values to read")
        parser.add_argument("--length", type=int, default=1, help="registers of a string")
        parser.add_argument("--byte-order", choices=["big", "little"], default="big")
        parser.add_argument("--word-order", choices=["big", "little"], default="big")

    read = actions.add_parser("read", help="read values")
    address(read)
    read.set_defaults(handler=_modbus_read)
    write = actions.add_parser("write", help="write one value to a coil or holding register")
    address(write)
    write.add_argument("--value", required=True)
    write.set_defaults(handler=_modbus_write)
    monitor = actions.add_parser("monitor", help="poll addresses, or every modbus mapping of a config")
    address(monitor)
    monitor.add_argument("--config", help="PETRA config: monitor its modbus mappings")
    monitor.add_argument("--interval", type=float, default=1.0)
    monitor.add_argument("--polls", type=int, default=0, help="stop after this many polls (0: until Ctrl-C)")
    monitor.set_defaults(handler=_modbus_monitor)
    before_or_after_action(modbus, (read, write, monitor), connection)


def _modbus_conn(args: argparse.Namespace, direction: str = "read") -> ModbusConnectionConfig:
    from petra.drivers.modbus.codec import mapping_width
    from petra.drivers.modbus.config import ModbusConnectionConfig, ModbusMapping, SerialSettings

    data_type = args.data_type or ("bool" if args.table in ("coil", "discrete_input") else "uint16")
    mappings = []
    address = args.address
    for _ in range(max(1, args.count)):
        mapping = ModbusMapping(f"{args.table}[{address}]", args.table, address, data_type, unit_id=args.unit,
                                length=args.length, byte_order=args.byte_order, word_order=args.word_order,
                                direction=direction)
        mappings.append(mapping)
        address += mapping_width(mapping)
    serial = SerialSettings(args.serial, args.baudrate, args.parity, args.stopbits, args.bytesize) \
        if args.serial else None
    return ModbusConnectionConfig(name="tool", transport="rtu" if serial else "tcp", host=args.host, port=args.port,
                                  serial=serial, timeout_ms=round(args.timeout * 1000), mappings=tuple(mappings))


def _modbus_read(args: argparse.Namespace) -> int:
    from petra.drivers.modbus.session import ModbusSession

    def run() -> int:
        session = ModbusSession(_modbus_conn(args), _metrics())
        session.connect()
        readings = session.poll()
        session.close()
        _print_readings(readings)
        return 0 if all(r.value is not None for r in readings) else 1
    return _device_call(run)


def _modbus_write(args: argparse.Namespace) -> int:
    from petra.drivers.modbus.session import ModbusSession

    if args.table not in ("coil", "holding_register"):
        print(f"petra: a {args.table} is read-only", file=sys.stderr)
        return 2
    conn = _modbus_conn(args, "write")
    mapping = conn.mappings[0]
    try:
        value = _parse(args.value, mapping.data_type)
    except CoercionError as exc:
        print(f"petra: --value: {exc}", file=sys.stderr)
        return 2

    def run() -> int:
        session = ModbusSession(conn, _metrics())
        session.connect()
        try:
            session.write(mapping.signal, value)
        finally:
            session.close()
        print(f"wrote {value!r} to unit {mapping.unit_id} {mapping.signal}")
        return 0
    return _device_call(run)


def _modbus_monitor(args: argparse.Namespace) -> int:
    from petra.drivers.modbus.config import connections_from_section
    from petra.drivers.modbus.session import ModbusSession

    if args.config:
        section = _config_section(args.config, "modbus")
        if section is None:
            return 2
        sessions = [ModbusSession(conn, _metrics()) for conn in connections_from_section(section)]
    else:
        sessions = [ModbusSession(_modbus_conn(args), _metrics())]
    return _device_call(lambda: _monitor(sessions, args.interval, args.polls))


# -- simulate ---------------------------------------------------------------------------------------------------

def _simulate(args: argparse.Namespace) -> int:
    """Only the config snippet goes to stdout (or --config-out); the servers' own log is PETRA's log on stderr."""
    from petra.logs import setup_logging
    from petra.simulator import Simulator

    simulator = Simulator(s7_port=args.s7_port, modbus_port=args.modbus_port)
    if args.print_config:
        return _emit_snippet(simulator.config_snippet(), args.config_out)
    if not logging.getLogger().handlers:  # not when embedded (tests) where logging is configured already
        setup_logging(args.log_level or os.environ.get("PETRA_LOG") or "warning")
    try:
        simulator.start()
    except Exception as exc:
        print(f"petra: cannot start the simulator: {exc}", file=sys.stderr)
        return 1
    try:
        if _emit_snippet(simulator.config_snippet(), args.config_out):
            return 1
        print(f"# simulating: S7 on 127.0.0.1:{simulator.s7_port}, Modbus TCP on 127.0.0.1:{simulator.modbus_port}; "
              "Ctrl-C stops", file=sys.stderr, flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


def _emit_snippet(snippet: str, path: str | None) -> int:
    if path is None:
        print(snippet, end="", flush=True)
        return 0
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_text(snippet, encoding="utf-8")
        partial.replace(target)  # a reader sees the whole file or none
    except OSError as exc:
        print(f"petra: --config-out: {exc}", file=sys.stderr)
        return 1
    return 0
