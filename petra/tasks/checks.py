"""The checks of `tasks:` and of the blocks' `task:` that the schema cannot express.

Each problem is located (file:line) and says what was expected:

- a duplicate task name; `main` with `interval_ms` or `trigger` (its period is `scan_time_ms`);
- a task with both `trigger` and `interval_ms`, or with neither;
- a block whose `task:` names no task;
- an event trigger that is not a signal (a literal, or a name nothing declares or writes);
- an event trigger written by a block of the same task (each run would trigger the next);
- a task that no block names (a warning: it runs nothing).

`read_tasks` runs before the blocks are checked, `check_tasks` after every
section has declared what it writes (the trigger may be an MQTT or S7 signal).
Each tolerates malformed input: the schema reports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from petra.config.context import CheckContext, mappings
from petra.config.errors import did_you_mean, near_miss
from petra.config.model import BlockConfig
from petra.tasks.model import DEFAULT_PRIORITY, MAIN, TaskConfig, TaskKind


def read_tasks(ctx: CheckContext) -> list[TaskConfig]:
    """The declared tasks as `TaskConfig`s (file order); reports the per-task problems."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    tasks: list[TaskConfig] = []
    seen: dict[str, int] = {}
    for index, item in mappings(data.get("tasks")):
        path = ("tasks", index)
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            line = ctx.line_of(("tasks", seen[name], "name"))
            ctx.error((*path, "name"), f"duplicate task name '{name}' (first declared on line {line})")
            continue
        seen[name] = index
        interval, trigger = item.get("interval_ms"), item.get("trigger")
        priority = item.get("priority", DEFAULT_PRIORITY)
        priority = priority if isinstance(priority, int) and not isinstance(priority, bool) else DEFAULT_PRIORITY
        line = ctx.line_of(path)
        if name == MAIN:
            for key in ("interval_ms", "trigger"):
                if key in item:
                    ctx.error((*path, key), f"task '{MAIN}' is the cyclic task at scan_time_ms: declare it only "
                                            f"to set its priority (set scan_time_ms for its period)", key=True)
            tasks.append(TaskConfig(MAIN, TaskKind.CYCLIC, priority=priority, line=line))
            continue
        if "interval_ms" in item and "trigger" in item:
            ctx.error((*path, "trigger"), f"task '{name}' has both interval_ms and trigger: a task is cyclic "
                                          "(interval_ms) or runs on a change (trigger), not both", key=True)
            continue
        if "interval_ms" not in item and "trigger" not in item:
            ctx.error((*path, "name"), f"task '{name}' needs interval_ms (a cyclic task) or trigger (an event "
                                       "task: a list of signals)")
            continue
        if "interval_ms" in item:
            if isinstance(interval, int) and not isinstance(interval, bool):
                tasks.append(TaskConfig(name, TaskKind.CYCLIC, interval_ms=interval, priority=priority, line=line))
            continue
        names = tuple(s for s in trigger if isinstance(s, str)) if isinstance(trigger, list) else ()
        tasks.append(TaskConfig(name, TaskKind.EVENT, trigger=tuple(dict.fromkeys(names)), priority=priority,
                                line=line))
    return tasks


def block_task(item: object) -> str:
    """The task a block item names (`main` when it names none, or something the schema refuses)."""
    task = item.get("task") if isinstance(item, dict) else None
    return task if isinstance(task, str) else MAIN


def check_tasks(ctx: CheckContext, tasks: Sequence[TaskConfig], blocks: Sequence[BlockConfig]) -> None:
    """The checks that need the blocks and every section's writers; see the module docstring."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    names = [MAIN, *(t.name for t in tasks if t.name != MAIN)]
    used: set[str] = set()
    index_of = {b["name"]: i for i, b in mappings(data.get("blocks")) if isinstance(b.get("name"), str)}
    for block in blocks:
        used.add(block.task)
        if block.task in names:
            continue
        where = ("blocks", index_of.get(block.name, 0), "task")
        hint = did_you_mean(block.task, names)
        ctx.error(where, f"block '{block.name}' names task '{block.task}', which is not declared{hint}; "
                         f"tasks: {', '.join(names)}")
    known = [*ctx.declared, *ctx.writers]
    for task in tasks:
        if task.name != MAIN and task.name not in used:
            ctx.warn(_task_path(data, task.name), f"task '{task.name}' has no blocks: it runs nothing "
                                                  "(give a block `task: " + task.name + "`)")
        if task.kind is TaskKind.EVENT:
            _check_trigger(ctx, data, task, known, blocks)


def _check_trigger(ctx: CheckContext, data: dict[str, object], task: TaskConfig, known: list[str],
                   blocks: Sequence[BlockConfig]) -> None:
    base = (*_task_path(data, task.name)[:2], "trigger")
    raw = next((item.get("trigger") for _, item in mappings(data.get("tasks")) if item.get("name") == task.name), [])
    own = {signal: block.name for block in blocks if block.task == task.name for signal in block.outputs.values()}
    for position, value in enumerate(raw if isinstance(raw, list) else []):
        where = (*base, position)
        signal = ctx.signal_name(value, where)
        if signal is None:
            continue
        if signal not in ctx.declared and signal not in ctx.writers:
            typo = near_miss(signal, known)
            hint = f" (did you mean '{typo}'?)" if typo else ""
            ctx.error(where, f"trigger '{signal}' of task '{task.name}' is not a signal{hint}: a trigger must be "
                             "a declared signal or one a block or driver writes")
            continue
        if signal in own:
            ctx.error(where, f"trigger '{signal}' of task '{task.name}' is written by its own block "
                             f"'{own[signal]}': every run would trigger the next")


def _task_path(data: dict[str, object], name: str) -> tuple[str | int, ...]:
    for index, item in mappings(data.get("tasks")):
        if item.get("name") == name:
            return ("tasks", index, "name")
    return ("tasks",)
