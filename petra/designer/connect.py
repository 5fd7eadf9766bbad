"""A wire drawn on the canvas: what it changes in the config, and whether PETRA accepts it.

`make_wire` turns an edge between two ports into the names it writes into props (a block
output into a block input goes through a signal, named after the output when it has none).
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
from petra.designer.graph import PREVIOUS, SIGNAL_IN, Node, graph_of, parse_raw, refs_of
from petra.designer.ports import block_ports


class ConnectRefused(ValueError):
    """A wire PETRA would not accept; the message says why."""


def _name(node: Node) -> str:
    for key in ("name", "id"):
        value = node.props.get(key)
        if isinstance(value, str) and value:
            return value
    return node.id.split(":", 1)[1]


def _port(data: dict[str, Any]) -> str:
    port = data.get("port")
    return port if isinstance(port, str) else ""


def _signal_node(nodes: dict[str, Node], name: str) -> Node:
    node_id = f"signal:{name}"
    if node_id not in nodes:
        nodes[node_id] = Node(node_id, "signal", "", name, None, {"name": name}, implicit=True)
    return nodes[node_id]


def writer_of(nodes: dict[str, Node], signal: str) -> str | None:
    """The node that writes `signal` now (a block output, a driver mapping), or None."""
    target = f"signal:{signal}"
    for node in nodes.values():
        for ref in refs_of(node):
            if ref.target == target and ref.outgoing and ref.kind in ("wire", "mapping"):
                return node.id
    return None


def _output_signal(nodes: dict[str, Node], block: Node, port: str) -> str:
    """The signal block output `port` writes, named `<block>_<port>` when it writes none yet."""
    outputs = block.props.setdefault("outputs", {})
    if not isinstance(outputs, dict):
        raise ConnectRefused(f"block '{_name(block)}': outputs is not a mapping")
    current = outputs.get(port)
    if isinstance(current, str) and current:
        return current
    _, declared = block_ports(block.type, block.props)
    if declared and port not in {p["name"] for p in declared}:
        raise ConnectRefused(f"{block.type} has no output '{port}'")
    base = f"{_name(block)}_{port}"
    name, number = base, 2
    while f"signal:{name}" in nodes or writer_of(nodes, name) is not None:
        name, number = f"{base}_{number}", number + 1
    outputs[port] = name
    _signal_node(nodes, name)
    return name


def _check_input(block: Node, port: str) -> None:
    inputs, _ = block_ports(block.type, block.props)
    if inputs and port not in {p["name"] for p in inputs}:
        names = ", ".join(p["name"] for p in inputs)
        raise ConnectRefused(f"{block.type} has no input '{port}' (its inputs: {names})")


def make_wire(nodes: dict[str, Node], start: dict[str, Any], end: dict[str, Any], *, previous: bool = False) -> None:
    """Write the wire start -> end into the props of `nodes` (changed in place); ConnectRefused when no config
    can say it."""
    a, b = nodes.get(str(start.get("node"))), nodes.get(str(end.get("node")))
    if a is None or b is None:
        raise ConnectRefused(f"no node '{start.get('node') if a is None else end.get('node')}'")
    if a.id == b.id:
        raise ConnectRefused("a node cannot be wired to itself")
    out_port, in_port = _port(start), _port(end)
    if a.kind == "block" and b.kind != "signal":
        a = _signal_node(nodes, _output_signal(nodes, a, out_port))
    if a.kind == "signal":
        _from_signal(nodes, _name(a), b, in_port, previous)
    elif b.kind == "signal":
        _into_signal(nodes, a, out_port, _name(b))
    elif a.kind in ("alarm", "escalation") and b.kind in ("escalation", "contact"):
        _escalate(nodes, a, b)
    elif a.kind == "task" and b.kind == "block":
        b.props["task"] = _name(a)
    else:
        raise ConnectRefused(f"a {a.kind} does not feed a {b.kind}")


def _from_signal(nodes: dict[str, Node], signal: str, b: Node, port: str, previous: bool) -> None:
    p = b.props
    if b.kind == "block":
        _check_input(b, port)
        p.setdefault("inputs", {})[port] = signal + (PREVIOUS if previous else "")
    elif b.kind == "alarm":
        p[port if port in ("signal", "setpoint", "suppress_when") else "signal"] = signal
    elif b.kind == "action":
        p["trigger_signal"] = signal
    elif b.kind == "task":
        trigger = p.setdefault("trigger", [])
        if signal not in trigger:
            trigger.append(signal)
    elif b.kind == "mapping":
        if b.type == "group":
            p.setdefault("fields", {})[signal] = signal
        else:
            p["signal"] = signal
            if b.type in ("s7", "modbus") and p.get("direction", "read") == "read":
                p["direction"] = "write"
    elif b.kind == "screen":
        widgets = p.setdefault("widgets", [])
        widgets.append({"type": "value", "signal": signal, "label": signal, "x": 0, "y": len(widgets)})
    else:
        raise ConnectRefused(f"a signal does not feed a {b.kind}")


def _into_signal(nodes: dict[str, Node], a: Node, port: str, signal: str) -> None:
    if a.kind == "block":
        _, outputs = block_ports(a.type, a.props)
        if outputs and port not in {o["name"] for o in outputs}:
            raise ConnectRefused(f"{a.type} has no output '{port}'")
        a.props.setdefault("outputs", {})[port] = signal
    elif a.kind == "mapping" and a.type not in ("publish", "group"):
        a.props["signal"] = signal
        if a.type in ("s7", "modbus") and a.props.get("direction") == "write":
            a.props["direction"] = "read"
    elif a.kind == "connection" and a.type == "mqtt":
        listed = a.props.setdefault("writable_signals", [])
        if signal not in listed:
            listed.append(signal)
    else:
        raise ConnectRefused(f"a {a.kind} does not write a signal")


def _escalate(nodes: dict[str, Node], a: Node, b: Node) -> None:
    if a.kind == "alarm":
        alarm = _name(a) if not isinstance(a.props.get("id"), str) else a.props["id"]
        chain = nodes.get(f"escalation:{alarm}")
        if chain is None:
            chain = Node(f"escalation:{alarm}", "escalation", "chain", alarm, None,
                         {"alarm": alarm, "contacts": []})
            nodes[chain.id] = chain
        if b.kind == "escalation":
            b.props["alarm"] = alarm
            return
        a = chain
    if b.kind != "contact":
        raise ConnectRefused("an escalation chain notifies contacts")
    contact = b.props.get("id") if isinstance(b.props.get("id"), str) else _name(b)
    contacts = a.props.setdefault("contacts", [])
    if contact not in contacts:
        contacts.append(contact)


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

    doc = parse_raw(text, filename)
    base = graph_of(doc.data if isinstance(doc.data, dict) else {}, {})
    nodes = copy.deepcopy(base.nodes)
    try:
        make_wire(nodes, start, end, previous=previous)
        wired = apply_nodes(text, base, nodes, doc.data if isinstance(doc.data, dict) else {})
    except (ConnectRefused, GraphError) as exc:
        return {"ok": False, "reason": str(exc)}
    target = nodes.get(str(end.get("node")))
    if target is not None and target.kind == "signal" and _port(end) in ("", SIGNAL_IN):
        first = writer_of(base.nodes, _name(target))
        if first is not None and first != start.get("node"):
            return {"ok": False, "reason": f"signal '{_name(target)}' is already written by {first}; "
                                           "a signal can have only one writer"}
    before = _errors_of(text, filename)
    after = check_text(wired, filename, files=False).errors
    new = [p for p in after if _shape(p) not in before]
    if new:
        return {"ok": False, "reason": new[0].message, "errors": [str(p) for p in new]}
    return {"ok": True, "yaml": wired}
