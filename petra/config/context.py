"""Shared state of the cross-checks: problems, signal writers and readers.

The checks in `petra.config.checks` (signals, blocks, types) and
`petra.config.section_checks` (alarms, drivers, notifications) record here
who writes and who reads each signal; `petra.config.checks.resolve_signals`
then turns that into the final signal list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petra.config.errors import Path_, Problem
from petra.config.model import SignalConfig
from petra.config.schema_builders import NAME_PATTERN
from petra.config.yaml_source import Document
from petra.values import DataType, parse_literal

_NAME = re.compile(NAME_PATTERN)


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

    def write(self, signal: str, writer: Writer) -> None:
        """Record that `writer` writes `signal`; a second writer is an error."""
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
        self.reads.setdefault(signal, path)


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
