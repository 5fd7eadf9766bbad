"""`petra graph CONFIG [--dot]`: a config's graph as JSON, or as Graphviz DOT for documentation and reviews."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from petra.designer.graph import Graph

SHAPES = {"signal": "ellipse", "block": "box", "alarm": "octagon", "contact": "house", "escalation": "cds",
          "notifier": "component", "action": "component", "connection": "box3d", "mapping": "note",
          "tier": "cylinder", "task": "hexagon", "screen": "tab", "section": "folder"}


def register(sub: argparse._SubParsersAction) -> None:
    graph = sub.add_parser("graph", help="print a configuration's graph (nodes and edges) as JSON or Graphviz DOT")
    graph.add_argument("config", help="YAML configuration file")
    graph.add_argument("--dot", action="store_true",
                       help="Graphviz DOT instead of JSON (petra graph --dot F | dot -Tsvg > F.svg)")
    graph.add_argument("--all", action="store_true",
                       help="with --dot: also the settings nodes (section:...) that no edge touches")
    graph.set_defaults(handler=_graph)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph, *, everything: bool = False) -> str:
    """The graph in DOT: left to right, one shape per node kind, edges labelled with their ports."""
    edges = graph.edges()
    touched = {e["from"]["node"] for e in edges} | {e["to"]["node"] for e in edges}
    lines = ["digraph petra {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    for node in graph.nodes.values():
        if node.kind == "section" and node.id not in touched and not everything:
            continue
        label = f"{node.label}\n{node.type}" if node.type and node.type != node.label else node.label
        style = ', style="dashed"' if node.implicit else ""
        lines.append(f"  {_quote(node.id)} [label={_quote(label)}, shape={SHAPES.get(node.kind, 'box')}{style}];")
    for edge in edges:
        ports = [end["port"] for end in (edge["from"], edge["to"])
                 if end["port"] and not str(end["node"]).startswith("signal:")]
        label = f' [label={_quote(" -> ".join(ports))}]' if ports else ""
        if edge.get("previous"):
            label = label[:-1] + ', style="dashed"]' if label else ' [style="dashed"]'
        lines.append(f"  {_quote(edge['from']['node'])} -> {_quote(edge['to']['node'])}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _graph(args: argparse.Namespace) -> int:
    from petra.config.errors import ConfigError
    from petra.designer.checks import check_text
    from petra.designer.graph import build_graph

    path = Path(args.config)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"petra: {path}: cannot read it: {exc}", file=sys.stderr)
        return 2
    result = check_text(text, str(path), files=False)
    try:
        graph = build_graph(text, str(path), result.signal_types())
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 2
    for problem in result.errors:  # the graph of a config with errors is still printed: it is for reviews
        print(f"warning: {problem}", file=sys.stderr)
    if args.dot:
        sys.stdout.write(to_dot(graph, everything=args.all))
    else:
        json.dump(graph.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    return 0
