"""A configuration as a graph: nodes for the things a plant is made of, edges for the names that tie them.

Pure: text in, `Graph` out, nothing started and no environment read. The text is parsed
as PETRA parses it (`petra.config.yaml_source`, YAML 1.2 scalars) but with no ``${VAR}``
substituted, so a node's `props` are the item as written (``port: ${MQTT_PORT:-1883}``
stays that string) and writing them back changes nothing.

Node ids are ``kind:name``, stable as long as the name is (see /tmp/h/contract-designer.md):

    signal:NAME            a declared signal, or one only written or read (`implicit`, no `path`)
    block:NAME             blocks[i]
    task:NAME              tasks[i]
    alarm:ID               alarms.alarms[i]
    contact:ID             alarms.contacts[i]
    escalation:ALARM_ID    alarms.escalation_chains[ALARM_ID]  (props {"alarm", "contacts"})
    notifier:twilio|email  the twilio / email section (twilio without its actions)
    action:NAME            twilio.actions[i]
    connection:mqtt        the mqtt section without its subscriptions and publications
    connection:s7/NAME     s7 (one PLC: NAME is its name or "s7"), or s7[i]
    connection:modbus/NAME modbus[i]
    mapping:DRIVER/CONN/SIGNAL[#n]   s7 / modbus mappings; mapping:mqtt/sub|pub|group/...
    tier:local|remote|wal|s3       storage.<tier>
    screen:NAME            web.screens[i]
    section:KEY            any other top-level mapping (alarms, storage, web without their
                           children; security, control, ...); section:plant holds node_id and scan_time_ms

Edges are derived from the props alone (`refs`): each names the node holding the
reference and the field in its props (`holder`, `field`), so an edge is also an edit.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petra.config.yaml_source import Document, parse_yaml
from petra.values import parse_literal

Path = tuple[str | int, ...]

PREVIOUS = "@prev"
SIGNAL_IN = "in"
"""A signal node's input port: what writes it."""
SIGNAL_OUT = "out"
"""A signal node's output port: what reads it."""
PLANT_KEYS = ("node_id", "scan_time_ms")
CHILDREN: dict[str, tuple[str, ...]] = {
    "alarms": ("alarms", "contacts", "escalation_chains"),
    "storage": ("local", "remote", "wal", "s3"),
    "web": ("screens",),
    "mqtt": ("subscriptions", "publish_signals", "publish_groups"),
    "twilio": ("actions",),
}
"""Keys of a section that are nodes of their own, so not in the section node's props."""
TIERS = ("local", "remote", "wal", "s3")
NOT_SECTIONS = ("signals", "blocks", "tasks", "mqtt", "s7", "modbus", "twilio", "email", *PLANT_KEYS)
"""Top-level keys that are not `section:` nodes (they are nodes of other kinds, or section:plant)."""


@dataclass(frozen=True)
class Ref:
    """A name in one node's props that points at another node: one edge."""

    holder: str
    field: Path
    target: str
    """The node id the name points at."""
    kind: str
    port: str
    """The holder's port the edge ends (or starts) at."""
    outgoing: bool
    """True: holder -> target (the holder writes/feeds it); False: target -> holder."""
    target_port: str = ""
    previous: bool = False


@dataclass
class Node:
    id: str
    kind: str
    type: str
    label: str
    path: Path | None
    props: dict[str, Any]
    parent: str | None = None
    implicit: bool = False
    line: int = 0
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, *, copy_props: bool = True) -> dict[str, Any]:
        """The node as the API gives it; `copy_props` False shares the props (for an answer encoded at once:
        the parsed text they come from is kept for the next request and must not change)."""
        out: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "type": self.type, "label": self.label,
            "path": list(self.path) if self.path is not None else None,
            "ports": {"inputs": self.inputs, "outputs": self.outputs},
            "props": copy.deepcopy(self.props) if copy_props else self.props,
        }
        if self.parent is not None:
            out["parent"] = self.parent
        if self.implicit:
            out["implicit"] = True
        if self.line:
            out["line"] = self.line
        return out


@dataclass
class Graph:
    nodes: dict[str, Node]
    refs: list[Ref]

    def edges(self) -> list[dict[str, Any]]:
        return [edge_json(ref) for ref in self.refs]

    def to_json(self, *, copy_props: bool = True) -> dict[str, Any]:
        return {"nodes": [n.to_json(copy_props=copy_props) for n in self.nodes.values()], "edges": self.edges()}


