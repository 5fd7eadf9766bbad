"""A wire drawn on the canvas as the names it writes into the props of the nodes it joins.

A block output into a block input goes through a signal, named after the output when it has
none; an alarm into a contact makes (or extends) the alarm's escalation chain. Pure: nodes in,
nodes changed; whether PETRA accepts the result is `petra.designer.connect`'s question.
"""

from __future__ import annotations

from typing import Any

from petra.designer.graph import PREVIOUS, Node, refs_of
from petra.designer.ports import block_ports


class ConnectRefused(ValueError):
    """A wire PETRA would not accept; the message says why."""


def name_of(node: Node) -> str:
    """The name the node's item goes by (its name or id prop)."""
    for key in ("name", "id"):
        value = node.props.get(key)
        if isinstance(value, str) and value:
            return value
    return node.id.split(":", 1)[1]


def port_of(data: dict[str, Any]) -> str:
    """The port an edge end names (\"\" when none)."""
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
        raise ConnectRefused(f"block '{name_of(block)}': outputs is not a mapping")
    current = outputs.get(port)
    if isinstance(current, str) and current:
        return current
    _, declared = block_ports(block.type, block.props)
    if declared and port not in {p["name"] for p in declared}:
        raise ConnectRefused(f"{block.type} has no output '{port}'")
    base = f"{name_of(block)}_{port}"
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
    out_port, in_port = port_of(start), port_of(end)
    if a.kind == "block" and b.kind != "signal":
        a = _signal_node(nodes, _output_signal(nodes, a, out_port))
    if a.kind == "signal":
        _from_signal(nodes, name_of(a), b, in_port, previous)
    elif b.kind == "signal":
        _into_signal(nodes, a, out_port, name_of(b))
    elif a.kind in ("alarm", "escalation") and b.kind in ("escalation", "contact"):
        _escalate(nodes, a, b)
    elif a.kind == "task" and b.kind == "block":
        b.props["task"] = name_of(a)
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
        alarm = name_of(a) if not isinstance(a.props.get("id"), str) else a.props["id"]
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
    contact = b.props.get("id") if isinstance(b.props.get("id"), str) else name_of(b)
    contacts = a.props.setdefault("contacts", [])
    if contact not in contacts:
        contacts.append(contact)
