"""Rich renderables for petra-ctl's read commands: pure functions of API answers."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from petra.wording import plural

STATE_STYLES = {
    "running": "green",
    "starting": "yellow",
    "restarting": "yellow",
    "hung": "bold red",
    "failed": "bold red",
    "gave_up": "bold red",
    "stopped": "dim",
}
QUALITY_STYLES = {"good": "green", "uncertain": "yellow", "bad": "bold red"}


def fmt_duration(seconds: float | None) -> str:
    """Compact human duration: `850ms`, `12.3s`, `4m12s`, `2h05m`, `3d04h`."""
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def fmt_value(value: Any) -> str:
    """A signal value as an operator reads it: floats to 6 significant digits, bools lower case."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def fmt_ms(value: Any) -> str:
    return f"{float(value):.2f}" if isinstance(value, int | float) else "-"


def node_style(node: dict[str, Any]) -> str:
    """The health colour of one tree node."""
    if node.get("hung"):
        return "bold red"
    return STATE_STYLES.get(str(node.get("state")), "white")


def _node_label(node: dict[str, Any]) -> Text:
    path = str(node.get("path", "?"))
    parent, _, name = path.rpartition("/")
    style = node_style(node)
    label = Text()
    if parent:
        label.append(parent + "/", style="dim")
    label.append(name, style=f"bold {style}")
    label.append(f"  {node.get('state', '?')}", style=style)
    if node.get("hung"):
        label.append(" (hung)", style="bold red")
    restarts = int(node.get("restarts") or 0)
    label.append(f"  restarts {restarts}", style="yellow" if restarts else "dim")
    label.append(f"  up {fmt_duration(node.get('uptime_s'))}", style="dim")
    depth = int(node.get("mailbox_depth") or 0)
    label.append(f"  mailbox {depth}", style="yellow" if depth > 10 else "dim")
    kind = node.get("kind")
    if kind == "supervisor":
        label.append("  [sup]", style="blue")
    if node.get("last_error"):
        label.append(f"  last error: {node['last_error']}", style="red")
    return label