def edge_json(ref: Ref) -> dict[str, Any]:
    """An edge as the contract spells it, with the reference it comes from."""
    target_port = ref.target_port or (SIGNAL_IN if ref.outgoing else SIGNAL_OUT)
    if ref.outgoing:
        start, end = {"node": ref.holder, "port": ref.port}, {"node": ref.target, "port": target_port}
    else:
        start, end = {"node": ref.target, "port": target_port}, {"node": ref.holder, "port": ref.port}
    edge: dict[str, Any] = {
        "id": f"{ref.kind}:{start['node']}.{start['port']}->{end['node']}.{end['port']}",
        "from": start, "to": end, "kind": ref.kind,
        "ref": {"node": ref.holder, "field": list(ref.field)},
    }
    if ref.previous:
        edge["previous"] = True
    return edge


def parse_raw(text: str, filename: str = "plant.yaml") -> Document:
    """The text as PETRA parses it, with every ``${VAR}`` left as written; ConfigError when it is not YAML."""
    return parse_yaml(text, filename, {}, only=())


@functools.lru_cache(maxsize=2)
def parsed(text: str, filename: str = "plant.yaml") -> Document:
    """`parse_raw`, kept for the last two texts (the page asks for a text's graph, then edits that text).
    Only read: callers copy what they change."""
    return parse_raw(text, filename)


@functools.lru_cache(maxsize=2)
def base_graph(text: str, filename: str = "plant.yaml") -> tuple[dict[str, Any], Graph]:
    """(parsed data, graph without signal types) of a text, for the edits made on it: kept for the last two texts.
    Callers must not change either (copy what they change)."""
    doc = parsed(text, filename)
    data = doc.data if isinstance(doc.data, dict) else {}
    return data, graph_of(data, {}, doc)


def build_graph(text: str, filename: str = "plant.yaml", signal_types: dict[str, str] | None = None) -> Graph:
    """The graph of a config text; `signal_types` (name -> type, from a loaded config) types the signals
    nobody declares. Raises ConfigError when the text is not YAML."""
    doc = parsed(text, filename)
    return graph_of(doc.data if isinstance(doc.data, dict) else {}, signal_types or {}, doc)


def graph_of(data: dict[str, Any], signal_types: dict[str, str], doc: Document | None = None) -> Graph:
    """The graph of already parsed (unsubstituted) data."""
    from petra.designer.ports import block_ports

    nodes: dict[str, Node] = {}
    for node in items(data):
        if node.id in nodes:  # a duplicate name: the loader reports it; keep the id unique here
            number = 2
            while f"{node.id}#{number}" in nodes:
                number += 1
            node.id = f"{node.id}#{number}"
        if doc is not None and node.path is not None:
            node.line = doc.position(node.path)[0]
        nodes[node.id] = node
    refs = [ref for node in list(nodes.values()) for ref in refs_of(node)]
    for ref in refs:
        if ref.target in nodes:
            continue
        kind, _, name = ref.target.partition(":")
        if kind == "signal":
            nodes[ref.target] = Node(ref.target, "signal", signal_types.get(name, ""), name, None,
                                     {"name": name, "type": signal_types.get(name, "float")}, implicit=True)
        else:  # a contact, alarm or task named but not defined: a node to fill in (the check says so)
            nodes[ref.target] = Node(ref.target, kind, "", name, None, {}, implicit=True)
    for node in nodes.values():
        if node.kind == "signal":
            kind = str(node.props.get("type") or signal_types.get(node.label, "") or "")
            node.type = kind
            node.inputs = [{"name": SIGNAL_IN, "type": kind}]
            node.outputs = [{"name": SIGNAL_OUT, "type": kind}]
        elif node.kind == "block":
            node.inputs, node.outputs = block_ports(node.type, node.props)
        else:
            node.inputs, node.outputs = other_ports(node)
    return Graph(nodes, refs)


