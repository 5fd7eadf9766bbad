"""Edits of a YAML text that change only the lines of the items they touch.

Every edit names a path in the document (`Op`). Where the item at that path fills whole
lines of a block collection (a ``- ...`` item of a block sequence, or a ``key: ...`` entry
of a block mapping) those lines are its *span*: a deletion removes them, an insertion adds
lines after the last sibling's span, and a change re-writes just that span through
ruamel.yaml's round-trip mode, which keeps the comments, quoting and flow style inside it.
Every other line of the file stays byte for byte. An edit inside a flow collection, or
nested in another edit's span, is made within the enclosing span instead.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from petra.designer.graph import Path

_Loader = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
_DASH = re.compile(r"^(\s*)-(\s+)$")


class EditError(ValueError):
    """An edit the text cannot take where it is asked for (the designer says so; the text is unchanged)."""


@dataclass
class Op:
    """One edit: `kind` set (the value at `path` becomes `value`; parents made as needed), delete, append (to
    the list at `path`), or merge (the mapping at `path` gets `value`'s keys; `base` is what the designer read
    there, so only keys that differ from it are touched; keys `keep` says are left alone)."""

    kind: str
    path: Path
    value: Any = None
    base: Any = None
    keep: Callable[[str], bool] | None = None


@dataclass
class Span:
    path: Path
    start: int
    """First line (0-based) of the span."""
    end: int
    """Last line (inclusive)."""
    indent: int
    item: bool
    """A sequence item (its text starts with '- ') rather than a mapping entry."""
    flow: bool = False


@dataclass
class _Action:
    span: Span | None
    ops: list[Op] = field(default_factory=list)
    insert_after: int | None = None
    text: str = ""


def compose(text: str) -> Node | None:
    return yaml.compose(text, Loader=_Loader)


def child(node: Node | None, key: str | int) -> tuple[Node | None, Node | None]:
    """(key node, value node) of `key` in `node` ((None, item) for a sequence index)."""
    if isinstance(node, MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
    if isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return None, node.value[key]
    return None, None


def last_end(node: Node) -> tuple[int, int]:
    """(line, column) just after the node's last character of content."""
    if isinstance(node, MappingNode) and node.flow_style is not True and node.value:
        return last_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and node.flow_style is not True and node.value:
        return last_end(node.value[-1])
    mark = node.end_mark
    if isinstance(node, ScalarNode) and node.style in ("|", ">") and mark.column == 0:
        return mark.line - 1, 10**9  # a block scalar ends at the start of the line after it
    return mark.line, mark.column


