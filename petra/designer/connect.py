"""A wire drawn on the canvas: whether PETRA accepts it.

`petra.designer.wires.make_wire` turns the edge into the names it writes into props;
`check_wire` then asks PETRA itself: the config with the wire must not have an error the
config without it did not have. The loader's own checks decide (a value type a block input
cannot take or a signal cannot hold, a second writer of a signal, an algebraic loop), so
the designer refuses exactly what `petra check` and a reload would refuse, with their words.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from petra.config.errors import Problem
from petra.designer.graph import SIGNAL_IN, base_graph
from petra.designer.wires import ConnectRefused, make_wire, name_of, port_of, writer_of

__all__ = ["ConnectRefused", "check_wire", "make_wire"]


_NUMBERS = re.compile(r"\d+")


def _shape(problem: Problem) -> tuple[str, str]:
    """A problem without its positions (a wire moves lines below it, not what is wrong)."""
    return problem.path, _NUMBERS.sub("#", problem.message)


@functools.lru_cache(maxsize=8)
def _errors_of(text: str, filename: str) -> frozenset[tuple[str, str]]:
    from petra.designer.checks import check_text

    return frozenset(_shape(p) for p in check_text(text, filename, files=False).errors)


def check_wire(text: str, start: dict[str, Any], end: dict[str, Any], filename: str = "plant.yaml", *,
               previous: bool = False) -> dict[str, Any]:
    """`POST /v1/designer/connect`: {"ok": true, "yaml": the text with the wire} or {"ok": false, "reason"}."""
    from petra.designer.checks import check_text
    from petra.designer.roundtrip import GraphError, apply_nodes

    data, base = base_graph(text, filename)
    # the kept base graph is only read: copy just the nodes a wire can change (its two ends, the chains)
    nodes = dict(base.nodes)
    for node_id in {str(start.get("node")), str(end.get("node"))} | {n for n in nodes if n.startswith("escalation:")}:
        if node_id in nodes:
            nodes[node_id] = copy.deepcopy(nodes[node_id])
    try:
        make_wire(nodes, start, end, previous=previous)
        wired = apply_nodes(text, base, nodes, data)
    except (ConnectRefused, GraphError) as exc:
        return {"ok": False, "reason": str(exc)}
    target = nodes.get(str(end.get("node")))
    if target is not None and target.kind == "signal" and port_of(end) in ("", SIGNAL_IN):
        first = writer_of(base.nodes, name_of(target))
        if first is not None and first != start.get("node"):
            return {"ok": False, "reason": f"signal '{name_of(target)}' is already written by {first}; "
                                           "a signal can have only one writer"}
    before = _errors_of(text, filename)
    after = check_text(wired, filename, files=False).errors
    new = [p for p in after if _shape(p) not in before]
    if new:
        return {"ok": False, "reason": new[0].message, "errors": [str(p) for p in new]}
    return {"ok": True, "yaml": wired}