def other_ports(node: Node) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ports of the nodes that are not blocks or signals: one per field that names another node."""
    ports = {
        "alarm": ([("signal", "any"), ("setpoint", "numeric"), ("suppress_when", "bool")], [("escalation", "")]),
        "escalation": ([("alarm", "")], [("contacts", "")]),
        "contact": ([("escalation", "")], []),
        "action": ([("trigger_signal", "any")], []),
        "task": ([("trigger", "any")], [("blocks", "")]),
        "screen": ([("widgets", "any")], []),
    }
    if node.kind == "mapping":
        direction = str(node.props.get("direction", "read"))
        if node.type in ("subscription",):
            return [], [{"name": "value", "type": "any"}]
        if node.type in ("publish", "group"):
            return [{"name": "value", "type": "any"}], []
        reads = direction in ("read", "read_write")
        writes = direction in ("write", "read_write")
        return ([{"name": "value", "type": "any"}] if writes else []), ([{"name": "value", "type": "any"}]
                                                                        if reads else [])
    if node.kind == "connection" and node.type == "mqtt":
        return [], [{"name": "writable_signals", "type": "any"}]
    ins, outs = ports.get(node.kind, ([], []))
    return [{"name": n, "type": t} for n, t in ins], [{"name": n, "type": t} for n, t in outs]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(item: dict[str, Any], key: str, fallback: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) and value else fallback


def _without(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def items(data: dict[str, Any]) -> Iterator[Node]:
    """Every node the config's own items make, in file order within each kind."""
    plant = {k: data[k] for k in PLANT_KEYS if k in data}
    yield Node("section:plant", "section", "plant", "plant", (), plant)
    for i, item in enumerate(_list(data.get("signals"))):
        if isinstance(item, dict):
            name = _name(item, "name", f"#{i}")
            yield Node(f"signal:{name}", "signal", str(item.get("type", "")), name, ("signals", i), item)
    for i, item in enumerate(_list(data.get("blocks"))):
        if isinstance(item, dict):
            name = _name(item, "name", f"#{i}")
            yield Node(f"block:{name}", "block", str(item.get("type", "")), name, ("blocks", i), item)
    for i, item in enumerate(_list(data.get("tasks"))):
        if isinstance(item, dict):
            name = _name(item, "name", f"#{i}")
            kind = "event" if "trigger" in item else "cyclic"
            yield Node(f"task:{name}", "task", kind, name, ("tasks", i), item)
    yield from _alarm_items(data)
    yield from _driver_items(data)
    yield from _storage_and_web(data)
    for key, value in data.items():
        if key not in NOT_SECTIONS and isinstance(value, dict) and key not in ("storage", "web", "alarms"):
            yield Node(f"section:{key}", "section", key, key, (key,), value)


def _alarm_items(data: dict[str, Any]) -> Iterator[Node]:
    alarms = data.get("alarms")
    if isinstance(alarms, dict):
        yield Node("section:alarms", "section", "alarms", "alarms", ("alarms",),
                   _without(alarms, CHILDREN["alarms"]))
        for i, item in enumerate(_list(alarms.get("alarms"))):
            if isinstance(item, dict):
                ident = _name(item, "id", f"#{i}")
                condition = item.get("condition", "")
                condition = ("true" if condition else "false") if isinstance(condition, bool) else str(condition)
                yield Node(f"alarm:{ident}", "alarm", condition,
                           _name(item, "name", ident), ("alarms", "alarms", i), item)
        for i, item in enumerate(_list(alarms.get("contacts"))):
            if isinstance(item, dict):
                ident = _name(item, "id", f"#{i}")
                yield Node(f"contact:{ident}", "contact", str(item.get("preferred_method", "")),
                           _name(item, "name", ident), ("alarms", "contacts", i), item)
        for key, chain in _dict(alarms.get("escalation_chains")).items():
            yield Node(f"escalation:{key}", "escalation", "chain", key, ("alarms", "escalation_chains", key),
                       {"alarm": key, "contacts": chain})
    twilio = data.get("twilio")
    if isinstance(twilio, dict):
        yield Node("notifier:twilio", "notifier", "twilio", "twilio", ("twilio",), _without(twilio, ("actions",)))
        for i, item in enumerate(_list(twilio.get("actions"))):
            if isinstance(item, dict):
                name = _name(item, "name", f"#{i}")
                yield Node(f"action:{name}", "action", str(item.get("action_type", "")), name,
                           ("twilio", "actions", i), item, parent="notifier:twilio")
    if isinstance(data.get("email"), dict):
        yield Node("notifier:email", "notifier", "email", "email", ("email",), data["email"])


