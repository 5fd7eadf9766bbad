"""The shape of a plant's supervision tree: building it, and changing it on reload.

```
petra (one_for_one)
├── storage (one_for_one)    starts first, stops last (when configured)
├── core (rest_for_one)
│   ├── signals (one_for_one)   one actor per signal group
│   ├── clock
│   └── logic (one_for_one)     one pooled actor per block chain
├── drivers, alarms          (when configured; see petra.registry)
└── services (one_for_one)   metrics, control
```
"""

from __future__ import annotations

from petra.actors.block_chain import BlockChainActor
from petra.actors.clock import ClockActor
from petra.actors.signal_group import SignalGroupActor
from petra.config.model import PlantConfig
from petra.logic.compiler import CompiledChain
from petra.metrics.actor import MetricsServerActor
from petra.options import RuntimeOptions
from petra.paths import CLOCK, LOGIC, ROOT, SIGNALS, chain_path, child_path, group_path, section_group
from petra.plant import Plant
from petra.reload import ReloadPlan
from petra.subsystems import Provider, providers
from petra.wiring import Wiring
from supervision import ChildSpec, Strategy, SupervisionTree, Supervisor, SupervisorSpec


def supervisor_spec(
    child_id: str, strategy: Strategy, children: list[ChildSpec], max_restarts: int = 10, period: float = 60.0
) -> ChildSpec:
    spec = SupervisorSpec(strategy=strategy, max_restarts=max_restarts, period=period, children=tuple(children))
    # A supervisor stops its own children first: give it longer than any one of them.
    return ChildSpec(child_id, Supervisor, kwargs={"spec": spec}, shutdown_timeout=30.0)


def group_spec(plant: Plant, group: str, slots: list[int]) -> ChildSpec:
    return ChildSpec(group, SignalGroupActor, kwargs={"plant": plant, "group": group, "slots": slots})


def chain_spec(plant: Plant, chain: CompiledChain) -> ChildSpec:
    return ChildSpec(chain.name, BlockChainActor, kwargs={"plant": plant, "chain": chain})


def tree_spec(plant: Plant, options: RuntimeOptions, wiring: Wiring) -> SupervisorSpec:
    """The declarative supervision tree for `plant`; each section's actors get what they need from `wiring`.

    `core` is rest_for_one over signals -> clock -> logic: if the signal groups
    give up, the clock and every chain restart after them; a single chain or
    group that crashes restarts alone under its one_for_one supervisor.
    """
    signal_groups = [group_spec(plant, group, slots) for group, slots in sorted(plant.groups.items())]
    chains = [chain_spec(plant, chain) for chain in plant.chains]
    core = [
        supervisor_spec("signals", Strategy.ONE_FOR_ONE, signal_groups),
        ChildSpec("clock", ClockActor, kwargs={"plant": plant}),
        supervisor_spec("logic", Strategy.ONE_FOR_ONE, chains, max_restarts=20),
    ]
    groups: dict[str, list[ChildSpec]] = {"drivers": [], "storage": [], "alarms": [], "services": []}
    if options.metrics_port is not None:
        groups["services"].append(
            ChildSpec(
                "metrics",
                MetricsServerActor,
                kwargs={"plant": plant, "host": options.metrics_host, "port": options.metrics_port},
            )
        )
    configured = providers(plant.config.sections)
    for provider in configured:
        if provider.active:
            groups[provider.group].extend(provider.build(plant, wiring))
    refresh_routes(plant, wiring, configured)
    # Storage starts first and stops last: the WAL is listening before the first scan
    # and drains everything the plant produced until core has stopped.
    storage = groups.pop("storage")
    children = [supervisor_spec("storage", Strategy.ONE_FOR_ONE, storage)] if storage else []
    children.append(supervisor_spec("core", Strategy.REST_FOR_ONE, core, max_restarts=20))
    children.extend(supervisor_spec(name, Strategy.ONE_FOR_ONE, specs) for name, specs in groups.items() if specs)
    return SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=10, period=60.0, children=tuple(children))


def inactive_sections(config: PlantConfig) -> list[str]:
    """Configured sections whose runtime is not part of this build (no child_specs, or its module is absent)."""
    inactive = {s for p in providers(config.sections) if not p.active for s in p.sections}
    return sorted(s for s in config.sections if s in inactive)


def apply_plan(tree: SupervisionTree, plant: Plant, plan: ReloadPlan, wiring: Wiring) -> None:
    """Carry out a reload plan on the running tree (see petra.reload for how it is made)."""
    changed = set(plan.sections_changed)
    affected = [p for p in providers(changed) if p.active and set(p.sections) & changed]
    rereading = set(plan.sections_rereading)
    affected += [p for p in providers(plan.config.sections)
                 if p.active and p.section.name in rereading and p not in affected]
    old_specs = {id(p): p.build(plant, wiring) for p in affected}
    plant.table.apply_layout(plan.config.signals, plan.owners)
    plant.config = plan.config
    plant.chains = plan.chains
    plant.groups = plan.groups
    plant.set_tasks()
    plant.metrics.signals.set(len(plant.table.index))
    by_name = {c.name: c for c in plan.chains}
    for name in plan.chains_to_stop:
        tree.remove_child(chain_path(name))
    for group in plan.groups_to_stop:
        tree.remove_child(group_path(group))
    for group in plan.groups_to_start:
        tree.add_child(SIGNALS, group_spec(plant, group, plan.groups[group]))
    for name in plan.chains_to_start:
        tree.add_child(LOGIC, chain_spec(plant, by_name[name]))
    if plan.restart_clock:
        plant.metrics.scan_time.set(plant.scan_time_s)
        tree.restart(CLOCK)
    for provider in affected:
        _replace_children(tree, provider.group, old_specs[id(provider)], provider.build(plant, wiring))
    refresh_routes(plant, wiring, affected)


def refresh_routes(plant: Plant, wiring: Wiring, sections: list[Provider]) -> None:
    """Give each of `sections` its control API routes for the plant's config now (none if it no longer runs)."""
    for provider in sections:
        runs = provider.section.starts_with(plant.config.sections)
        wiring.routes.set(provider.section.name, provider.routes(plant, wiring) if runs else [])


def _replace_children(tree: SupervisionTree, group: str, old: list[ChildSpec], new: list[ChildSpec]) -> None:
    existing = {n.path for n in tree.tree().walk()}
    parent = section_group(group)
    for spec in old:
        if child_path(parent, spec.id) in existing:
            tree.remove_child(child_path(parent, spec.id))
    if parent not in existing:
        if new:
            tree.add_child(ROOT, supervisor_spec(group, Strategy.ONE_FOR_ONE, new))
        return
    for spec in new:
        tree.add_child(parent, spec)
