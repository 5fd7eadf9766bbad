"""`petra-ctl top`: a live full-screen view of scan timing, tasks, busy chains, restarts and changing signals.

`TopModel` holds what the view remembers between refreshes (recent values per
signal, the busiest a chain has been); `render_top` turns it and the latest
status and tree into one frame, with as many rows as fit the terminal
(`fit_rows`) so no panel is cut off. The event stream is read on a daemon
thread; `q` (or Ctrl-C) quits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from petra.ctl.client import ControlClient, CtlError
from petra.ctl.keys import Keys
from petra.ctl.render import fmt_duration, fmt_value, node_style, render_scan, render_tasks, walk
from petra.wording import plural

SPARK_CHARS = "▁▂▃▄▅▆▇█"
HISTORY = 30
REFRESH_S = 0.5
ONCE_SAMPLE_S = 1.0
MAX_ROWS = 8
QUIT_KEYS = frozenset("qQ")
HINT = "q quit  ·  Ctrl-C quit"


def sparkline(values: list[float]) -> str:
    """One block character per value, scaled between the values' min and max."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARK_CHARS[len(SPARK_CHARS) // 2 - 1] * len(values)
    scale = (len(SPARK_CHARS) - 1) / (high - low)
    return "".join(SPARK_CHARS[round((v - low) * scale)] for v in values)


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