def _mapping_ids(driver: str, conn: str, maps: list[Any], base: Path, parent: str) -> Iterator[Node]:
    seen: dict[str, int] = {}
    for j, item in enumerate(maps):
        if not isinstance(item, dict):
            continue
        signal = _name(item, "signal", f"#{j}")
        key = f"mapping:{driver}/{conn}/{signal}"
        seen[key] = seen.get(key, 0) + 1
        ident = key if seen[key] == 1 else f"{key}#{seen[key]}"
        yield Node(ident, "mapping", driver, signal, (*base, j), item, parent=parent)


def _driver_items(data: dict[str, Any]) -> Iterator[Node]:
    mqtt = data.get("mqtt")
    if isinstance(mqtt, dict):
        yield Node("connection:mqtt", "connection", "mqtt", str(mqtt.get("broker_host", "mqtt")), ("mqtt",),
                   _without(mqtt, CHILDREN["mqtt"]))
        for i, item in enumerate(_list(mqtt.get("subscriptions"))):
            if isinstance(item, dict):
                topic = _name(item, "topic", f"#{i}")
                yield Node(f"mapping:mqtt/sub/{topic}", "mapping", "subscription", topic,
                           ("mqtt", "subscriptions", i), item, parent="connection:mqtt")
        for i, item in enumerate(_list(mqtt.get("publish_signals"))):
            if isinstance(item, dict):
                signal = _name(item, "signal", f"#{i}")
                yield Node(f"mapping:mqtt/pub/{signal}", "mapping", "publish", signal,
                           ("mqtt", "publish_signals", i), item, parent="connection:mqtt")
        for i, item in enumerate(_list(mqtt.get("publish_groups"))):
            if isinstance(item, dict):
                topic = _name(item, "topic", f"#{i}")
                yield Node(f"mapping:mqtt/group/{topic}", "mapping", "group", topic,
                           ("mqtt", "publish_groups", i), item, parent="connection:mqtt")
    s7 = data.get("s7")
    plcs: list[tuple[Path, dict[str, Any]]] = []
    if isinstance(s7, dict):
        plcs = [(("s7",), s7)]
    elif isinstance(s7, list):
        plcs = [(("s7", i), item) for i, item in enumerate(s7) if isinstance(item, dict)]
    for path, plc in plcs:
        name = _name(plc, "name", "s7")
        ident = f"connection:s7/{name}"
        yield Node(ident, "connection", "s7", name, path, _without(plc, ("mappings",)))
        yield from _mapping_ids("s7", name, _list(plc.get("mappings")), (*path, "mappings"), ident)
    for i, bus in enumerate(_list(data.get("modbus"))):
        if isinstance(bus, dict):
            name = _name(bus, "name", f"#{i}")
            ident = f"connection:modbus/{name}"
            yield Node(ident, "connection", "modbus", name, ("modbus", i), _without(bus, ("mappings",)))
            yield from _mapping_ids("modbus", name, _list(bus.get("mappings")), ("modbus", i, "mappings"), ident)


def _storage_and_web(data: dict[str, Any]) -> Iterator[Node]:
    storage = data.get("storage")
    if isinstance(storage, dict):
        yield Node("section:storage", "section", "storage", "storage", ("storage",), _without(storage, TIERS))
        for tier in TIERS:
            if isinstance(storage.get(tier), dict):
                kind = str(storage[tier].get("type", "clickhouse")) if tier == "remote" else tier
                yield Node(f"tier:{tier}", "tier", kind, tier, ("storage", tier), storage[tier],
                           parent="section:storage")
    web = data.get("web")
    if isinstance(web, dict):
        yield Node("section:web", "section", "web", "web", ("web",), _without(web, ("screens",)))
        for i, item in enumerate(_list(web.get("screens"))):
            if isinstance(item, dict):
                name = _name(item, "name", f"#{i}")
                yield Node(f"screen:{name}", "screen", "screen", _name(item, "title", name), ("web", "screens", i),
                           item, parent="section:web")


def signal_ref(value: Any) -> tuple[str, bool] | None:
    """(signal name, previous) when a block input names a signal, None for a literal or a non-string."""
    if not isinstance(value, str) or parse_literal(value) is not None:
        return None
    previous = value.endswith(PREVIOUS)
    name = value[: -len(PREVIOUS)] if previous else value
    return (name, previous) if name else None


