"""Limits that keep a hostile or broken YAML file from exhausting the process.

A config is read at start, by ``petra check`` and at reload, next to a running
plant. Without limits a "billion laughs" file (aliases of aliases) expands to
gigabytes, and deeply nested brackets overflow the interpreter's stack. Each
limit is far above any real plant (a 10,000-block config is ~1 MB, 8 levels
deep, with no aliases) and each refusal is an ordinary located Problem.

`check_structure` walks the parser's event stream, which is flat (no
recursion, no node graph), before anything is composed: it tracks the nesting
depth and how many values the aliases would add once expanded.
"""

from __future__ import annotations

from typing import Any

from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

from petra.config.errors import ConfigError, Problem

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""Largest config file accepted, in bytes."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted."""

MAX_ALIAS_VALUES = 200_000
"""Most values that aliases (``*name``, ``<<: *name``) may add to the document."""


def check_size(size: int, filename: str) -> None:
    """Refuse a document larger than MAX_DOCUMENT_BYTES."""
    if size > MAX_DOCUMENT_BYTES:
        raise ConfigError([Problem(filename, 0, 0, "", f"the file is {size / 2**20:.1f} MiB; a configuration "
                                                       f"may be at most {MAX_DOCUMENT_BYTES // 2**20} MiB")])


def check_structure(text: str, filename: str, loader: type[Any]) -> None:
    """Refuse nesting deeper than MAX_DEPTH and aliases that expand past MAX_ALIAS_VALUES.

    Raises what the parser raises for malformed YAML (the caller words it).
    """
    parser = loader(text)
    try:
        _walk(parser, filename)
    finally:
        parser.dispose()


def _walk(parser: Any, filename: str) -> None:
    # sizes[i]: values in the i-th open collection so far; anchors: values per anchored node
    sizes: list[int] = []
    open_anchors: list[str | None] = []
    anchors: dict[str, int] = {}
    added = 0
    while parser.check_event():
        event = parser.get_event()
        if isinstance(event, CollectionStartEvent):
            if len(sizes) >= MAX_DEPTH:
                _refuse(filename, event, f"the document is nested more than {MAX_DEPTH} levels deep "
                                         "(lists and mappings inside each other); flatten it")
            sizes.append(1)
            open_anchors.append(event.anchor)
        elif isinstance(event, CollectionEndEvent):
            size = sizes.pop()
            anchor = open_anchors.pop()
            if anchor is not None:
                anchors[anchor] = size
            if sizes:
                sizes[-1] += size
        elif isinstance(event, AliasEvent):
            size = anchors.get(event.anchor, 1)  # an unknown alias is the composer's error
            added += size
            if added > MAX_ALIAS_VALUES:
                _refuse(filename, event, f"aliases expand the document by more than {MAX_ALIAS_VALUES:,} "
                                         "values (a YAML alias bomb?); write the values out or use fewer "
                                         "aliases of aliases")
            if sizes:
                sizes[-1] += size
        elif isinstance(event, NodeEvent):  # a scalar
            if event.anchor is not None:
                anchors[event.anchor] = 1
            if sizes:
                sizes[-1] += 1


def _refuse(filename: str, event: Any, message: str) -> None:
    mark = event.start_mark
    raise ConfigError([Problem(filename, mark.line + 1, mark.column + 1, "", message)])
