"""YAML to plain Python data, remembering where every key and value was written.

We compose the YAML node graph with a safe loader and build dicts, lists and
scalars ourselves, so that each path (``("blocks", 2, "type")``) has the 1-based
(line, column) of its key and of its value. Along the way:

* duplicate mapping keys are errors, at the second key;
* ``${VAR}`` references in string scalars are substituted (`petra.config.env`)
  and plain scalars are re-resolved afterwards, so ``port: ${PORT}`` is an int
  (an expansion to nothing is the empty string, not null);
* scalars follow YAML 1.2 rather than 1.1: only true/false are booleans
  (``yes``, ``on`` and ``N`` stay strings), ``8:30`` is a string and not a
  base-60 number, dates stay strings, and ``1e5`` is a float;
* ``<<`` merge keys and anchors work as usual.

Malformed YAML becomes one Problem ``file:line:col: invalid YAML: <what to fix>``
(`yaml_messages`); documents too big, too deep or with alias bombs are refused
before they are composed (`yaml_limits`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from petra.config.env import SubstitutionError, substitute
from petra.config.errors import ConfigError, Path_, Problem, format_path
from petra.config.yaml_limits import check_size, check_structure
from petra.config.yaml_messages import explain

Mark = tuple[int, int]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_REPLACED = {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


# libyaml's C parser composes ~10x faster than the pure-Python one (a 10,000-block
# plant loads in about a second instead of twelve) and keeps the same marks.
_Base = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """A safe loader with YAML 1.2-like implicit types (see the module docstring)."""


class _PyLoader(yaml.SafeLoader):
    """The pure-Python twin, used only to word a syntax error the way PyYAML does."""


for _loader in (_Loader, _PyLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    _loader.add_implicit_resolver(
        _INT,
        re.compile(r"^(?:[-+]?[0-9][0-9_]*|[-+]?0x[0-9a-fA-F_]+|[-+]?0o[0-7_]+|[-+]?0b[01_]+)$"),
        list("-+0123456789"),
    )


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    """Decimal unless prefixed 0x/0o/0b: a leading zero does not mean octal."""
    text = node.value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    bases = {"0x": 16, "0o": 8, "0b": 2}
    base = bases.get(text[:2].lower(), 10)
    return sign * int(text[2:] if base != 10 else text, base)


for _loader in (_Loader, _PyLoader):
    _loader.add_constructor(_INT, _construct_int)
    _loader.add_implicit_resolver(
        _FLOAT,
        re.compile(
            r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        list("-+0123456789."),
    )


@dataclass
class Document:
    """Parsed data plus the positions of keys and values by path."""

    filename: str
    data: Any
    keys: dict[Path_, Mark] = field(default_factory=dict)
    values: dict[Path_, Mark] = field(default_factory=dict)

    def position(self, path: Path_, *, key: bool = False) -> Mark:
        """Where `path` was written (its key when `key`), or its nearest ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        """A Problem at `path` (see `position`)."""
        line, column = self.position(path, key=key)
        return Problem(self.filename, line, column, format_path(path), message)


def release_gradually(*containers: Any) -> None:
    """Free big node graphs and dicts piece by piece instead of in one C-level cascade.

    Dropping a 10,000-block document at once frees ~150,000 objects without ever
    returning to the interpreter loop, holding the GIL for tens of milliseconds
    and making the clock late. Taking it apart in Python lets other threads in.
    """
    stack: list[Any] = list(containers)
    while stack:
        item = stack.pop()
        if isinstance(item, Node):
            stack.append(item.value)
        elif isinstance(item, list):
            while item:
                stack.append(item.pop())
        elif isinstance(item, dict):
            while item:
                stack.extend(item.popitem())
        elif isinstance(item, tuple):
            stack.extend(item)


def _compose(text: str, filename: str) -> Node | None:
    """The node graph, after `check_structure` made sure composing it is safe."""
    try:
        check_structure(text, filename, _Loader)
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        check_structure(text, filename, _PyLoader)  # same verdict in PyYAML's wording,
        return yaml.compose(text, Loader=_PyLoader)  # within the same limits


def _mark(node: Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(
    text: str, filename: str, env: Mapping[str, str], *, only: tuple[str, ...] | None = None
) -> Document:
    """Parse `text`; raise ConfigError for malformed YAML, documents past the limits of
    `petra.config.yaml_limits`, duplicate keys and unresolvable ``${VAR}`` references.

    With `only`, ``${VAR}`` is substituted only inside those top-level sections
    (elsewhere the text stays as written), for tools that read one section."""
    check_size(len(text.encode("utf-8", "surrogatepass")), filename)
    try:
        root = _compose(text, filename)
    except yaml.MarkedYAMLError as exc:
        line, column, message = explain(exc, text)
        raise ConfigError([Problem(filename, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(filename, 0, 0, "", f"invalid YAML: {exc}")]) from None
    builder = _Builder(filename, env, only)
    doc = Document(filename, None)
    if root is None:
        doc.data = {}
        doc.values[()] = (1, 1)
    else:
        doc.data = builder.build(root, (), doc)
        release_gradually(root)
    if builder.problems:
        raise ConfigError(sorted(builder.problems))
    return doc


class _Builder:
    def __init__(self, filename: str, env: Mapping[str, str], only: tuple[str, ...] | None = None) -> None:
        self.filename = filename
        self.env = env
        self.only = only
        self.loader = _Loader("")
        self.problems: list[Problem] = []
        self.active: set[int] = set()

    def fail(self, mark: Mark, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.filename, mark[0], mark[1], format_path(path), message))

    def build(self, node: Node, path: Path_, doc: Document) -> Any:
        doc.values[path] = _mark(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.fail(_mark(node), path, "an alias refers to a node that contains it")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(child, (*path, i), doc) for i, child in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self.mapping(node, path, doc)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: MappingNode, path: Path_, doc: Document) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        self.fail(_mark(source), path, "'<<' merges mappings only")
                        continue
                    merged = self.build(source, path, doc)
                    for k, v in merged.items():
                        result.setdefault(k, v)
                doc.values[path] = _mark(node)
            else:
                explicit.append((key_node, value_node))
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in explicit:
            if not isinstance(key_node, ScalarNode):
                self.fail(_mark(key_node), path, "a key must be a plain name, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in first_seen:
                line = first_seen[key][0]
                message = f"duplicate key '{key}' (first given on line {line})"
                self.fail(_mark(key_node), (*path, key), message)
                continue
            first_seen[key] = _mark(key_node)
            doc.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key), doc)
        return result

    def scalar(self, node: ScalarNode, path: Path_) -> Any:
        if node.tag == _STR and "${" in node.value and (self.only is None or (path and path[0] in self.only)):
            try:
                text = substitute(node.value, self.env)
            except SubstitutionError as exc:
                self.fail(_mark(node), path, str(exc))
                return node.value
            if node.style not in (None, "") or text == "":  # libyaml marks plain as ""
                return text  # quoted stays a string; so does an empty expansion
            tag = self.loader.resolve(ScalarNode, text, (True, False))
            node = ScalarNode(tag, text, node.start_mark, node.end_mark, node.style)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self.fail(_mark(node), path, f"cannot read value {node.value!r}: {exc}")
            return node.value
