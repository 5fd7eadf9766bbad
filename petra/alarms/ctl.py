"""`petra-ctl alarms ...`: the alarm list, acknowledge, shelve, unshelve, reset, history, KPIs.

    petra-ctl alarms [list]                      the alarm list
    petra-ctl alarms ack ID [--comment TEXT]     (also: petra-ctl ack ID)
    petra-ctl alarms shelve ID --for 2h --reason TEXT   (no --for: one-shot, until it clears)
    petra-ctl alarms unshelve ID | reset ID
    petra-ctl alarms history [ID] [--since 1h] [--limit N]
    petra-ctl alarms kpi [--period 24h]

ID is an alarm id or the short code from a notification.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any
from urllib.parse import quote, urlencode

from rich.console import Console
from rich.table import Table

from petra.ctl.client import ControlClient
from petra.ctl.commands import print_json

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STYLE = {"active_unacked": "bold red", "active_acked": "yellow", "rtn_unacked": "magenta", "latched": "red",
          "shelved": "cyan", "suppressed": "blue", "out_of_service": "dim", "normal": "green"}


def duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d`, `1h30m` -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower().replace(" ", ""):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 15m, 2h, 1d)")
    seconds = sum(float(n) * _UNITS[u or "s"] for n, u in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be longer than zero")
    return seconds


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `alarms` (with its actions) and the shortcut `ack` to petra-ctl's sub-commands."""
    alarms = sub.add_parser("alarms", help="alarm list, acknowledge, shelve, reset, history, KPIs",
                            description=__doc__, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
    alarms.set_defaults(func=list_alarms)
    actions = alarms.add_subparsers(dest="alarm_command", metavar="ACTION")
    p = actions.add_parser("list", help="the alarm list", parents=[common])
    p.set_defaults(func=list_alarms)
    _ack_parser(actions, common)
    p = actions.add_parser("shelve", help="shelve an alarm for a time (or one-shot) with a reason", parents=[common])
    p.add_argument("id", metavar="ID")
    p.add_argument("--for", dest="for_s", type=duration, metavar="DURATION", help="e.g. 2h (default: one-shot)")
    p.add_argument("--reason", required=True, metavar="TEXT")
    p.set_defaults(func=command)
    for name, what in (("unshelve", "return a shelved alarm"), ("reset", "reset a latched alarm")):
        p = actions.add_parser(name, help=what, parents=[common])
        p.add_argument("id", metavar="ID")
        p.set_defaults(func=command)
    p = actions.add_parser("history", help="alarm events, newest first", parents=[common])
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--since", type=duration, metavar="DURATION", help="only the last DURATION, e.g. 1h")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=history)
    p = actions.add_parser("kpi", help="ISA-18.2 KPIs", parents=[common])
    p.add_argument("--period", type=duration, default=86400.0, metavar="DURATION")
    p.set_defaults(func=kpi)
    _ack_parser(sub, common)


def _ack_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ack", help="acknowledge an alarm (ID or short code)", parents=[common])
    p.add_argument("id", metavar="ID")
    p.add_argument("--comment", metavar="TEXT")
    p.set_defaults(func=command, alarm_command="ack")


def _when(stamp: Any) -> str:
    return "" if not isinstance(stamp, int | float) else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def list_alarms(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.request("GET", "/v1/alarms")
    if args.json:
        print_json(data)
        return 0
    table = Table(title="alarms" + ("  [bold red]FLOOD[/]" if data.get("flood") else ""))
    for column in ("id", "state", "severity", "value", "since", "ack by", "notes"):
        table.add_column(column)
    for a in data.get("alarms", []):
        notes = []
        if a.get("chattering"):
            notes.append("chattering")
        if a.get("shelve"):
            s = a["shelve"]
            notes.append(f"shelved by {s.get('by')}: {s.get('reason')}" + (f" until {_when(s['until'])}"
                                                                            if s.get("until") else " (one-shot)"))
        if a.get("escalation"):
            e = a["escalation"]
            notes.append(f"escalation round {e['round']}, {e['notified']} notified")
        if a.get("code"):
            notes.append(f"code {a['code']}")
        since = a.get("since_s")
        table.add_row(a["id"], f"[{_STYLE.get(a['state'], '')}]{a['state']}[/]", a.get("severity", ""),
                      str(a.get("value")), "" if since is None else f"{since:.0f} s", a.get("acked_by") or "",
                      "; ".join(notes))
    console.print(table)
    return 0


def command(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    kind = args.alarm_command
    body: dict[str, Any] = {}
    if kind == "ack" and args.comment:
        body["comment"] = args.comment
    if kind == "shelve":
        body["reason"] = args.reason
        if args.for_s is not None:
            body["for_s"] = args.for_s
    view = client.request("POST", f"/v1/alarms/{quote(args.id, safe='')}/{kind}", body)
    if args.json:
        print_json(view)
    else:
        console.print(f"{kind} {view.get('id', args.id)}: now {view.get('state')}", style="green")
    return 0


def history(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    query: dict[str, Any] = {"limit": args.limit}
    if args.id:
        query["id"] = args.id
    if args.since:
        query["since"] = time.time() - args.since
    events = client.request("GET", "/v1/alarms/history?" + urlencode(query))["events"]
    if args.json:
        print_json(events)
        return 0
    table = Table(title="alarm history")
    for column in ("time", "alarm", "event", "state", "value", "who"):
        table.add_column(column)
    for e in events:
        table.add_row(_when(e.get("time")), e.get("alarm", ""), e.get("event", ""), e.get("state", ""),
                      "" if e.get("value") is None else str(e.get("value")), e.get("who") or "")
    console.print(table)
    return 0


def kpi(client: ControlClient, args: argparse.Namespace, console: Console) -> int:
    data = client.request("GET", "/v1/alarms/kpi?" + urlencode({"period_s": args.period}))
    if args.json:
        print_json(data)
        return 0
    console.print(f"over the last {data['period_s'] / 3600:g} h: {data['alarms']} alarms, "
                  f"{data['alarms_per_10min_avg']} per 10 min on average (max {data['alarms_per_10min_max']}), "
                  f"{data['floods']} flood(s)")
    console.print(f"active {data['active']}, unacknowledged {data['unacked']}, stale (> 24 h) "
                  f"{data['stale_count']}: {', '.join(data['stale']) or '-'}")
    console.print(f"chattering: {', '.join(data['chattering']) or '-'}; shelved: {', '.join(data['shelved']) or '-'}")
    for row in data.get("top10", []):
        console.print(f"  {row['count']:5d}  {row['alarm']}")
    return 0
