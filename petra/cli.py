"""`petra`: the runtime and its tools, one sub-command each.

The core commands (`run`, `check`, `schema`, the signing and audit tools,
`simulate`, `user`) are registered here; every section of
`petra.registry` that names `commands` adds its own (`petra mqtt`,
`petra history`, `petra twilio`, ...). Registering imports each section's
`commands.py`, which loads no driver or storage library: those load when a
command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from petra import __version__
from petra.commands import config_cmds, run, security_cmds, simulate_cmds, user_cmds
from petra.registry import SECTIONS
from petra.section import load

HELP_ORDER = ("run", "check", "schema", "keygen", "sign", "verify", "audit", "mqtt", "s7", "modbus", "simulate",
              "history", "storage", "twilio", "notify")
"""The order `petra --help` lists the commands in (as before the registry); a new command comes last."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petra", description="PETRA: Programmable Engine for Telemetry, Runtime, and Automation"
    )
    parser.add_argument("--version", action="version", version=f"petra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run.register(sub)
    config_cmds.register(sub)
    security_cmds.register(sub)
    simulate_cmds.register(sub)
    user_cmds.register(sub)
    load("petra.designer.commands:register")(sub)  # petra graph: the designer's graph of a config
    for section in SECTIONS:
        if section.commands is not None:
            load(section.commands)(sub)
    _in_help_order(sub)
    _remember_parsers(parser)
    return parser


def _in_help_order(sub: argparse._SubParsersAction) -> None:
    """List the commands in `HELP_ORDER` (help and "invalid choice" alike), whatever order registered them."""
    def rank(name: str) -> int:
        return HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)

    sub._choices_actions.sort(key=lambda action: rank(action.dest))
    ordered = sorted(sub.choices.items(), key=lambda item: rank(item[0]))
    sub.choices.clear()
    sub.choices.update(ordered)


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
    try:
        return int(args.handler(args) or 0)
    except ModuleNotFoundError as exc:  # a command that needs an extra this install does not have
        from petra.extras import missing_extra_message

        message = missing_extra_message(exc, f"petra {args.command}")
        if message is None:
            raise
        print(f"petra: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