class Document:
    """A text, its node tree, and the spans of its items."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.root = compose(text)
        self.mapping_indent, self.sequence_offset = guess_indent(self.lines)
        self.aliased = _has_aliases(self.root)
        """Whether a node is reached twice (an alias `*name`, or `<<: *name`): spans cannot be trusted then."""

    def node(self, path: Path) -> Node | None:
        node = self.root
        for part in path:
            node = child(node, part)[1]
            if node is None:
                return None
        return node

    def span(self, path: Path) -> Span | None:
        """The whole lines of the item at `path`, when it has them to itself."""
        if not path or self.root is None:
            return None
        parent = self.node(path[:-1])
        if parent is None or getattr(parent, "flow_style", None) is True:
            return None
        key_node, value = child(parent, path[-1])
        if value is None:
            return None
        end_line, end_col = last_end(value)
        if end_line >= len(self.lines):
            end_line = len(self.lines) - 1
        tail = self.lines[end_line][end_col:] if end_col < 10**9 else ""
        if tail.strip() and not tail.strip().startswith("#"):
            return None
        if isinstance(parent, SequenceNode):
            line = value.start_mark.line
            before = self.lines[line][: value.start_mark.column]
            match = _DASH.match(before)
            if match is None:
                return None
            return Span(path, line, end_line, len(match.group(1)), True, _is_flow(value))
        assert key_node is not None
        line = key_node.start_mark.line
        before = self.lines[line][: key_node.start_mark.column]
        if before.strip():
            return None
        return Span(path, line, end_line, len(before), False, _is_flow(value))

    def anchor(self, path: Path) -> Span | None:
        """The span of `path` or of its nearest ancestor that has one."""
        for length in range(len(path), 0, -1):
            found = self.span(path[:length])
            if found is not None:
                return found
        return None


@functools.lru_cache(maxsize=2)
def document(text: str) -> Document:
    """The `Document` of a text, kept for the last two (it is only read)."""
    return Document(text)


_ANCHOR = re.compile(r"&[^\s\[\]{},]+[ \t]*")


@functools.lru_cache(maxsize=2)
def dealias(text: str) -> str:
    """`text` with every alias (``*name``, ``<<: *name``) written out as the value it stands for, in flow style,
    and every anchor (``&name``) dropped: only the lines holding one change.

    An alias's node is its anchor's node (it starts and ends there), so no item that holds one has lines of its
    own to edit; the text an edit is made on has none. What the text means is unchanged (a merge key is given
    the mapping it merged)."""
    from yaml.events import AliasEvent

    from petra.config.yaml_source import _PyLoader  # PETRA's own YAML 1.2 reading of the scalars

    found: list[tuple[int, int, Node]] = []

    class Recording(_PyLoader):
        def compose_node(self, parent: Node | None, index: object) -> Node:
            if self.check_event(AliasEvent):
                event = self.peek_event()
                if event.anchor in self.anchors:
                    found.append((event.start_mark.index, event.end_mark.index, self.anchors[event.anchor]))
            return super().compose_node(parent, index)

    loader = Recording(text)
    try:
        loader.get_single_node()
        edits = [(start, end, json.dumps(loader.construct_object(target, deep=True), ensure_ascii=False))
                 for start, end, target in found]
    finally:
        loader.dispose()
    for target in {id(t): t for _, _, t in found}.values():
        start = target.start_mark.index
        match = _ANCHOR.match(text, start)
        if match is not None:
            edits.append((start, match.end(), ""))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _has_aliases(root: Node | None) -> bool:
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


def _is_flow(node: Node) -> bool:
    return getattr(node, "flow_style", None) is True


def guess_indent(lines: list[str]) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) the file mostly uses (2, 2 when it does not say)."""
    mapping = offset = None
    previous: tuple[int, str] | None = None
    for line in lines[:2000]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if previous is not None and previous[1].endswith(":"):
            if stripped.startswith("- ") and offset is None:
                offset = indent - previous[0]
            elif not stripped.startswith("- ") and indent > previous[0] and mapping is None:
                mapping = indent - previous[0]
        previous = (indent, stripped)
        if mapping is not None and offset is not None:
            break
    return mapping or 2, offset if offset is not None else 2


