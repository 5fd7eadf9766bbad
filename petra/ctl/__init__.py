"""petra-ctl: the operator's command line over PETRA's control API.

The commands on the plant as a whole are here (`commands.py`); a section of
`petra.registry` that names `ctl` adds its own (the alarm section: `alarms`, `ack`).

Exit codes: 0 ok, 1 the request was refused, 2 usage, 3 PETRA cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from petra import __version__
from petra.control.paths import default_socket_path
from petra.ctl import commands
from petra.ctl.client import ControlClient, CtlError, Refused, Target, Unreachable
from petra.paths import chain_path
from petra.registry import SECTIONS
from petra.section import load

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_UNREACHABLE", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
FAULTS = ("crash", "hang", "slow", "raise-on-next")


def _connection_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options, accepted before or after the command (`petra-ctl status --json`)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output")
    group.add_argument("--socket", type=Path, metavar="PATH", default=default(None),
                       help="control socket (default: $PETRA_SOCKET, else the service's)")
    group.add_argument("--url", metavar="URL", default=default(None),
                       help="reach PETRA over TCP instead, e.g. https://plc1:8443")
    group.add_argument("--token", metavar="TOKEN", default=default(None),
                       help="bearer token for --url (default: $PETRA_TOKEN)")
    group.add_argument("--cacert", metavar="FILE", default=default(None), help="CA certificate to trust for --url")
    group.add_argument("--json", action="store_true", default=default(False), help="print raw JSON for scripts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petra-ctl", description="Operate a running PETRA through its control API.",
                                     epilog="exit codes: 0 ok, 1 refused by PETRA, 2 usage, 3 PETRA not reachable")
    parser.add_argument("--version", action="version", version=f"petra-ctl {__version__}")
    _connection_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: commands.Command, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    command("status", commands.status, "version, uptime, config hash and signer, scan statistics")
    command("tree", commands.tree, "the supervision tree with state, restarts, last error, uptime, mailbox depth")
    p = command("signals", commands.signals, "list signals matching a shell-style PATTERN")
    p.add_argument("pattern", nargs="?", default="*", metavar="PATTERN")
    p = command("get", commands.get, "one signal in detail")
    p.add_argument("name", metavar="NAME")
    p = command("set", commands.set_, "write a writable signal (VALUE is JSON if it parses, else text)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("value", metavar="VALUE")
    p = command("force", commands.force, "hold a signal at VALUE until unforced")
    p.add_argument("name", metavar="NAME")
    p.add_argument("value", metavar="VALUE")
    p.add_argument("--reason", metavar="TEXT", help="why (required by PETRA; recorded in the audit trail)")
    p = command("unforce", commands.unforce, "release a forced signal")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--reason", metavar="TEXT", help="why (recorded in the audit trail)")
    p = command("watch", commands.watch, "follow changes of signals matching PATTERN until Ctrl-C")
    p.add_argument("pattern", nargs="?", default="*", metavar="PATTERN")
    p.add_argument("--count", type=_positive_int, metavar="N", help="exit after N change events")
    p = command("top", commands.top, "live full-screen view: scan timing, busy chains, restarts, changing signals")
    p.add_argument("pattern", nargs="?", default="*", metavar="PATTERN", help="signals to follow (default: all)")
    p.add_argument("--once", action="store_true", help="print one frame and exit")
    command("reload", commands.reload, "re-read, validate and apply the configuration file")
    p = command("restart", commands.restart, f"restart the actor at PATH (e.g. {chain_path('mixer')})")
    p.add_argument("path", metavar="PATH")
    p = command("inject", commands.inject, "inject a fault: crash | hang [SECONDS] | slow MS | raise-on-next")
    p.add_argument("path", metavar="PATH")
    p.add_argument("kind", choices=FAULTS, metavar="KIND", help=" | ".join(FAULTS))
    p.add_argument("arg", nargs="?", type=_non_negative, metavar="ARG", help="slow: ms per message; hang: seconds")
    for section in SECTIONS:
        if section.ctl is not None:
            load(section.ctl)(sub, common)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError("must be zero or more")
    return int(value) if value.is_integer() else value


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.url and args.socket:
        parser.error("give either --socket or --url, not both")
    if args.command == "inject":
        if args.kind == "slow" and args.arg is None:
            parser.error("inject PATH slow needs MS, the delay per message in milliseconds")
        if args.kind in ("crash", "raise-on-next") and args.arg is not None:
            parser.error(f"inject PATH {args.kind} takes no argument")


def target_from(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Target:
    """Where to find PETRA: --url (with --token or $PETRA_TOKEN), else --socket, $PETRA_SOCKET or the default."""
    env = os.environ if environ is None else environ
    if args.url:
        return Target(url=args.url, token=args.token or env.get("PETRA_TOKEN") or None, cacert=args.cacert)
    return Target(socket_path=args.socket or default_socket_path(dict(env)))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `petra-ctl` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    client = ControlClient(target_from(args))
    try:
        return args.func(client, args, console)
    except Refused as exc:
        errors.print(f"petra-ctl: {exc}", style="red", markup=False, soft_wrap=True)
        return EXIT_REFUSED
    except Unreachable as exc:
        errors.print(f"petra-ctl: {exc}", style="red", markup=False, soft_wrap=True)
        return EXIT_UNREACHABLE
    except CtlError as exc:  # pragma: no cover - every CtlError is one of the two above
        errors.print(f"petra-ctl: {exc}", style="red", markup=False, soft_wrap=True)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return EXIT_OK if args.command in ("watch", "top") else 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
