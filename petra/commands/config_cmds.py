"""`petra check FILE [--strict]` and `petra schema`."""

from __future__ import annotations

import argparse
import json
import sys

from petra.commands.common import load_or_report


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check", help="validate a configuration file without running it")
    check.add_argument("config", help="YAML configuration file")
    check.add_argument("--plugin", action="append", default=[], help="module or .py file with extra block types")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 2 when there are any)")
    check.set_defaults(handler=_check)

    schema = sub.add_parser("schema", help="print the configuration's JSON Schema")
    schema.add_argument("--plugin", action="append", default=[])
    schema.set_defaults(handler=_schema)


def _check(args: argparse.Namespace) -> int:
    loaded = load_or_report(args.config, args.plugin)
    if loaded is None:
        return 2
    config, plant = loaded
    if args.strict and config.warnings:
        count = len(config.warnings)
        print(f"{args.config}: {count} warning{'s' if count > 1 else ''} treated as errors (--strict)",
              file=sys.stderr)
        return 2
    from petra.storage.checks import check_files

    problems = check_files(config.sections, config.node_id)
    for problem in problems:  # the config is fine, but PETRA would refuse to start with these files
        print(f"{args.config}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"{args.config}: OK: {len(config.signals)} signals, {len(config.blocks)} blocks in "
        f"{len(plant.chains)} chains, scan {config.scan_time_ms} ms"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from petra.commands.common import load_plugins_or_report

    if not load_plugins_or_report(args.plugin):
        return 2
    from petra.config.schema import build_schema

    json.dump(build_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