def apply_ops(text: str, ops: list[Op]) -> str:
    """`text` with `ops` made (see the module docstring)."""
    if not ops:
        return text
    doc = document(text)
    if doc.aliased:
        return apply_ops(dealias(text), ops)
    actions: list[_Action] = []
    for op in ops:
        actions.append(_plan(doc, op))
    # an action inside another's span is made within that span (two on one item: one rewrite)
    kept: list[_Action] = []
    for action in sorted(actions, key=lambda a: _extent(a)[1] - _extent(a)[0], reverse=True):
        host = next((k for k in kept if _inside(action, k)), None)
        if host is not None:
            host.ops.extend(action.ops)
        else:
            kept.append(action)
    lines = list(doc.lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    tail_ops = [op for action in kept if action.span is None and action.insert_after is None for op in action.ops]
    for action in sorted(kept, key=lambda a: _extent(a)[0], reverse=True):
        if action.span is None and action.insert_after is None:
            continue
        if action.insert_after is not None:
            at = action.insert_after + 1
            lines[at:at] = [action.text]
            continue
        span = action.span
        assert span is not None
        if len(action.ops) == 1 and action.ops[0].kind == "delete" and action.ops[0].path == span.path:
            del lines[span.start:span.end + 1]
            continue
        lines[span.start:span.end + 1] = [_rewrite(doc, span, action.ops)]
    out = "".join(lines)
    if tail_ops:
        if doc.root is not None and not isinstance(doc.root, MappingNode):
            raise ValueError("the document is not a mapping of sections")
        out += ("" if out.endswith("\n\n") or not out.strip() else "\n") + _top_level(doc, tail_ops)
    return out


def _extent(action: _Action) -> tuple[int, int]:
    if action.insert_after is not None:
        return action.insert_after + 1, action.insert_after + 1
    if action.span is None:
        return 10**9, 10**9
    return action.span.start, action.span.end + 1


def _inside(inner: _Action, outer: _Action) -> bool:
    """Whether `inner` lies within the span `outer` rewrites."""
    if outer.span is None or outer.insert_after is not None:
        return False
    if inner.insert_after is not None:
        return outer.span.start <= inner.insert_after < outer.span.end
    if inner.span is None:
        return False
    return inner.span.path[:len(outer.span.path)] == outer.span.path


def _plan(doc: Document, op: Op) -> _Action:
    """Where `op` is made: its own span, an insertion after the last sibling, or an enclosing span."""
    if op.kind == "append":
        target = doc.node(op.path)
        if isinstance(target, SequenceNode) and target.flow_style is not True and target.value:
            last = doc.span((*op.path, len(target.value) - 1))
            if last is not None:
                return _Action(None, [op], insert_after=last.end,
                               text=dump_item(op.value, last.indent, doc, flow=last.flow))
        return _Action(doc.anchor(op.path[:-1] if target is None else op.path), [op])
    if op.kind in ("set", "merge") and doc.node(op.path) is None:
        return _Action(doc.anchor(op.path[:-1]), [op])
    return _Action(doc.anchor(op.path), [op])


def dump_item(value: Any, indent: int, doc: Document, *, flow: bool = False) -> str:
    """`value` as one ``- ...`` item whose dash is at column `indent`."""
    from ruamel.yaml.comments import CommentedMap

    if flow and isinstance(value, dict):
        value = CommentedMap(value)
        value.fa.set_flow_style()
    return _shift(_dump([value], doc), indent - doc.sequence_offset)


def _shift(text: str, by: int) -> str:
    """Every non-blank line of `text` moved `by` columns right (left when negative)."""
    if by == 0:
        return text
    pad = " " * max(by, 0)
    out = []
    for line in text.splitlines(keepends=True):
        if not line.strip():
            out.append(line)
        elif by > 0:
            out.append(pad + line)
        else:
            spaces = len(line) - len(line.lstrip(" "))
            out.append(line[min(-by, spaces):])
    return "".join(out)


def _yaml(doc: Document) -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=doc.mapping_indent, sequence=doc.sequence_offset + 2, offset=doc.sequence_offset)
    return rt


def _dump(data: Any, doc: Document) -> str:
    out = io.StringIO()
    _yaml(doc).dump(data, out)
    return out.getvalue()


def _rewrite(doc: Document, span: Span, ops: list[Op]) -> str:
    """The span's lines after `ops`, through ruamel.yaml's round trip of just those lines."""
    raw = "".join(doc.lines[span.start:span.end + 1])
    # ruamel writes a top-level list's dashes at the sequence offset, a mapping's keys at 0: give the
    # fragment those columns, so comments beside it keep their place
    by = span.indent - (doc.sequence_offset if span.item else 0)
    fragment = _shift(raw, -by)
    if not fragment.endswith("\n"):
        fragment += "\n"
    from ruamel.yaml.error import YAMLError

    try:
        data = _yaml(doc).load(fragment)
    except YAMLError as exc:  # an alias to an anchor outside the item, say
        raise EditError(f"the item at line {span.start + 1} cannot be edited on its own ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); edit it in the YAML text") from None
    base = span.path[:-1]
    root_key: str | int = 0 if span.item else span.path[-1]
    deleted_whole = False
    for op in ops:
        relative = (root_key, *op.path[len(base) + 1:])
        if op.kind == "delete" and op.path == span.path:
            deleted_whole = True
            continue
        _apply(data, relative, op)
    if deleted_whole:
        return ""
    return _shift(_dump(data, doc), by)


