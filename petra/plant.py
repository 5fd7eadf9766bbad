"""What every actor of one running plant shares: the table, the bus, the stats.

Built once from a validated config (pure work, no threads), then handed to the
actors through their child specs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from petra.bus import ChangeBus
from petra.clock import ScanStats, TickBoard
from petra.clock.source import SYSTEM_TIME, TimeSource
from petra.config.model import PlantConfig
from petra.logic.compiler import CompiledChain, compile_chain
from petra.logic.graph import Chain, partition
from petra.messages import UpdateSignals
from petra.metrics import PlantMetrics
from petra.owners import Owner, OwnerKind
from petra.signals import SignalTable
from petra.tasks.model import MAIN
from petra.tasks.runtime import TaskGate, TaskRun, build_runs


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
    time: TimeSource = field(default=SYSTEM_TIME)
    """The clock deadlines are read from (tests put a manual one here)."""
    tick_time: TimeSource = field(default=SYSTEM_TIME)
    """The clock the cyclic tasks' deadlines are read and waited on (separate from `time`, so a test that moves
    `time` still scans in real time; a task test puts a ManualTime here to count ticks without sleeping)."""
    tasks: dict[str, TaskRun] = field(init=False)
    """Task name -> its board and statistics (`petra.tasks.runtime`), `main` first; main's board is `ticks`."""
    gate: TaskGate = field(init=False)
    deliver: dict[str, Callable[[UpdateSignals], None]] = field(default_factory=dict)
    """Group name -> its running actor's `deliver` (`petra.actors.signal_group`): a driver's batch applied in
    the driver's thread while the group is idle."""

    def __post_init__(self) -> None:
        self.ticks = TickBoard(self.stats)
        self.gate = TaskGate()
        self.tasks = {}
        self.set_tasks()

    def set_tasks(self) -> None:
        """Build (or, after a reload, update) the task runs from the config; a task that stays keeps its board."""
        index = self.table.index
        self.tasks = build_runs(self.config.all_tasks, self.tasks, self.ticks, self.stats, self.metrics, self.gate,
                                index.get, lambda: self.tick_time.monotonic())

    @property
    def scan_time_s(self) -> float:
        return self.config.scan_time_ms / 1000.0

    @property
    def main_has_chains(self) -> bool:
        """The main task has chains, so its scans complete (the watchdog's sign of progress), not only tick."""
        return any(chain.chain.task == MAIN for chain in self.chains)


def chain_owners(chains: list[Chain]) -> dict[str, Owner]:
    """Signal name -> owning chain for every block output."""
    return {signal: Owner.chain(chain.name) for chain in chains for block in chain.blocks
            for signal in block.outputs.values()}


def signal_groups(table: SignalTable) -> dict[str, list[int]]:
    """Group -> slots for every live signal no chain owns."""
    groups: dict[str, list[int]] = {}
    for slot in table.index.values():
        owner = table.owners[slot]
        if owner.kind is OwnerKind.GROUP:
            groups.setdefault(owner.name, []).append(slot)
    for slots in groups.values():
        slots.sort()
    return groups


def build_plant(config: PlantConfig, scan_time_ms: int | None = None) -> Plant:
    """Resolve slots, compile every chain and group the signals chains do not own."""
    if scan_time_ms is not None:
        config = replace(config, scan_time_ms=scan_time_ms)
    chains = partition(config.blocks)
    table = SignalTable(config.signals, chain_owners(chains))
    compiled = [compile_chain(chain, table) for chain in chains]
    plant = Plant(config=config, table=table, chains=compiled, groups=signal_groups(table))
    plant.metrics.signals.set(len(table.index))
    plant.metrics.scan_time.set(plant.scan_time_s)
    return plant
