"""Field tools of the S7 driver: `petra s7 connect|info|read|write|monitor` against a PLC.

They use the driver's own session and codec (`session.py`, `codec.py`), so what
a tool reads is what the runtime would read; python-snap7 loads when a command
runs. Exit codes: 0 done, 1 device error, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import TYPE_CHECKING

from petra.commands import field_tools as tools
from petra.commands.option_order import before_or_after_action
from petra.config.settings import declared_default
from petra.drivers.s7.config import AREAS, DATA_TYPES, S7Mapping, S7PlcConfig
from petra.values import CoercionError

if TYPE_CHECKING:
    from petra.drivers.s7.session import S7Session


def register(sub: argparse._SubParsersAction) -> None:
    """Add `petra s7 connect|info|read|write|monitor`."""
    s7 = sub.add_parser("s7", help="talk to a Siemens S7 PLC (python-snap7)")
    actions = s7.add_subparsers(dest="action", metavar="ACTION", required=True)
    # Options that mirror a setting take the setting's declared default.
    plc, mapping = partial(declared_default, S7PlcConfig), partial(declared_default, S7Mapping)

    def connection(parser: argparse.ArgumentParser) -> list[argparse.Action]:
        return [
            parser.add_argument("--ip", default="127.0.0.1", help="PLC address"),
            parser.add_argument("--port", type=int, default=plc("port")),
            parser.add_argument("--rack", type=int, default=plc("rack")),
            parser.add_argument("--slot", type=int, default=plc("slot"), help="1 for S7-1200/1500, 2 for S7-300"),
            parser.add_argument("--timeout", type=float, default=2.0, help="seconds"),
        ]

    def address(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--area", choices=AREAS, default="DB")
        parser.add_argument("--db", type=int, default=1, help="DB number (area DB)")
        parser.add_argument("--address", type=int, default=0, help="byte offset")
        parser.add_argument("--bit", type=int, default=0, choices=range(8), metavar="0-7")
        parser.add_argument("--data-type", choices=DATA_TYPES, default="int")
        parser.add_argument("--length", type=int, default=mapping("length"), help="characters of a STRING")

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

    session = S7Session(_s7_plc(args, direction), tools.metrics())
    session.connect()
    return session


def _s7_connect(args: argparse.Namespace) -> int:
    def run() -> int:
        session = _s7_session(args)
        print(f"connected to {args.ip}:{args.port} rack {args.rack} slot {args.slot}, PDU {session.pdu_size} bytes")
        session.close()
        return 0
    return tools.device_call(run)


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
    return tools.device_call(run)


def _s7_read(args: argparse.Namespace) -> int:
    def run() -> int:
        session = _s7_session(args)
        readings = session.poll()
        session.close()
        tools.print_readings(readings)
        return 0 if all(r.value is not None for r in readings) else 1
    return tools.device_call(run)


def _s7_write(args: argparse.Namespace) -> int:
    def run() -> int:
        try:
            value = tools.parse_value(args.value, args.data_type)
        except CoercionError as exc:
            print(f"petra: --value: {exc}", file=sys.stderr)
            return 2
        session = _s7_session(args, "write")
        session.write("value", value)
        session.close()
        print(f"wrote {value!r} to {session.plc.mappings[0].label}")
        return 0
    return tools.device_call(run)


def _s7_monitor(args: argparse.Namespace) -> int:
    from petra.drivers.s7.config import plcs_from_section
    from petra.drivers.s7.session import S7Session

    if args.config:
        section = tools.config_section(args.config, "s7")
        if section is None:
            return 2
        sessions = [S7Session(plc, tools.metrics()) for plc in plcs_from_section(section)]
    else:
        sessions = [S7Session(_s7_plc(args), tools.metrics())]
    return tools.device_call(lambda: tools.monitor(sessions, args.interval, args.count))
