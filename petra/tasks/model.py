"""The typed form of a plant's tasks: pure data, no threads.

Priorities follow IEC 61131-3 runtimes: a smaller number is more urgent,
1 the most urgent, 99 the least. `main` and every task that does not say
otherwise have priority 50, so a task only outranks `main` when it is given
a smaller number. When tasks of equal priority are due together, the one
that became ready first runs first.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

MAIN = "main"
"""The implicit cyclic task at `scan_time_ms`; the name is reserved."""
MIN_PRIORITY = 1
"""The most urgent priority."""
MAX_PRIORITY = 99
"""The least urgent priority."""
DEFAULT_PRIORITY = 50
"""`main`'s priority, and any task's that does not set one."""
MIN_INTERVAL_MS = 1
MAX_INTERVAL_MS = 60_000


class TaskKind(enum.Enum):
    CYCLIC = "cyclic"
    """Runs its chains every `interval_ms`, on absolute deadlines (IEC 61131-3 CYCLIC)."""
    EVENT = "event"
    """Runs its chains when one of its trigger signals changes (IEC 61131-3 SINGLE, IEC 61499 event input)."""


@dataclass(frozen=True)
class TaskConfig:
    """One task. A cyclic task has `interval_ms`; an event task has `trigger` (signal names)."""

    name: str
    kind: TaskKind = TaskKind.CYCLIC
    interval_ms: int = 0
    trigger: tuple[str, ...] = ()
    priority: int = DEFAULT_PRIORITY
    line: int = 0

    @property
    def interval_s(self) -> float:
        return self.interval_ms / 1000.0

    @property
    def cyclic(self) -> bool:
        return self.kind is TaskKind.CYCLIC


def main_task(scan_time_ms: int, priority: int = DEFAULT_PRIORITY) -> TaskConfig:
    """The implicit `main` task."""
    return TaskConfig(MAIN, TaskKind.CYCLIC, interval_ms=scan_time_ms, priority=priority)


def plant_tasks(declared: Sequence[TaskConfig], scan_time_ms: int) -> tuple[TaskConfig, ...]:
    """Every task of a plant, `main` first (at `scan_time_ms`, with a declared `main`'s priority), then the rest."""
    priority = next((t.priority for t in declared if t.name == MAIN), DEFAULT_PRIORITY)
    return (main_task(scan_time_ms, priority), *(t for t in declared if t.name != MAIN))