def _top_level(doc: Document, ops: list[Op]) -> str:
    """Keys the document does not have yet, appended at its end."""
    from ruamel.yaml.comments import CommentedMap

    data = CommentedMap()
    for op in ops:
        _apply(data, op.path, op)
    return _dump(data, doc)


def _container(data: Any, path: Path, make: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = data
    for index, part in enumerate(path):
        nxt = path[index + 1] if index + 1 < len(path) else None
        if isinstance(node, dict):
            if part not in node or node[part] is None:
                if not make:
                    return None
                node[part] = CommentedSeq() if isinstance(nxt, int) else CommentedMap()
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _apply(data: Any, path: Path, op: Op) -> None:
    if op.kind == "append":
        target = _container(data, path, True)
        if isinstance(target, dict) and not target:  # made as a mapping for lack of a hint: a list it is
            parent = _container(data, path[:-1], True)
            parent[path[-1]] = target = []
        if isinstance(target, list):
            target.append(op.value)
        return
    parent = _container(data, path[:-1], op.kind != "delete")
    key = path[-1]
    if parent is None:
        return
    if op.kind == "delete":
        if isinstance(parent, dict):
            parent.pop(key, None)
        elif isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
            del parent[key]
        return
    if op.kind == "set":
        if isinstance(parent, dict):
            parent[key] = op.value
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            if isinstance(parent[key], list) and isinstance(op.value, list):
                merge_list(parent[key], op.value, [])
            else:
                parent[key] = op.value
        return
    current = parent.get(key) if isinstance(parent, dict) else (
        parent[key] if isinstance(parent, list) and isinstance(key, int) and key < len(parent) else None)
    if not isinstance(current, dict):
        parent[key] = {k: v for k, v in op.value.items()}
        return
    merge(current, op.value, op.base if isinstance(op.base, dict) else {}, op.keep)


def same(a: Any, b: Any) -> bool:
    """Equal as PETRA reads them, and of the same kind (true is not 1, 1 is not 1.0 in a config)."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return isinstance(a, float) == isinstance(b, float) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
    return a is None and b is None


def merge(target: dict[str, Any], new: dict[str, Any], base: dict[str, Any],
          keep: Callable[[str], bool] | None = None) -> None:
    """Make the ruamel mapping `target` say `new`, touching only the keys where `new` differs from `base`."""
    for key in [k for k in target if k not in new and (keep is None or not keep(k))]:
        del target[key]
    for key, value in new.items():
        if keep is not None and keep(key):
            continue
        if key in base and same(base[key], value) and key in target:
            continue
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            prior = base.get(key)
            merge(old, value, prior if isinstance(prior, dict) else {})
        elif isinstance(old, list) and isinstance(value, list):
            earlier = base.get(key)
            merge_list(old, value, earlier if isinstance(earlier, list) else [])
        else:
            target[key] = value


def merge_list(old: list[Any], new: list[Any], base: list[Any]) -> None:
    """Make the ruamel sequence `old` say `new` in place: the items both have are merged one by one, the rest
    appended or cut off, so the sequence keeps its style and the unchanged items theirs."""
    for index, item in enumerate(new[:len(old)]):
        prior = base[index] if index < len(base) else None
        if prior is not None and same(prior, item):
            continue
        if isinstance(old[index], dict) and isinstance(item, dict):
            merge(old[index], item, prior if isinstance(prior, dict) else {})
        else:
            old[index] = item
    if len(new) > len(old):
        old.extend(new[len(old):])
    else:
        del old[len(new):]