class TopModel:
    """What `top` has seen on the event stream; safe to feed from one thread and render from another."""

    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.Lock()
        self.history: dict[str, deque[float]] = {}
        self.latest: dict[str, Any] = {}
        self.changes: dict[str, int] = {}
        self.last_change: dict[str, float] = {}
        self.dropped = 0
        self.stream_error: str | None = None
        self._length = history

    def feed(self, event: dict[str, Any], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self.dropped = int(event.get("dropped") or 0)
            for change in event.get("changes") or []:
                name = str(change.get("name"))
                value = change.get("value")
                self.latest[name] = value
                self.changes[name] = self.changes.get(name, 0) + 1
                self.last_change[name] = now
                number = _numeric(value)
                if number is not None:
                    self.history.setdefault(name, deque(maxlen=self._length)).append(number)

    def busiest_signals(self, limit: int) -> list[tuple[str, Any, int, list[float]]]:
        """(name, latest value, change count, recent values), most recently changed first."""
        with self._lock:
            names = sorted(self.last_change, key=lambda n: (-self.last_change[n], n))[:limit]
            return [(n, self.latest[n], self.changes[n], list(self.history.get(n, ()))) for n in names]


def _header(status: dict[str, Any]) -> Text:
    actors = status.get("actors") or {}
    config = status.get("config") or {}
    text = Text()
    text.append(f"PETRA {status.get('version', '?')}", style="bold")
    text.append(f"  node {status.get('node_id', '?')}  up {fmt_duration(status.get('uptime_s'))}")
    text.append(f"  config {str(config.get('sha256') or '')[:12]}", style="dim")
    text.append(f"  signed by {config['signer']}" if config.get("signer") else "  unsigned", style="dim")
    healthy = actors.get("running") == actors.get("total") and not actors.get("hung")
    text.append(f"  actors {actors.get('running', 0)}/{actors.get('total', 0)} running",
                style="green" if healthy else "yellow")
    text.append(f"  signals {status.get('signals', 0)} ({status.get('forced', 0)} forced)")
    return text


def _chains(status: dict[str, Any], limit: int) -> Table:
    table = Table(header_style="bold", expand=True, box=None)
    table.add_column("chain", style="cyan")
    table.add_column("work ms (last scan)", justify="right")
    work = status.get("chain_work_ms") or {}
    for name, ms in sorted(work.items(), key=lambda kv: -kv[1])[:limit]:
        table.add_row(name, f"{ms:.3f}")
    return table


def _restarts(tree: dict[str, Any], limit: int) -> Table:
    table = Table(header_style="bold", expand=True, box=None, pad_edge=False)
    table.add_column("actor", style="cyan", overflow="fold")
    table.add_column("state")
    table.add_column("restarts", justify="right")
    table.add_column("last error", style="red", overflow="fold")
    troubled = [n for n in walk(tree) if n.get("restarts") or n.get("state") != "running" or n.get("hung")]
    troubled.sort(key=lambda n: -(n.get("restarts") or 0))
    for node in troubled[:limit]:
        table.add_row(str(node.get("path")), Text(str(node.get("state")), style=node_style(node)),
                      Text(str(node.get("restarts") or 0), style="yellow" if node.get("restarts") else ""),
                      str(node.get("last_error") or ""))
    if not troubled:
        table.add_row(Text("no restarts: every actor running", style="green"), "", "", "")
    return table


def _signals(model: TopModel, limit: int) -> Table:
    table = Table(header_style="bold", expand=True, box=None, pad_edge=False)
    table.add_column("signal", style="cyan", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column(f"last {HISTORY}", no_wrap=True, style="green")
    table.add_column("changes", justify="right", style="dim")
    for name, value, count, values in model.busiest_signals(limit):
        table.add_row(name, fmt_value(value), sparkline(values), str(count))
    if model.stream_error:
        table.caption = f"event stream: {model.stream_error}"
        table.caption_style = "red"
    elif model.dropped:
        table.caption = f"{plural(model.dropped, 'event')} dropped by the server"
        table.caption_style = "yellow"
    return table


def render_top(status: dict[str, Any], tree: dict[str, Any], model: TopModel, rows: int = 8,
               hint: bool = False) -> RenderableType:
    """One frame of `top` (`hint`: the key line under it, for the live view)."""
    upper = Table.grid(expand=True, padding=(0, 1))
    upper.add_column(ratio=1)
    upper.add_column(ratio=1)
    scan = render_scan(status)
    scan.box = None  # panels frame top's tables: borders of their own would cost the signals their rows
    upper.add_row(Panel(scan, title="scan timing", title_align="left"),
                  Panel(_chains(status, rows), title="busiest chains", title_align="left"))
    parts: list[RenderableType] = [_header(status), upper]
    if len(status.get("tasks") or {}) > 1:  # main alone is the scan timing panel
        parts.append(Panel(render_tasks(status), title="tasks", title_align="left"))
    parts += [
        Panel(_restarts(tree, rows), title="recent restarts", title_align="left"),
        Panel(_signals(model, rows * 2), title="changing signals", title_align="left"),
    ]
    if hint:
        parts.append(Text(HINT, style="dim"))
    return Group(*parts)


def fit_rows(console: Console, status: dict[str, Any], tree: dict[str, Any], model: TopModel) -> int:
    """The most rows per table whose whole frame fits the screen, so no panel is cut off (at least one)."""
    height = console.size.height
    for rows in range(MAX_ROWS, 1, -1):
        frame = render_top(status, tree, model, rows, hint=True)
        if len(console.render_lines(frame, console.options, pad=False)) <= height:
            return rows
    return 1


def _stream(client: ControlClient, pattern: str, model: TopModel, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for event in client.events(pattern):
                model.feed(event)
                model.stream_error = None
                if stop.is_set():
                    return
        except CtlError as exc:
            model.stream_error = str(exc)
        stop.wait(1.0)


def run_top(client: ControlClient, console: Console, pattern: str = "*", once: bool = False) -> None:
    """Show `top` until q or Ctrl-C; with `once`, sample the event stream briefly and print one frame."""
    model = TopModel()
    stop = threading.Event()
    status, tree = client.status(), client.tree()  # fail fast, before the screen switches
    threading.Thread(target=_stream, args=(client, pattern, model, stop), name="top-events", daemon=True).start()
    try:
        if once:
            time.sleep(ONCE_SAMPLE_S)
            console.print(render_top(client.status(), client.tree(), model))
            return
        with Keys() as keys, Live(console=console, screen=console.is_terminal, auto_refresh=False) as live:
            while True:
                live.update(render_top(status, tree, model, fit_rows(console, status, tree, model), hint=True),
                            refresh=True)
                if QUIT_KEYS & set(keys.read(REFRESH_S)):
                    return
                try:
                    status, tree = client.status(), client.tree()
                except CtlError as exc:
                    model.stream_error = str(exc)
    finally:
        stop.set()
