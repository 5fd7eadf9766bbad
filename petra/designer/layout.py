"""Where the nodes sit: the layout side file, and a layered layout for nodes it does not place.

The side file is ``<config file>.layout.json`` next to the config, ``{"version": 1, "nodes":
{id: {"x", "y"}}}``: positions never go into the logic YAML. Nodes it does not name (a config
without one, or nodes added since) get a layered layout: each node one column right of
everything that feeds it (longest path from the sources over the edges), rows in file order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from petra.designer.graph import Graph

VERSION = 1
COLUMN = 260.0
ROW = 90.0
SUFFIX = ".layout.json"
MAX_LAYOUT_BYTES = 8 * 1024 * 1024


class LayoutError(ValueError):
    """A layout that is not `{"version": 1, "nodes": {id: {"x": number, "y": number}}}`."""


def layout_path(config: Path) -> Path:
    return config.with_name(config.name + SUFFIX)


def parse_layout(data: Any) -> dict[str, dict[str, float]]:
    """The node positions of a layout object (None or {} has none); LayoutError when it is malformed."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LayoutError("layout must be an object {\"version\": 1, \"nodes\": {...}}")
    version = data.get("version", VERSION)
    if version != VERSION:
        raise LayoutError(f"layout version {version!r} is not {VERSION}")
    nodes = data.get("nodes", {})
    if not isinstance(nodes, dict):
        raise LayoutError("layout.nodes must be an object of node id -> {x, y}")
    out: dict[str, dict[str, float]] = {}
    for key, where in nodes.items():
        if not isinstance(where, dict):
            raise LayoutError(f"layout.nodes[{key!r}] must be {{x, y}}")
        x, y = where.get("x"), where.get("y")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)):
            raise LayoutError(f"layout.nodes[{key!r}]: x and y must be finite numbers")
        out[str(key)] = {"x": float(x), "y": float(y)}  # type: ignore[arg-type]
    return out


def read_layout(config: Path) -> dict[str, Any] | None:
    """The side file of `config` as an object, None when there is none (or it cannot be used)."""
    path = layout_path(config)
    try:
        if path.stat().st_size > MAX_LAYOUT_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"version": VERSION, "nodes": parse_layout(data)}
    except (OSError, ValueError):
        return None


def layout_text(positions: dict[str, dict[str, float]]) -> str:
    return json.dumps({"version": VERSION, "nodes": positions}, indent=1, sort_keys=True) + "\n"


def layered(graph: Graph) -> dict[str, dict[str, float]]:
    """A position for every node: columns by longest path from the sources, rows in order within a column."""
    ids = list(graph.nodes)
    successors: dict[str, list[str]] = {i: [] for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for edge in graph.edges():
        start, end = edge["from"]["node"], edge["to"]["node"]
        if start in successors and end in indegree and start != end and not edge.get("previous"):
            successors[start].append(end)
            indegree[end] += 1
    column = dict.fromkeys(ids, 0)
    ready = [i for i in ids if indegree[i] == 0]
    seen = 0
    while ready:
        current = ready.pop()
        seen += 1
        for nxt in successors[current]:
            column[nxt] = max(column[nxt], column[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    # nodes on a cycle (an algebraic loop the check reports) keep the column they reached
    rows: dict[int, int] = {}
    out = {}
    for node_id in ids:
        col = column[node_id]
        row = rows.get(col, 0)
        rows[col] = row + 1
        out[node_id] = {"x": col * COLUMN, "y": row * ROW}
    return out


def complete(graph: Graph, given: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]]:
    """`given` for the nodes it places (and still exist), the layered layout for the rest, placed below."""
    given = {k: v for k, v in (given or {}).items() if k in graph.nodes}
    missing = [n for n in graph.nodes if n not in given]
    if not missing:
        return given
    auto = layered(graph)
    offset = max((p["y"] for p in given.values()), default=-ROW) + 2 * ROW if given else 0.0
    return {**given, **{n: {"x": auto[n]["x"], "y": auto[n]["y"] + offset} for n in missing}}