def _sig(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def refs_of(node: Node) -> list[Ref]:
    """The edges a node's props make (see the module docstring)."""
    p, nid, out = node.props, node.id, []
    if node.kind == "block":
        for port, value in _dict(p.get("inputs")).items():
            found = signal_ref(value)
            if found is not None:
                out.append(Ref(nid, ("inputs", port), f"signal:{found[0]}", "wire", port, False,
                               previous=found[1]))
        for port, value in _dict(p.get("outputs")).items():
            if _sig(value):
                out.append(Ref(nid, ("outputs", port), f"signal:{value}", "wire", port, True))
        if _sig(p.get("task")):
            out.append(Ref(nid, ("task",), f"task:{p['task']}", "task", "task", False, target_port="blocks"))
    elif node.kind == "task":
        for i, signal in enumerate(_list(p.get("trigger"))):
            if _sig(signal):
                out.append(Ref(nid, ("trigger", i), f"signal:{signal}", "trigger", "trigger", False))
    elif node.kind == "alarm":
        for key in ("signal", "setpoint", "suppress_when"):
            value = p.get(key)
            if _sig(value) and (key != "setpoint" or parse_literal(value) is None):
                out.append(Ref(nid, (key,), f"signal:{value}", "alarm", key, False))
    elif node.kind == "escalation":
        alarm = p.get("alarm")
        if _sig(alarm):
            out.append(Ref(nid, ("alarm",), f"alarm:{alarm}", "escalation", "alarm", False,
                           target_port="escalation"))
        for i, contact in enumerate(_list(p.get("contacts"))):
            if _sig(contact):
                out.append(Ref(nid, ("contacts", i), f"contact:{contact}", "escalation", "contacts", True,
                               target_port="escalation"))
    elif node.kind == "action":
        if _sig(p.get("trigger_signal")):
            out.append(Ref(nid, ("trigger_signal",), f"signal:{p['trigger_signal']}", "action", "trigger_signal",
                           False))
    elif node.kind == "screen":
        for i, widget in enumerate(_list(p.get("widgets"))):
            widget = _dict(widget)
            if _sig(widget.get("signal")):
                out.append(Ref(nid, ("widgets", i, "signal"), f"signal:{widget['signal']}", "screen", "widgets",
                               False))
            for j, signal in enumerate(_list(widget.get("signals"))):
                if _sig(signal):
                    out.append(Ref(nid, ("widgets", i, "signals", j), f"signal:{signal}", "screen", "widgets",
                                   False))
    elif node.kind == "connection" and node.type == "mqtt":
        for i, signal in enumerate(_list(p.get("writable_signals"))):
            if _sig(signal):
                out.append(Ref(nid, ("writable_signals", i), f"signal:{signal}", "mapping", "writable_signals",
                               True))
    elif node.kind == "mapping":
        out.extend(_mapping_refs(node))
    return out


def _mapping_refs(node: Node) -> list[Ref]:
    p, nid = node.props, node.id
    out = []
    signal = p.get("signal")
    if node.type == "subscription":
        if _sig(signal):
            out.append(Ref(nid, ("signal",), f"signal:{signal}", "mapping", "value", True))
    elif node.type == "publish":
        if _sig(signal):
            out.append(Ref(nid, ("signal",), f"signal:{signal}", "mapping", "value", False))
    elif node.type == "group":
        for key, value in _dict(p.get("fields")).items():
            if _sig(value):
                out.append(Ref(nid, ("fields", key), f"signal:{value}", "mapping", "value", False))
    elif _sig(signal):
        direction = str(p.get("direction", "read"))
        if direction in ("read", "read_write"):
            out.append(Ref(nid, ("signal",), f"signal:{signal}", "mapping", "value", True))
        if direction in ("write", "read_write"):
            out.append(Ref(nid, ("signal",), f"signal:{signal}", "mapping", "value", False))
    return out


def owned_elsewhere(node_kind: str, node_type: str, node_id: str) -> tuple[str, ...] | None:
    """Keys of the node's item that belong to other nodes (its props leave them out); None for
    section:plant, whose item is the whole document but which holds only `PLANT_KEYS`."""
    if node_id == "section:plant":
        return None
    if node_kind == "section":
        return CHILDREN.get(node_type, ())
    if node_kind == "connection":
        return CHILDREN["mqtt"] if node_type == "mqtt" else ("mappings",)
    if node_kind == "notifier" and node_type == "twilio":
        return ("actions",)
    return ()
