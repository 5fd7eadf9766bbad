"""Field tools of the Modbus driver: `petra modbus read|write|monitor` against a TCP or RTU device.

They use the driver's own session and codec (`session.py`, `codec.py`), so what
a tool reads is what the runtime would read; pymodbus loads when a command
runs. Exit codes: 0 done, 1 device error, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from petra.commands import field_tools as tools
from petra.commands.option_order import before_or_after_action
from petra.config.settings import declared_default
from petra.drivers.modbus.config import DATA_TYPES, TABLES, ModbusConnectionConfig, ModbusMapping, SerialSettings
from petra.values import CoercionError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `petra modbus read|write|monitor`."""
    modbus = sub.add_parser("modbus", help="talk to a Modbus TCP or RTU device (pymodbus)")
    actions = modbus.add_subparsers(dest="action", metavar="ACTION", required=True)
    # Options that mirror a setting take the setting's declared default.
    device, line, mapping = (partial(declared_default, cls) for cls in (ModbusConnectionConfig, SerialSettings,
                                                                         ModbusMapping))

    def connection(parser: argparse.ArgumentParser) -> list[argparse.Action]:
        return [
            parser.add_argument("--host", default="127.0.0.1"),
            parser.add_argument("--port", type=int, default=device("port")),
            parser.add_argument("--serial", help="serial device for RTU, e.g. /dev/ttyUSB0 (instead of --host)"),
            parser.add_argument("--baudrate", type=int, default=line("baudrate")),
            parser.add_argument("--parity", choices=["N", "E", "O"], default=line("parity")),
            parser.add_argument("--stopbits", type=int, choices=[1, 2], default=line("stopbits")),
            parser.add_argument("--bytesize", type=int, choices=[7, 8], default=line("bytesize")),
            parser.add_argument("--timeout", type=float, default=1.0, help="seconds"),
            parser.add_argument("--unit", type=int, default=1, help="unit (slave/device) id"),
        ]

    def address(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--table", choices=TABLES, default="holding_register")
        parser.add_argument("--address", type=int, default=0, help="protocol address, from 0")
        parser.add_argument("--data-type", choices=DATA_TYPES, default=None,
                            help="default: bool for coils and discrete inputs, else uint16")
        parser.add_argument("--count", type=int, default=1, help="consecutive values to read")
        parser.add_argument("--length", type=int, default=1, help="registers of a string")
        parser.add_argument("--byte-order", choices=["big", "little"], default=mapping("byte_order"))
        parser.add_argument("--word-order", choices=["big", "little"], default=mapping("word_order"))

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
        session = ModbusSession(_modbus_conn(args), tools.metrics())
        session.connect()
        readings = session.poll()
        session.close()
        tools.print_readings(readings)
        return 0 if all(r.value is not None for r in readings) else 1
    return tools.device_call(run)


def _modbus_write(args: argparse.Namespace) -> int:
    from petra.drivers.modbus.session import ModbusSession

    if args.table not in ("coil", "holding_register"):
        print(f"petra: a {args.table} is read-only", file=sys.stderr)
        return 2
    conn = _modbus_conn(args, "write")
    mapping = conn.mappings[0]
    try:
        value = tools.parse_value(args.value, mapping.data_type)
    except CoercionError as exc:
        print(f"petra: --value: {exc}", file=sys.stderr)
        return 2

    def run() -> int:
        session = ModbusSession(conn, tools.metrics())
        session.connect()
        try:
            session.write(mapping.signal, value)
        finally:
            session.close()
        print(f"wrote {value!r} to unit {mapping.unit_id} {mapping.signal}")
        return 0
    return tools.device_call(run)


def _modbus_monitor(args: argparse.Namespace) -> int:
    from petra.drivers.modbus.config import connections_from_section
    from petra.drivers.modbus.session import ModbusSession

    if args.config:
        section = tools.config_section(args.config, "modbus")
        if section is None:
            return 2
        sessions = [ModbusSession(conn, tools.metrics()) for conn in connections_from_section(section)]
    else:
        sessions = [ModbusSession(_modbus_conn(args), tools.metrics())]
    return tools.device_call(lambda: tools.monitor(sessions, args.interval, args.polls))
