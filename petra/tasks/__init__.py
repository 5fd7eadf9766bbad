"""IEC 61131-3 tasks: which blocks run when.

```
petra/tasks/model.py     TaskConfig, MAIN, the priorities: the pure, typed form of `tasks:`
petra/tasks/runtime.py   TaskRun, EventTask, TaskGate: the per-task boards, event triggering and coalescing
petra/config/tasks.py    the JSON Schema of `tasks:` and of a block's `task:`, and the located checks the
                         schema cannot express (unknown task, trigger not a signal, ...): in petra.config,
                         which its schema and loader import
```

Every plant has the cyclic task `main` at `scan_time_ms`; a block without
`task:` belongs to it, so a config without `tasks:` runs exactly as before.
The clock actor (`petra/actors/clock.py`) serves every cyclic task's
deadlines from its one timing thread; event tasks have no thread at all: a
ChangeBus subscriber starts their chains.
"""

from petra.tasks.model import DEFAULT_PRIORITY, MAIN, MAX_PRIORITY, MIN_PRIORITY, TaskConfig, TaskKind

__all__ = ["DEFAULT_PRIORITY", "MAIN", "MAX_PRIORITY", "MIN_PRIORITY", "TaskConfig", "TaskKind"]
