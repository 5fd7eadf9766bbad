"""Assemble a plant's supervision tree and run it.

```
petra (one_for_one)
├── core (rest_for_one)
│   ├── signals (one_for_one)   one actor per signal group
│   ├── clock
│   └── logic (one_for_one)     one actor per block chain
└── services (one_for_one)   metrics
```
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from dataclasses import dataclass

from petra.actors.block_chain import BlockChainActor
from petra.actors.clock import ClockActor
from petra.actors.metrics_server import MetricsServerActor
from petra.actors.signal_group import SignalGroupActor
from petra.config.model import PlantConfig
from petra.plant import Plant, build_plant
from petra.subsystems import providers
from supervision import (
    ChildSpec,
    Strategy,
    SupervisionTree,
    Supervisor,
    SupervisorEvent,
    SupervisorSpec,
    start_tree,
)

log = logging.getLogger(__name__)

ALWAYS_LATER = ("opcua",)


@dataclass(frozen=True)
class RuntimeOptions:
    """Run-time choices that are not part of the plant's config file."""

    scan_time_ms: int | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 9090
    gc_freeze: bool = True
    switch_interval_s: float | None = 0.0005


def _supervisor(child_id: str, strategy: Strategy, children: list[ChildSpec], max_restarts: int = 10,
                period: float = 60.0) -> ChildSpec:
    spec = SupervisorSpec(strategy=strategy, max_restarts=max_restarts, period=period, children=tuple(children))
    # A supervisor stops its own children first: give it longer than any one of them.
    return ChildSpec(child_id, Supervisor, kwargs={"spec": spec}, shutdown_timeout=30.0)


def tree_spec(plant: Plant, options: RuntimeOptions) -> SupervisorSpec:
    """The declarative supervision tree for `plant`.

    `core` is rest_for_one over signals -> clock -> logic: if the signal groups
    give up, the clock and every chain restart after them; a single chain or
    group that crashes restarts alone under its one_for_one supervisor.
    """
    groups = [
        ChildSpec(group, SignalGroupActor, kwargs={"plant": plant, "group": group, "slots": slots})
        for group, slots in sorted(plant.groups.items())
    ]
    chains = [
        ChildSpec(chain.name, BlockChainActor, kwargs={"plant": plant, "chain": chain}) for chain in plant.chains
    ]
    core = [
        _supervisor("signals", Strategy.ONE_FOR_ONE, groups),
        ChildSpec("clock", ClockActor, kwargs={"plant": plant}),
        _supervisor("logic", Strategy.ONE_FOR_ONE, chains, max_restarts=20),
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
    for provider in providers():
        if provider.active:
            groups[provider.group].extend(provider.build(plant))  # type: ignore[misc]
    children = [_supervisor("core", Strategy.REST_FOR_ONE, core, max_restarts=20)]
    children.extend(_supervisor(name, Strategy.ONE_FOR_ONE, specs) for name, specs in groups.items() if specs)
    return SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=10, period=60.0, children=tuple(children))


def inactive_sections(config: PlantConfig) -> list[str]:
    """Configured sections whose runtime is not part of this build."""
    inactive = {s for p in providers() if not p.active for s in p.sections}
    inactive.update(ALWAYS_LATER)
    return sorted(s for s in config.sections if s in inactive)


class Runtime:
    """One running plant: build it, start the tree, stop it in order."""

    def __init__(self, plant: Plant, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.plant = plant
        self.tree: SupervisionTree | None = None
        self.stopped = threading.Event()

    @classmethod
    def from_config(cls, config: PlantConfig, options: RuntimeOptions | None = None) -> Runtime:
        options = options or RuntimeOptions()
        return cls(build_plant(config, options.scan_time_ms), options)

    def start(self) -> None:
        config = self.plant.config
        for section in inactive_sections(config):
            log.warning("config section '%s' is validated but not yet active in this version", section)
        if self.options.switch_interval_s:
            sys.setswitchinterval(self.options.switch_interval_s)
        self.tree = start_tree(tree_spec(self.plant, self.options), name="petra", listeners=[_log_event])
        self.plant.metrics.watch_tree(self.tree.tree)
        if self.options.gc_freeze:
            gc.collect()
            gc.freeze()
        log.info(
            "plant running: %d signals, %d blocks in %d chains, scan %d ms",
            len(self.plant.table), len(config.blocks), len(self.plant.chains), self.plant.config.scan_time_ms,
        )

    @property
    def metrics_port(self) -> int | None:
        if self.tree is None:
            return None
        ref = self.tree.lookup("petra/services/metrics")
        return None if ref is None else ref.proxy().bound_port().get(timeout=5)

    def stop(self, timeout: float = 10.0) -> None:
        if self.tree is not None:
            self.tree.stop(timeout=timeout)
        self.stopped.set()


def _log_event(event: SupervisorEvent) -> None:
    kind = event.kind.name.lower()
    if event.error:
        log.warning("actor %s %s (restarts=%d): %s", event.path, kind, event.restarts, event.error)
    else:
        log.debug("actor %s %s", event.path, kind)
