"""Graph -> YAML: a graph the page edited, applied to the text it was read from.

The base text's own graph says what the page was given; the posted graph is compared
with it node by node (by id) and turned into edits of the text (`textedit.Op`): a node
whose props changed is merged into its item (only the keys that differ are touched), a
node that is gone is deleted, a new one is appended where its kind lives. Only those
items' lines change (`textedit`): comments, key order and formatting elsewhere stay.

Before that, the posted edges are reconciled with the props: an edge the page drew (one
it was not given) that no prop names yet is made (`connect.make_wire`), an edge the page
was given and removed takes its name out of the holder's props (where props and edges
disagree otherwise, props win), and renaming a signal, alarm, contact or task
renames the references to it. A page that keeps props and edges in step changes nothing
here. With ``"partial": true`` the graph holds only the nodes that changed (a big plant's
graph need not be posted whole): nodes it leaves out are kept unless listed in "removed".

A new implicit node (a signal that is only written or read, drawn from an edge) stays
implicit, and out of `signals:`, until the page gives it props beyond its name and type
or drops its "implicit" flag.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import replace
from typing import Any

from petra.designer.graph import (
    CHILDREN,
    PLANT_KEYS,
    PREVIOUS,
    Graph,
    Node,
    Path,
    base_graph,
    edge_json,
    owned_elsewhere,
    refs_of,
)
from petra.designer.textedit import Op, apply_ops, same

IDENTITY = {"signal": "name", "alarm": "id", "contact": "id", "task": "name", "block": "name"}


class GraphError(ValueError):
    """A posted graph the designer cannot apply (a node without a kind, a connection it cannot place)."""


def _node_from_json(item: Any) -> Node:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("kind"), str):
        raise GraphError("every node needs a string 'id' and 'kind'")
    props = item.get("props")
    if not isinstance(props, dict):
        raise GraphError(f"node {item['id']}: 'props' must be an object")
    path = item.get("path")
    return Node(item["id"], item["kind"], str(item.get("type") or ""), str(item.get("label") or ""),
                tuple(path) if isinstance(path, list) else None, copy.deepcopy(props),
                parent=item.get("parent") if isinstance(item.get("parent"), str) else None,
                implicit=bool(item.get("implicit")))


def apply_graph(text: str, graph: dict[str, Any], filename: str = "plant.yaml") -> str:
    """The text `graph` describes, made from `text` by changing only what differs (see the module docstring)."""
    data, base = base_graph(text, filename)
    raw_nodes = graph.get("nodes")
    if not isinstance(raw_nodes, list):
        raise GraphError("graph.nodes must be a list")
    posted = {n.id: n for n in map(_node_from_json, raw_nodes)}
    partial = bool(graph.get("partial"))
    removed = {r for r in graph.get("removed", []) if isinstance(r, str)} if partial else set()
    shared: set[str] = set()
    if partial:  # the nodes left out are the base's own (not copied: they are only read, or copied when renamed)
        for node_id, node in base.nodes.items():
            if node_id not in posted and node_id not in removed:
                posted[node_id] = node
                shared.add(node_id)
    _rename_references(base, posted, shared)
    if not partial and isinstance(graph.get("edges"), list):
        _reconcile_edges(base, posted, [e for e in graph["edges"] if isinstance(e, dict)])
    return apply_nodes(text, base, posted, data)


def apply_nodes(text: str, base: Graph, nodes: dict[str, Node], data: dict[str, Any]) -> str:
    """`text` (whose graph is `base` and parsed data `data`) changed to say what `nodes` say."""
    ops = _ops(base, nodes, data)
    if any(_substitutes(op.value) for op in ops):
        schema = _full_schema()
        for op in ops:
            if op.kind != "delete" and _substitutes(op.value):
                target = (*op.path, 0) if op.kind == "append" else op.path
                op.value = quote_substitutions(op.value, _schema_at(schema, target, op.value))
    return apply_ops(text, ops)


def _substitutes(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_substitutes(v) for v in value.values())
    if isinstance(value, list):
        return any(_substitutes(v) for v in value)
    return False


@functools.lru_cache(maxsize=1)
def _full_schema() -> dict[str, Any]:
    from petra.config.schema import build_schema

    return build_schema(block_details=False)


def _rename_references(base: Graph, posted: dict[str, Node], shared: set[str] | None = None) -> None:
    renamed: dict[str, str] = {}
    for node_id, node in posted.items():
        old = base.nodes.get(node_id)
        key = IDENTITY.get(node.kind)
        if old is None or key is None or old.implicit:
            continue
        before, after = old.props.get(key), node.props.get(key)
        if isinstance(before, str) and isinstance(after, str) and before != after:
            renamed[f"{node.kind}:{before}"] = after
    if not renamed:
        return
    for node_id in list(posted):
        node = posted[node_id]
        for ref in refs_of(node):
            if ref.target in renamed:
                if shared is not None and node_id in shared:  # the base's own node: change a copy
                    node = posted[node_id] = copy.deepcopy(node)
                    shared.discard(node_id)
                value = renamed[ref.target] + (PREVIOUS if ref.previous else "")
                _set_field(node.props, ref.field, value)


def _index(container: Any, part: str | int) -> bool:
    """Whether `part` is an index of the list `container`."""
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _get_field(props: dict[str, Any], path: Path) -> Any:
    value: Any = props
    for part in path:
        if not (isinstance(value, dict) and part in value) and not _index(value, part):
            return None
        value = value[part]
    return value


def _set_field(props: dict[str, Any], path: Path, value: Any) -> None:
    target: Any = props
    for part in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(part, {})
        elif _index(target, part):
            target = target[part]
        else:
            return
    last = path[-1]
    if isinstance(target, dict) or _index(target, last):
        target[last] = value


def _drop_fields(props: dict[str, Any], paths: list[Path]) -> None:
    """Remove the values at `paths` (list items from the highest index down, so none shifts another)."""
    for path in sorted(paths, key=lambda p: [(0, x) if isinstance(x, int) else (1, str(x)) for x in p],
                       reverse=True):
        parent: Any = _get_field(props, path[:-1]) if len(path) > 1 else props
        last = path[-1]
        if (isinstance(parent, dict) and last in parent) or _index(parent, last):
            del parent[last]


def _reconcile_edges(base: Graph, posted: dict[str, Node], edges: list[dict[str, Any]]) -> None:
    from petra.designer.wires import ConnectRefused, make_wire

    given = {e["id"] for e in base.edges()}
    posted_ids = {e.get("id") for e in edges}
    # a node renamed in its props keeps the id the page knows it by: name its edges by that id
    alias = {f"{n.kind}:{n.props[IDENTITY[n.kind]]}": n.id for n in posted.values()
             if n.kind in IDENTITY and isinstance(n.props.get(IDENTITY[n.kind]), str)}
    derived = {}
    for node in posted.values():
        for ref in refs_of(node):
            derived[edge_json(replace(ref, target=alias.get(ref.target, ref.target)))["id"]] = ref
    drops: dict[str, list[Path]] = {}
    for edge_id, ref in derived.items():
        if edge_id in given and edge_id not in posted_ids and ref.holder in posted:
            drops.setdefault(ref.holder, []).append(ref.field)
    for holder, paths in drops.items():
        _drop_fields(posted[holder].props, paths)
    for edge in edges:
        if edge.get("id") in derived or edge.get("id") in given:
            continue  # props say it already, or the page was given it and changed the props since: props win
        if not isinstance(edge.get("from"), dict) or not isinstance(edge.get("to"), dict):
            continue
        try:
            make_wire(posted, edge["from"], edge["to"], previous=bool(edge.get("previous")))
        except ConnectRefused:
            continue  # a wire that names nothing the config can hold: the check shows the rest


def _ops(base: Graph, posted: dict[str, Node], data: dict[str, Any]) -> list[Op]:
    ops: list[Op] = []
    for node_id, old in base.nodes.items():
        new = posted.get(node_id)
        if old.path is None:
            if new is not None and _declares(old, new):
                ops.extend(_new_item(new, posted, data))
            continue
        if new is None:
            if old.path != ():
                ops.append(Op("delete", old.path))
            continue
        if not same(old.props, new.props):
            ops.extend(_changed(old, new))
    for node_id, new in posted.items():
        if node_id not in base.nodes and not (new.implicit and not _has_more_than_name(new)):
            if new.kind == "mapping" and new.parent is not None and new.parent not in base.nodes:
                continue  # it goes into its new connection's item
            ops.extend(_new_item(new, posted, data))
    return _empty_lists(ops, data)


def _has_more_than_name(node: Node) -> bool:
    return bool(set(node.props) - {"name", "type"})


def _declares(old: Node, new: Node) -> bool:
    """An implicit node the page made real: given props of its own, or no longer flagged implicit."""
    return not new.implicit or (_has_more_than_name(new) and not same(old.props, new.props))


def _changed(old: Node, new: Node) -> list[Op]:
    assert old.path is not None
    if old.id == "section:plant":
        return [Op("set", (k,), new.props[k]) if k in new.props else Op("delete", (k,))
                for k in PLANT_KEYS if not same(old.props.get(k), new.props.get(k)) and (
                    k in new.props or k in old.props)]
    if old.kind == "escalation":
        alarm, contacts = new.props.get("alarm"), new.props.get("contacts")
        if alarm != old.props.get("alarm") and isinstance(alarm, str) and alarm:
            return [Op("delete", old.path), Op("set", (*old.path[:-1], alarm), contacts)]
        return [Op("set", old.path, contacts)]
    owned = owned_elsewhere(old.kind, old.type, old.id) or ()
    return [Op("merge", old.path, new.props, base=old.props, keep=lambda key: key in owned)]


def _key(node: Node) -> str:
    return node.id.split(":", 1)[1].split("#", 1)[0]


def _new_item(node: Node, posted: dict[str, Node], data: dict[str, Any]) -> list[Op]:
    props = copy.deepcopy(node.props)
    lists = {"signal": ("signals",), "block": ("blocks",), "task": ("tasks",), "alarm": ("alarms", "alarms"),
             "contact": ("alarms", "contacts"), "action": ("twilio", "actions"), "screen": ("web", "screens")}
    if node.kind in lists:
        if node.kind == "signal":
            props.setdefault("name", _key(node))
        return [Op("append", lists[node.kind], props)]
    if node.kind == "escalation":
        alarm = props.get("alarm") or _key(node)
        return [Op("set", ("alarms", "escalation_chains", str(alarm)), props.get("contacts", []))]
    if node.kind == "notifier":
        return [Op("set", (node.type or _key(node),), props)]
    if node.kind == "tier":
        return [Op("set", ("storage", _key(node)), props)]
    if node.kind == "section":
        if node.id == "section:plant":
            return [Op("set", (k,), props[k]) for k in PLANT_KEYS if k in props]
        return [Op("set", (node.type or _key(node),), props)]
    if node.kind == "connection":
        return _new_connection(node, props, posted, data)
    if node.kind == "mapping":
        return _new_mapping(node, props, posted, data)
    raise GraphError(f"node {node.id}: kind '{node.kind}' is not one the designer can place")


def _children(node: Node, posted: dict[str, Node]) -> list[dict[str, Any]]:
    return [copy.deepcopy(n.props) for n in posted.values() if n.kind == "mapping" and n.parent == node.id]


def _new_connection(node: Node, props: dict[str, Any], posted: dict[str, Node], data: dict[str, Any]) -> list[Op]:
    driver = node.type or _key(node).split("/", 1)[0]
    if driver == "mqtt":
        for child in (n for n in posted.values() if n.kind == "mapping" and n.parent == node.id):
            key = {"subscription": "subscriptions", "publish": "publish_signals", "group": "publish_groups"}.get(
                child.type, "subscriptions")
            props.setdefault(key, []).append(copy.deepcopy(child.props))
        return [Op("set", ("mqtt",), props)]
    maps = _children(node, posted)
    if maps:
        props["mappings"] = maps
    if driver == "modbus":
        return [Op("append", ("modbus",), props)]
    if driver == "s7":
        existing = data.get("s7")
        plcs = [n for n in posted.values() if n.kind == "connection" and n.type == "s7"]
        if existing is None and len(plcs) == 1 and not (node.path and len(node.path) == 2):
            return [Op("set", ("s7",), props)]  # one PLC: the mapping form
        if existing is None:
            return [Op("append", ("s7",), props)]
        if isinstance(existing, list):
            return [Op("append", ("s7",), props)]
        raise GraphError("a second S7 PLC: write s7 as a list of named PLCs first (in the YAML pane)")
    raise GraphError(f"node {node.id}: no driver '{driver}'")


def _new_mapping(node: Node, props: dict[str, Any], posted: dict[str, Node], data: dict[str, Any]) -> list[Op]:
    if node.type in ("subscription", "publish", "group"):
        key = {"subscription": "subscriptions", "publish": "publish_signals", "group": "publish_groups"}[node.type]
        return [Op("append", ("mqtt", key), props)]
    parent = posted.get(node.parent or "")
    if parent is None or parent.path is None:
        raise GraphError(f"mapping {node.id} needs the 'parent' connection it belongs to")
    return [Op("append", (*parent.path, "mappings"), props)]


def _empty_lists(ops: list[Op], data: dict[str, Any]) -> list[Op]:
    """Deleting every item of a list (or mapping) leaves it empty (`[]`, `{}`), not null."""
    deleted: dict[Path, set[str | int]] = {}
    for op in ops:
        if op.kind == "delete" and len(op.path) > 1:
            deleted.setdefault(op.path[:-1], set()).add(op.path[-1])
    added = {op.path for op in ops if op.kind == "append"} | {op.path[:-1] for op in ops if op.kind == "set"}
    out = list(ops)
    for parent, keys in deleted.items():
        value = _get_field(data, parent)
        if parent in added or not isinstance(value, list | dict) or len(keys) < len(value):
            continue
        if parent[-1] in CHILDREN.get(str(parent[0]), ()) or len(parent) >= 1:
            out = [op for op in out if not (op.kind == "delete" and op.path[:-1] == parent)]
            out.append(Op("set", parent, _empty(list if isinstance(value, list) else dict)))
    return out


def _schema_at(schema: dict[str, Any], path: Path, value: Any = None) -> dict[str, Any]:
    """The JSON Schema of the value at `path` (the first branch of a oneOf/anyOf that fits the value's shape)."""
    node: Any = schema
    for part in path:
        node = _branch(node, dict if isinstance(part, str) else list)
        if isinstance(part, str):
            props = node.get("properties", {})
            node = props.get(part) if part in props else node.get("additionalProperties", {})
        else:
            node = node.get("items", {})
        if not isinstance(node, dict):
            return {}
    return _branch(node, type(value)) if value is not None else node


def _branch(node: dict[str, Any], shape: type) -> dict[str, Any]:
    wanted = {"object": dict, "array": list}
    for keyword in ("oneOf", "anyOf"):
        for branch in node.get(keyword, []):
            kind = branch.get("type")
            if isinstance(kind, str) and wanted.get(kind) is shape:
                return dict(branch)
    return node


def quote_substitutions(value: Any, schema: dict[str, Any]) -> Any:
    """`value` with each string holding a ``${VAR}`` where the schema wants a string written double-quoted.

    PETRA reads a plain ``${VAR:-+15005550006}`` as the number its expansion looks like and a quoted one as a
    string (`petra.config.yaml_source`); a new value carries no quotes of its own, so the schema decides."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, dict):
        return {k: quote_substitutions(v, _schema_at(schema, (k,), v)) for k, v in value.items()}
    if isinstance(value, list):
        return [quote_substitutions(v, _schema_at(schema, (0,), v)) for v in value]
    if isinstance(value, str) and "${" in value and schema.get("type") == "string":
        return DoubleQuotedScalarString(value)
    return value


def _empty(kind: type) -> Any:
    """An empty list or mapping written in flow style (`[]`, `{}`)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    made = CommentedSeq() if kind is list else CommentedMap()
    made.fa.set_flow_style()
    return made
