"""`petra simulate`: a simulated plant, an S7 and a Modbus server on loopback, for trying PETRA without hardware.

The simulator (`petra.simulator`) is not a section: it stands in for the
devices the S7 and Modbus drivers talk to, so its command is a core one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add `petra simulate`."""
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
