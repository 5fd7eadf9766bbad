"""The JSON Schema of `tasks:` and of a block's `task:` key.

The schema holds each key's type and limits (an interval below 1 ms, a
priority outside 1..99 are located errors from it); `petra.tasks.checks`
holds what needs the whole plant (unknown task, a trigger that is no signal,
`trigger` together with `interval_ms`, duplicate names).
"""

from __future__ import annotations

from petra.config.schema_builders import NAME_PATTERN, Schema, array, integer, obj, string
from petra.tasks.model import DEFAULT_PRIORITY, MAIN, MAX_INTERVAL_MS, MAX_PRIORITY, MIN_INTERVAL_MS, MIN_PRIORITY


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
