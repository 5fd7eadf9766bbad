"""`petra`: the runtime and its tools, one sub-command each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from petra import __version__
from petra.commands import alarm_cmds, config_cmds, drivers_cmds, history_cmds, mqtt_cmds, run, security_cmds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petra", description="PETRA: Programmable Engine for Telemetry, Runtime, and Automation"
    )
    parser.add_argument("--version", action="version", version=f"petra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run.register(sub)
    config_cmds.register(sub)
    security_cmds.register(sub)
    mqtt_cmds.register(sub)
    drivers_cmds.register(sub)
    history_cmds.register(sub)
    alarm_cmds.register(sub)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Each sub-command's parser puts itself in the namespace, so errors show that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(_command_parser=sub)
                _remember_parsers(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would report these under the top-level usage
        getattr(args, "_command_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
