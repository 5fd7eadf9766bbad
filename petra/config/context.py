"""Shared state of the cross-checks: problems, signal writers and readers.

The core checks in `petra.config.checks` (signals, blocks, types) and each
section's `declare` (its folder's `checks.py`) record here who writes and who
reads each signal; `petra.config.checks.resolve_signals` then turns that into
the final signal list.

The sections declare inside `CheckContext.declaring`, which settles what they
recorded in `DECLARED_ORDER` rather than in the order they ran: which of two
writers of a signal an error names first, and which read a warning points at,
do not depend on the registry's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from petra.config.errors import Path_, Problem
from petra.config.model import SignalConfig
from petra.config.schema_builders import NAME_PATTERN
from petra.config.yaml_source import Document
from petra.values import DataType, parse_literal

_NAME = re.compile(NAME_PATTERN)

DECLARED_ORDER = ("blocks", "alarms", "storage", "mqtt", "s7", "modbus", "twilio")
"""Top-level keys in the order their writes and reads are settled: the first writer of a signal is
the one whose key comes first (the order the cross-checks ran in when they were one function, so
every message stays as it was); a key not listed comes after these, by name. Within one key, the
order its one owner recorded them in (file order)."""


@dataclass
class Writer:
    """Something that writes a signal: a block output or a driver mapping."""

    what: str
    path: Path_
    type: DataType | None
    group: str


@dataclass
class CheckContext:
    """Everything the cross-checks learn about a document."""

    doc: Document
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    declared: dict[str, SignalConfig] = field(default_factory=dict)
    declared_at: dict[str, Path_] = field(default_factory=dict)
    writers: dict[str, Writer] = field(default_factory=dict)
    reads: dict[str, Path_] = field(default_factory=dict)
    _pending: list[tuple[str, Writer | None, Path_]] | None = field(default=None, init=False, repr=False)

    @property
    def data(self) -> Any:
        return self.doc.data

    def error(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.errors.append(self.doc.problem(path, message, key=key))

    def warn(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.warnings.append(self.doc.problem(path, message, key=key))

    def line_of(self, path: Path_) -> int:
        return self.doc.position(path)[0]

    def signal_name(self, value: Any, path: Path_) -> str | None:
        """`value` when it is a usable signal name, else report why not and return None."""
        if not isinstance(value, str):
            return None
        if parse_literal(value) is not None:
            self.error(path, f"'{value}' is a literal value, not a signal name")
            return None
        if not _NAME.match(value):
            self.error(path, f"'{value}' is not a valid signal name (letters, digits, '_', '.', '-'; "
                             "starting with a letter or '_')")
            return None
        return value

    @contextmanager
    def declaring(self) -> Iterator[None]:
        """Collect the writes and reads recorded inside, then settle them in `DECLARED_ORDER`.

        While it lasts, `writers` and `reads` hold only what the core checks
        (signals, blocks) recorded before it.
        """
        self._pending = []
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
        for signal, writer, path in sorted(pending, key=lambda item: _declared_rank(item[2])):
            if writer is None:
                self.read(signal, path)
            else:
                self.write(signal, writer)

    def write(self, signal: str, writer: Writer) -> None:
        """Record that `writer` writes `signal`; a second writer is an error."""
        if self._pending is not None:
            self._pending.append((signal, writer, writer.path))
            return
        first = self.writers.get(signal)
        if first is None:
            self.writers[signal] = writer
            return
        self.error(
            writer.path,
            f"signal '{signal}' is written by {first.what} (line {self.line_of(first.path)}) "
            f"and by {writer.what}; a signal can have only one writer",
        )

    def read(self, signal: str, path: Path_) -> None:
        """Record that something reads `signal` (the first place is kept for warnings)."""
        if self._pending is not None:
            self._pending.append((signal, None, path))
            return
        self.reads.setdefault(signal, path)

    def unique(self, items: Any, key: str, base: Path_, what: str) -> list[str]:
        """The distinct string values of `key` in the list `items` (at `base`); a repeated one is an error."""
        seen: dict[str, Path_] = {}
        for index, item in mappings(items):
            value = item.get(key)
            if not isinstance(value, str):
                continue
            path = (*base, index, key)
            if value in seen:
                self.error(path, f"duplicate {what} '{value}' (first on line {self.line_of(seen[value])})")
            else:
                seen[value] = path
        return list(seen)

    def read_signal(self, item: dict[str, Any], key: str, path: Path_) -> None:
        """Record that `item[key]` (at `path`), when present and a usable name, is a signal read."""
        if key in item:
            signal = self.signal_name(item[key], (*path, key))
            if signal is not None:
                self.read(signal, (*path, key))


def _declared_rank(path: Path_) -> tuple[int, str]:
    key = str(path[0]) if path else ""
    if key in DECLARED_ORDER:
        return DECLARED_ORDER.index(key), ""
    return len(DECLARED_ORDER), key


def mappings(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the mapping items of a list; anything else yields nothing."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def section(data: Any, name: str) -> dict[str, Any]:
    """`data[name]` when it is a mapping, else {}."""
    if isinstance(data, dict) and isinstance(data.get(name), dict):
        return data[name]
    return {}
