"""The commands of petra-ctl: each takes the client, the parsed arguments and a console, returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from petra.ctl.client import ControlClient, Refused
from petra.ctl.render import fmt_value, render_signal, render_signals, render_status, render_tree, render_watch
from petra.ctl.top import run_top
from petra.wording import describe_changes

Command = Callable[[ControlClient, argparse.Namespace, Console], int]


def parse_value(text: str) -> Any:
    """VALUE on the command line: JSON when it parses (`true`, `3.5`, `"x"`), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def status(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.status()
    if args.json:
        print_json(data)
    else:
        console.print(render_status(data))
    return 0


def tree(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.tree()
    if args.json:
        print_json(data)
    else:
        console.print(render_tree(data))
    return 0


def signals(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.signals(args.pattern)
    if args.json:
        print_json(data)
    elif not data:
        console.print(f"no signals match '{args.pattern}'", style="yellow")
    else:
        console.print(render_signals(data))
    return 0


def get(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.get(args.name)
    if args.json:
        print_json(data)
    else:
        console.print(render_signal(data))
    return 0


def _written(console: Console, verb: str, sample: dict[str, Any], extra: str = "") -> None:
    text = Text(f"{verb} ")
    text.append(str(sample.get("name")), style="cyan")
    text.append(f" = {fmt_value(sample.get('value'))}{extra}")
    console.print(text)


def set_(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    sample = client.set(args.name, parse_value(args.value))
    if args.json:
        print_json(sample)
    else:
        _written(console, "set", sample)
    return 0


def force(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    try:
        sample = client.force(args.name, parse_value(args.value), args.reason)
    except Refused as exc:
        if args.reason is None and exc.status == 400 and "reason" in str(exc):
            raise Refused(exc.status, f"{exc} (pass --reason TEXT)", exc.body) from None
        raise
    if args.json:
        print_json(sample)
    else:
        _written(console, "forced", sample, f" (reason: {sample.get('force_reason') or args.reason})")
    return 0


def unforce(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    sample = client.unforce(args.name, args.reason)
    if args.json:
        print_json(sample)
    else:
        _written(console, "released", sample)
    return 0


def watch(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    """Follow signal changes until Ctrl-C or `--count` change events."""
    latest: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    seen = 0
    events = client.events(args.pattern)
    if args.json:
        for event in events:
            for change in event.get("changes") or []:
                print_json({"owner": event.get("owner"), **change})
            seen += 1
            if args.count and seen >= args.count:
                break
        return 0
    with Live(render_watch(latest, counts), console=console, auto_refresh=False, transient=False) as live:
        last_refresh = 0.0
        for event in events:
            for change in event.get("changes") or []:
                latest[change["name"]] = {"owner": event.get("owner"), **change}
                counts[change["name"]] = counts.get(change["name"], 0) + 1
            seen += 1
            done = bool(args.count and seen >= args.count)
            now = time.monotonic()
            if done or now - last_refresh >= 0.1:
                live.update(render_watch(latest, counts), refresh=True)
                last_refresh = now
            if done:
                break
    if not console.is_terminal:
        console.line()  # Live leaves a piped frame without its final newline
    return 0


def top(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    run_top(client, console, pattern=args.pattern, once=args.once)
    return 0


def reload(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    result = client.reload()
    if args.json:
        print_json(result)
        return 0
    console.print(describe_reload(result or {}), style="green")
    return 0


def describe_reload(result: dict[str, Any]) -> str:
    """One line for an accepted reload: what was restarted, stopped, started, kept."""
    head = f"reload accepted ({result.get('reason') or 'applied'})"
    if isinstance(result.get("duration_ms"), int | float):
        head += f" in {result['duration_ms']:.1f} ms"
    changes = result.get("changes")
    if not isinstance(changes, dict):
        return head
    return f"{head}: {describe_changes(changes)}"


def restart(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    result = client.restart(args.path)
    if args.json:
        print_json(result)
    else:
        console.print(f"restarted {result.get('restarted', args.path)}", style="green")
    return 0


def inject(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    result = client.inject(args.path, args.kind, args.arg)
    if args.json:
        print_json(result)
    else:
        arg = "" if args.arg is None else f" ({args.arg:g} {'ms' if args.kind == 'slow' else 's'})"
        console.print(f"injected {args.kind}{arg} into {args.path}", style="yellow")
    return 0
