"""Counts and change lists as people read them in logs and petra-ctl: "1 chain", "3 chains", no Python dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 chain`, `2 chains` (`many` for irregular words: plural(2, "entry", "entries"))."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def describe_changes(changes: Mapping[str, Any]) -> str:
    """A reload's changes in one line: `restarted: logic/a; unchanged: 3` (empty lists left out)."""
    parts = []
    for key, value in changes.items():
        if isinstance(value, list | tuple) and value:
            parts.append(f"{key.replace('_', ' ')}: {', '.join(str(v) for v in value)}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts) or "nothing changed"
