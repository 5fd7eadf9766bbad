"""`tasks:` and a block's `task:`: their JSON Schema, and the checks the schema cannot express.

The schema holds each key's type and limits (an interval below 1 ms, a
priority outside 1..99 are located errors from it). The checks, each located
(file:line) and saying what was expected:

- a duplicate task name; `main` with `interval_ms` or `trigger` (its period is `scan_time_ms`);
- a task with both `trigger` and `interval_ms`, or with neither;
- a block whose `task:` names no task;
- an event trigger that is not a signal (a literal, or a name nothing declares or writes);
- an event trigger written by a block of the same task (each run would trigger the next);
- a task that no block names (a warning: it runs nothing).

`read_tasks` runs before the blocks are checked, `check_tasks` after every
section has declared what it writes (the trigger may be an MQTT or S7 signal).
Each tolerates malformed input: the schema reports it. The model they build is
`petra.tasks.model`; this module is in `petra.config` because the schema and
the loader use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from petra.config.context import CheckContext, mappings
from petra.config.errors import did_you_mean, near_miss
from petra.config.model import BlockConfig
from petra.config.schema_builders import NAME_PATTERN, Schema, array, integer, obj, string
from petra.tasks.model import (
    DEFAULT_PRIORITY,
    MAIN,
    MAX_INTERVAL_MS,
    MAX_PRIORITY,
    MIN_INTERVAL_MS,
    MIN_PRIORITY,
    TaskConfig,
    TaskKind,
)


def tasks_schema() -> Schema:
    """`tasks:`: a list of cyclic (`interval_ms`) and event (`trigger`) tasks."""
    task = obj(
        {
            "name": string(f"Unique task name; '{MAIN}' is the implicit cyclic task at scan_time_ms (declare it "
                           "only to set its priority).", pattern=NAME_PATTERN),
            "interval_ms": integer("A cyclic task: its period in milliseconds (its chains run on absolute "
                                   "deadlines start + n * interval).", minimum=MIN_INTERVAL_MS,
                                   maximum=MAX_INTERVAL_MS),
            "trigger": array(string(minLength=1), "An event task: the signals whose change runs its chains "
                             "(changes that arrive while it runs are coalesced into one more run).", minItems=1),
            "priority": integer(f"{MIN_PRIORITY} (most urgent) .. {MAX_PRIORITY} (least); when several tasks are "
                                f"due, the more urgent runs first (default {DEFAULT_PRIORITY}, main's).",
                                minimum=MIN_PRIORITY, maximum=MAX_PRIORITY),
        },
        required=("name",),
    )
    return array(task, "IEC 61131-3 tasks: cyclic ones at their own interval, event ones on a signal's change; "
                       "a block runs in the task its `task:` names (default main).", default=[])


def block_task_schema() -> Schema:
    """A block's `task:`."""
    return string(f"The task that runs this block (default {MAIN}, the cyclic task at scan_time_ms).",
                  pattern=NAME_PATTERN)


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
    declared = (item.get("name") for _, item in mappings(data.get("tasks")))  # a task refused above still counts
    names = list(dict.fromkeys([MAIN, *(n for n in declared if isinstance(n, str))]))
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
    items = (item for _, item in mappings(data.get("tasks")) if item.get("name") == task.name)
    raw: object = next((item.get("trigger") for item in items), [])
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
