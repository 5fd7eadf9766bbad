"""A deploy's preview: which running actors a new config keeps, restarts, stops and starts.

From the very plan a reload would carry out (`petra.reload.plan_reload`, a tree diff made
without touching the plant) and the tree as it runs now. Chains, signal groups and the
clock are named one by one, as the reload treats them. A section whose settings changed
has all its actors replaced by the reload (`petra.tree.apply_plan`): those running now are
listed under `restart` (one the new config no longer has only stops), a section the new
config adds under `sections_started`.
"""

from __future__ import annotations

from typing import Any

from petra.config.model import PlantConfig
from petra.owners import REMOVED
from petra.paths import CLOCK, chain_path, child_path, group_path, section_group
from petra.plant import Plant
from petra.reload import ReloadPlan, plan_reload
from petra.subsystems import providers
from petra.wiring import Wiring
from supervision import SupervisionTree

SUPERVISOR_KIND = "supervisor"


def _section_actors(plant: Plant, wiring: Wiring, names: set[str]) -> dict[str, list[str]]:
    """Section name -> the paths its actors have now (the child specs the running config builds)."""
    out: dict[str, list[str]] = {}
    for provider in providers(plant.config.sections):
        if provider.active and provider.section.name in names:
            parent = section_group(provider.group)
            out[provider.section.name] = [child_path(parent, spec.id) for spec in provider.build(plant, wiring)]
    return out


def describe(plan: ReloadPlan, plant: Plant, wiring: Wiring, tree: SupervisionTree | None) -> dict[str, Any]:
    """The contract's answer: keep, restart, stop, start, signals_added, signals_removed (+ details)."""
    restarted_chains = set(plan.chains_to_stop) & set(plan.chains_to_start)
    restarted_groups = set(plan.groups_to_stop) & set(plan.groups_to_start)
    restart = [chain_path(c) for c in sorted(restarted_chains)] + [group_path(g) for g in sorted(restarted_groups)]
    if plan.restart_clock:
        restart.append(CLOCK)
    stop = [chain_path(c) for c in sorted(set(plan.chains_to_stop) - restarted_chains)]
    stop += [group_path(g) for g in sorted(set(plan.groups_to_stop) - restarted_groups)]
    start = [chain_path(c) for c in sorted(set(plan.chains_to_start) - restarted_chains)]
    start += [group_path(g) for g in sorted(set(plan.groups_to_start) - restarted_groups)]

    configured_now = {p.section.name for p in providers(plant.config.sections)}
    configured_then = {p.section.name for p in providers(plan.config.sections)}
    changed_keys = set(plan.sections_changed)
    affected = {p.section.name for p in providers() if set(p.sections) & changed_keys}
    affected |= set(plan.sections_rereading)
    actors = _section_actors(plant, wiring, affected & configured_now)
    for name, paths in actors.items():
        (restart if name in configured_then else stop).extend(paths)
    sections_started = sorted((affected & configured_then) - configured_now)

    table = plant.table
    old_signals = {name for name, slot in table.index.items() if table.owners[slot] != REMOVED}
    new_signals = {s.name for s in plan.config.signals}
    touched = set(restart) | set(stop)
    keep: list[str] = []
    if tree is not None:
        for node in tree.tree().walk():
            if node.kind != SUPERVISOR_KIND and not any(node.path == t or node.path.startswith(t + "/")
                                                               for t in touched):
                keep.append(node.path)
    return {
        "keep": keep, "restart": restart, "stop": stop, "start": start,
        "signals_added": sorted(new_signals - old_signals), "signals_removed": sorted(old_signals - new_signals),
        "sections_changed": sorted(affected), "sections_started": sections_started,
        "tasks_changed": plan.tasks_changed, "summary": plan.summary(),
    }


def preview(plant: Plant, wiring: Wiring, config: PlantConfig, tree: SupervisionTree | None) -> dict[str, Any]:
    """The preview of deploying `config` to the running plant; raises what `plan_reload` raises."""
    return describe(plan_reload(plant, config), plant, wiring, tree)
