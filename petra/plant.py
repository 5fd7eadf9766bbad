"""What every actor of one running plant shares: the table, the bus, the stats.

Built once from a validated config (pure work, no threads), then handed to the
actors through their child specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from petra.bus import ChangeBus
from petra.config.model import PlantConfig
from petra.logic.compiler import CompiledChain, compile_chain
from petra.logic.graph import partition
from petra.metrics import PlantMetrics
from petra.scanstats import ScanStats
from petra.signals import SignalTable
from petra.ticks import TickBoard


@dataclass
class Plant:
    config: PlantConfig
    table: SignalTable
    chains: list[CompiledChain]
    groups: dict[str, list[int]]
    bus: ChangeBus = field(default_factory=ChangeBus)
    stats: ScanStats = field(default_factory=ScanStats)
    metrics: PlantMetrics = field(default_factory=PlantMetrics)
    ticks: TickBoard = field(init=False)

    def __post_init__(self) -> None:
        self.ticks = TickBoard(self.stats)

    @property
    def scan_time_s(self) -> float:
        return self.config.scan_time_ms / 1000.0


def build_plant(config: PlantConfig, scan_time_ms: int | None = None) -> Plant:
    """Resolve slots, compile every chain and group the signals chains do not own."""
    if scan_time_ms is not None:
        from dataclasses import replace

        config = replace(config, scan_time_ms=scan_time_ms)
    chains = partition(config.blocks)
    owners: dict[str, str] = {}
    for chain in chains:
        for block in chain.blocks:
            for signal in block.outputs.values():
                owners[signal] = f"logic/{chain.name}"
    table = SignalTable(config.signals, owners)
    compiled = [compile_chain(chain, table) for chain in chains]
    groups: dict[str, list[int]] = {}
    for slot, owner in enumerate(table.owners):
        if not owner.startswith("logic/"):
            groups.setdefault(owner, []).append(slot)
    plant = Plant(config=config, table=table, chains=compiled, groups=groups)
    plant.metrics.signals.set(len(table))
    plant.metrics.scan_time.set(plant.scan_time_s)
    return plant