def render_tree(root: dict[str, Any]) -> Tree:
    """The supervision tree, each node coloured by health."""
    tree = Tree(_node_label(root), guide_style="dim")

    def add(branch: Tree, node: dict[str, Any]) -> None:
        for child in node.get("children") or []:
            add(branch.add(_node_label(child)), child)

    add(tree, root)
    return tree


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a tree dict, parents before children."""
    nodes = [node]
    for child in node.get("children") or []:
        nodes.extend(walk(child))
    return nodes


def quality_text(quality: str) -> Text:
    return Text(quality, style=QUALITY_STYLES.get(quality, "white"))


def render_signals(signals: list[dict[str, Any]], now: float | None = None) -> Table:
    """Signals as a table: name, value, type, quality, forced marker, age, owner."""
    now = time.time() if now is None else now
    table = Table(title=plural(len(signals), "signal"), title_justify="left", header_style="bold")
    table.add_column("name", style="cyan", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("type", style="dim")
    table.add_column("quality")
    table.add_column("F", justify="center", header_style="bold magenta")
    table.add_column("age", justify="right", style="dim")
    table.add_column("owner", style="dim")
    for s in signals:
        value = fmt_value(s.get("value"))
        if s.get("unit"):
            value += f" {s['unit']}"
        table.add_row(
            str(s.get("name")), value, str(s.get("type", "")), quality_text(str(s.get("quality", ""))),
            Text("F", style="bold magenta") if s.get("forced") else "",
            fmt_duration(now - s["timestamp"]) if isinstance(s.get("timestamp"), int | float) else "-",
            str(s.get("owner", "")),
        )
    return table


def render_signal(sample: dict[str, Any], now: float | None = None) -> Table:
    """One signal in detail (the answer of `get`)."""
    now = time.time() if now is None else now
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    value = fmt_value(sample.get("value"))
    if sample.get("unit"):
        value += f" {sample['unit']}"
    table.add_row("name", Text(str(sample.get("name")), style="cyan"))
    table.add_row("value", value)
    table.add_row("type", str(sample.get("type", "")))
    table.add_row("quality", quality_text(str(sample.get("quality", ""))))
    if isinstance(sample.get("timestamp"), int | float):
        table.add_row("age", fmt_duration(now - sample["timestamp"]))
    table.add_row("owner", str(sample.get("owner", "")))
    if sample.get("description"):
        table.add_row("description", str(sample["description"]))
    if sample.get("forced"):
        reason = sample.get("force_reason") or ""
        table.add_row("forced", Text(f"yes: {reason}" if reason else "yes", style="bold magenta"))
    return table


def render_status(status: dict[str, Any]) -> RenderableType:
    """Version, uptime, config and scan statistics."""
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    config = status.get("config") or {}
    actors = status.get("actors") or {}
    info.add_row("node", f"{status.get('node_id', '?')}  (PETRA {status.get('version', '?')})")
    info.add_row("uptime", fmt_duration(status.get("uptime_s")))
    info.add_row("config", str(config.get("path") or "(the embedded demo plant)"))
    sha = str(config.get("sha256") or "")
    signer = config.get("signer")
    info.add_row("", Text(f"sha256 {sha[:16]}  signed by {signer}" if signer else f"sha256 {sha[:16]}  unsigned",
                          style="dim" if signer else "yellow"))
    info.add_row("signals", f"{status.get('signals', 0)}  ({status.get('forced', 0)} forced)")
    healthy = actors.get("running") == actors.get("total") and not actors.get("hung")
    info.add_row("actors", Text(f"{actors.get('running', 0)}/{actors.get('total', 0)} running, "
                                f"{plural(actors.get('restarts', 0), 'restart')}, {actors.get('hung', 0)} hung",
                                style="green" if healthy else "yellow"))
    parts: list[RenderableType] = [info, render_scan(status)]
    if len(status.get("tasks") or {}) > 1:  # main alone is the scan above
        tasks = render_tasks(status)
        tasks.title, tasks.title_justify = "tasks", "left"
        parts.append(tasks)
    subsystems = status.get("subsystems") or {}
    if subsystems:
        table = Table(title="drivers, storage and services", title_justify="left", header_style="bold")
        table.add_column("actor")
        table.add_column("status")
        for path, report in sorted(subsystems.items()):
            text = ", ".join(f"{k}={_brief(v)}" for k, v in report.items() if not isinstance(v, dict)) \
                if isinstance(report, dict) else str(report)
            table.add_row(path.split("/", 2)[-1], text[:160])
        parts.append(table)
    process = status.get("process")
    if isinstance(process, dict):
        parts.append(render_process(process))
    return Group(*parts)


def _brief(value: Any) -> str:
    """A status value in one cell: a list by its length and, for sessions, who holds them (`2 (alice, bob)`)."""
    if not isinstance(value, list):
        return str(value)
    users = [str(item["user"]) for item in value if isinstance(item, dict) and item.get("user")]
    return f"{len(value)} ({', '.join(users)})" if users else str(len(value))


def _when(task: dict[str, Any]) -> str:
    if task.get("kind") == "event":
        return "on " + ", ".join(str(t) for t in task.get("trigger") or [])
    return f"every {task.get('interval_ms')} ms"


def render_tasks(status: dict[str, Any]) -> Table:
    """A line per task (status' `tasks`): when it runs, its priority, and its runs, overruns and timing."""
    table = Table(header_style="bold", expand=True, box=None, pad_edge=False)
    table.add_column("task", style="cyan", no_wrap=True)
    table.add_column("when", overflow="fold")
    for column in ("prio", "chains", "runs", "overruns", "coalesced", "late p99 ms", "work p50 ms", "work p99 ms"):
        table.add_column(column, justify="right")
    for name, task in (status.get("tasks") or {}).items():
        overruns = int(task.get("overruns") or 0)
        table.add_row(name, _when(task), str(task.get("priority")), str(task.get("chains")), str(task.get("runs")),
                      Text(str(overruns), style="yellow" if overruns else ""),
                      str(task.get("coalesced") or 0) if task.get("kind") == "event" else "",
                      f"{float(task.get('lateness_p99_ms') or 0):.3f}", f"{float(task.get('work_p50_ms') or 0):.3f}",
                      f"{float(task.get('work_p99_ms') or 0):.3f}")
    return table


def render_process(process: dict[str, Any]) -> Table:
    """Memory, the optional libraries loaded, and every thread with its owner and why it exists."""
    threads = process.get("threads") or []
    table = Table(title=f"process: {plural(len(threads), 'thread')}", title_justify="left", header_style="bold")
    table.add_column("thread", style="cyan", no_wrap=True)
    table.add_column("owner")
    table.add_column("purpose")
    table.add_column("cpu s", justify="right", style="dim")
    for row in threads:
        owner = row.get("owner")
        table.add_row(str(row.get("name")), Text("unregistered", style="yellow") if owner is None else str(owner),
                      str(row.get("purpose") or ""), fmt_value(row.get("cpu_s")))
    memory = []
    if isinstance(process.get("rss_bytes"), int):
        peak = process.get("peak_rss_bytes", 0) / 2**20
        memory.append(f"RSS {process['rss_bytes'] / 2**20:.1f} MB (peak {peak:.1f})")
    if process.get("native_threads"):
        memory.append(f"{plural(process['native_threads'], 'native thread')} of libraries")
    libraries = process.get("libraries") or []
    memory.append(f"libraries loaded: {', '.join(libraries)}" if libraries else "no optional library loaded")
    table.caption = "; ".join(memory)
    table.caption_justify = "left"
    table.caption_style = "dim"
    return table


def render_scan(status: dict[str, Any]) -> Table:
    """Scan timing: lateness and work percentiles, overruns, ticks."""
    scan = status.get("scan") or {}
    table = Table(title=f"scan every {status.get('scan_time_ms', '?')} ms", title_justify="left",
                  header_style="bold")
    table.add_column("ms")
    for column in ("p50", "p99", "max"):
        table.add_column(column, justify="right")
    table.add_row("lateness", *(fmt_ms(scan.get(f"lateness_{p}_ms")) for p in ("p50", "p99", "max")))
    table.add_row("work", *(fmt_ms(scan.get(f"work_{p}_ms")) for p in ("p50", "p99", "max")))
    overruns = int(scan.get("overruns") or 0)
    missed = int(scan.get("missed_ticks") or 0)
    table.caption = f"ticks {scan.get('ticks', 0)}  overruns {overruns}  missed {missed}"
    table.caption_style = "yellow" if overruns or missed else "dim"
    table.caption_justify = "left"
    return table


def render_watch(latest: dict[str, dict[str, Any]], counts: dict[str, int], now: float | None = None) -> Table:
    """The latest change of every watched signal, most recent first."""
    now = time.time() if now is None else now
    table = Table(title=f"watching {plural(len(latest), 'signal')}", title_justify="left", header_style="bold")
    table.add_column("name", style="cyan", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("quality")
    table.add_column("age", justify="right", style="dim")
    table.add_column("changes", justify="right", style="dim")
    table.add_column("owner", style="dim")
    ordered = sorted(latest.values(), key=lambda c: c.get("timestamp") or 0, reverse=True)
    for change in ordered:
        stamp = change.get("timestamp")
        table.add_row(str(change["name"]), fmt_value(change.get("value")), quality_text(str(change.get("quality"))),
                      fmt_duration(now - stamp) if isinstance(stamp, int | float) else "-",
                      str(counts.get(change["name"], 0)), str(change.get("owner", "")))
    return table
