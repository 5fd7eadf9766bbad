"""Hot reload as a tree diff: decide what a new config changes, before touching anything.

`plan_reload` is pure planning on a staging copy of the signal table: it
compiles every new or changed chain, so a config that cannot run is refused
while the plant keeps the one it has. The runtime then applies the plan:
unchanged actors keep running (same instance, same uptime), changed ones
restart, removed ones stop, new ones start, and signal values survive for
signals that still exist (their slots never move). A task added, removed or
changed restarts the clock (which ticks every cyclic task and installs the
event tasks); a chain restarts when its blocks, its signals or its task
(which task, or that task's priority) changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from petra.config.model import PlantConfig, SignalConfig
from petra.logic.compiler import CompiledChain, compile_chain
from petra.logic.graph import partition
from petra.owners import Owner
from petra.paths import CLOCK, chain_path, group_path, in_core
from petra.plant import Plant, chain_owners, signal_groups
from petra.registry import SECTIONS
from petra.signals import SignalTable
from petra.tasks.model import MAIN, TaskConfig


@dataclass
class ReloadPlan:
    """What to do, by actor path relative to its supervisor."""

    config: PlantConfig
    owners: dict[str, Owner]
    chains: list[CompiledChain]
    groups: dict[str, list[int]]
    chains_to_stop: list[str] = field(default_factory=list)
    chains_to_start: list[str] = field(default_factory=list)
    groups_to_stop: list[str] = field(default_factory=list)
    groups_to_start: list[str] = field(default_factory=list)
    restart_clock: bool = False
    tasks_changed: list[str] = field(default_factory=list)
    """Tasks added, removed or changed (interval, trigger, priority): the clock restarts to take them."""
    sections_changed: list[str] = field(default_factory=list)
    sections_rereading: list[str] = field(default_factory=list)
    """Sections (by name) whose own keys are unchanged but a setting they read (`Section.reads`) changed:
    their actors restart to take it."""
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        changed_chains = sorted(set(self.chains_to_stop) & set(self.chains_to_start))
        changed_groups = sorted(set(self.groups_to_stop) & set(self.groups_to_start))
        return {
            "restarted": [_chain(c) for c in changed_chains] + [_group(g) for g in changed_groups]
            + ([in_core(CLOCK)] if self.restart_clock else []),
            "stopped": [_chain(c) for c in sorted(set(self.chains_to_stop) - set(changed_chains))]
            + [_group(g) for g in sorted(set(self.groups_to_stop) - set(changed_groups))],
            "started": [_chain(c) for c in sorted(set(self.chains_to_start) - set(changed_chains))]
            + [_group(g) for g in sorted(set(self.groups_to_start) - set(changed_groups))],
            "sections_changed": self.sections_changed,
            **({"sections_restarted_for_settings": self.sections_rereading} if self.sections_rereading else {}),
            "tasks_changed": self.tasks_changed,
            "unchanged": len(self.unchanged),
        }


def _chain(name: str) -> str:
    return in_core(chain_path(name))


def _group(name: str) -> str:
    return in_core(group_path(name))


def _comparable(spec: SignalConfig) -> SignalConfig:
    """A spec without its initial value, write rights and write range: changing any must not restart a running writer
    (the control API reads `writable_by` from the table's specs, which a reload replaces)."""
    return replace(spec, initial=spec.type.default, writable_by=None, minimum=None, maximum=None)


def _tasks(config: PlantConfig) -> dict[str, TaskConfig]:
    """Task name -> its config without its line (moving a task in the file changes nothing)."""
    return {task.name: replace(task, line=0) for task in config.all_tasks}


def _ranked(task: TaskConfig | None) -> tuple[str, int] | None:
    """What of its task a chain is built with: which kind, and the priority it ranks by in the pool (an interval
    or a trigger is the clock's business: changing one restarts no chain)."""
    return None if task is None else (task.kind.value, task.priority)


def plan_reload(plant: Plant, config: PlantConfig) -> ReloadPlan:
    """Everything a reload needs, computed without changing the running plant.

    Raises what the compiler raises (CompileError, AlgebraicLoopError) when the
    new config cannot run.
    """
    old_table = plant.table
    new_chains = partition(config.blocks)
    owners = chain_owners(new_chains)
    staging: SignalTable = old_table.staging_copy()
    staging.apply_layout(config.signals, owners)

    old_specs = {name: _comparable(old_table.specs[slot]) for name, slot in old_table.index.items()}
    new_specs = {s.name: _comparable(s) for s in config.signals}
    old_owner = {name: old_table.owners[slot] for name, slot in old_table.index.items()}

    def signal_unchanged(name: str) -> bool:
        return old_specs.get(name) == new_specs.get(name) and old_owner.get(name) == staging.owners[staging.slot(name)]

    old_tasks, new_tasks = _tasks(plant.config), _tasks(config)
    old_by_name = {c.name: c for c in plant.chains}
    compiled: list[CompiledChain] = []
    plan = ReloadPlan(config=config, owners=owners, chains=compiled, groups={})
    for chain in new_chains:
        old = old_by_name.get(chain.name)
        touched = {s for b in chain.blocks for s in (*b.input_signals(), *b.previous_signals(), *b.outputs.values())}
        same_task = _ranked(old_tasks.get(chain.task)) == _ranked(new_tasks.get(chain.task))
        if old is not None and old.chain == chain and same_task and all(signal_unchanged(s) for s in touched):
            compiled.append(old)
            plan.unchanged.append(_chain(chain.name))
            continue
        compiled.append(compile_chain(chain, staging))
        if old is not None:
            plan.chains_to_stop.append(chain.name)
        plan.chains_to_start.append(chain.name)
    new_names = {c.name for c in new_chains}
    plan.chains_to_stop.extend(name for name in old_by_name if name not in new_names)

    plan.groups = signal_groups(staging)
    for group, slots in plan.groups.items():
        old_slots = plant.groups.get(group)
        same = old_slots == slots and all(signal_unchanged(staging.names[s]) for s in slots)
        if same:
            plan.unchanged.append(_group(group))
            continue
        if old_slots is not None:
            plan.groups_to_stop.append(group)
        plan.groups_to_start.append(group)
    plan.groups_to_stop.extend(g for g in plant.groups if g not in plan.groups)

    plan.tasks_changed = sorted(name for name in {*old_tasks, *new_tasks}
                                if name != MAIN and old_tasks.get(name) != new_tasks.get(name))
    plan.restart_clock = config.scan_time_ms != plant.config.scan_time_ms or old_tasks != new_tasks
    names = set(config.sections) | set(plant.config.sections)
    plan.sections_changed = sorted(n for n in names if config.sections.get(n) != plant.config.sections.get(n))
    plan.sections_rereading = rereading(plant.config, config, set(plan.sections_changed))
    return plan


def rereading(old: PlantConfig, new: PlantConfig, changed: set[str]) -> list[str]:
    """The sections `new` runs whose own keys did not change but a setting they read (`Section.reads`) did."""
    return sorted(s.name for s in SECTIONS
                  if s.reads and s.starts_with(new.sections) and not set(s.keys) & changed
                  and any(_setting(old, path) != _setting(new, path) for path in s.reads))


def _setting(config: PlantConfig, path: str) -> Any:
    """The value at a dotted `path` of the config's sections (defaults filled in), None when absent."""
    key, _, rest = path.partition(".")
    value: Any = config.sections.get(key)
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value
