"""A block-chain actor: evaluates one connected component of the block graph per tick.

The chain is the single writer (the signal group) of its output signals. A
block that raises crashes the chain; its outputs turn bad quality until the
supervisor has restarted it and a scan has completed again.
"""

from __future__ import annotations

import logging
import time

from petra.logic.compiler import ChainProgram, CompiledChain, propagate_quality
from petra.messages import Change, ScanDone, SignalsChanged, SubscribeTicks, Tick, UnsubscribeTicks
from petra.plant import CLOCK_PATH, Plant
from petra.values import Quality
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class BlockChainActor(SupervisedActor):
    """Runs a `CompiledChain`'s scan function on every `Tick`."""

    def __init__(self, plant: Plant, chain: CompiledChain) -> None:
        super().__init__()
        self.plant = plant
        self.chain = chain
        self.owner = f"logic/{chain.name}"
        self.program: ChainProgram | None = None
        self._epoch = -1
        self._clock = None
        self._updates = plant.metrics.signal_updates.labels(self.owner)

    def on_start(self) -> None:
        self.program = self.chain.instantiate()
        self._clock = self.registry.get(CLOCK_PATH)
        if self._clock is None:
            raise RuntimeError(f"{self.path}: no clock at {CLOCK_PATH}")
        self._clock.tell(SubscribeTicks(self.chain.name, self.actor_ref))

    def on_stop(self) -> None:
        self._leave_clock()

    def on_failure(self, *_exc_info: object) -> None:
        self.plant.table.set_quality(self.chain.output_slots, Quality.BAD)
        self._leave_clock()

    def _leave_clock(self) -> None:
        if self._clock is not None:
            self._clock.tell(UnsubscribeTicks(self.chain.name, self.actor_ref))

    def on_receive(self, message: object) -> object:
        if isinstance(message, Tick):
            self._scan(message)
            return None
        return super().on_receive(message)

    def _scan(self, tick: Tick) -> None:
        started = time.perf_counter()
        table = self.plant.table
        if table.quality_epoch != self._epoch:
            self._epoch = table.quality_epoch
            propagate_quality(table.quality, self.chain.quality_plan)
        changed = self.program.scan(table.values, tick.scheduled_at)  # type: ignore[union-attr]
        if changed:
            wall = time.time()
            stamps = table.timestamps
            for slot in changed:
                stamps[slot] = wall
            self._updates.inc(len(changed))
            if self.plant.bus.has_subscribers:
                values, quality, names = table.values, table.quality, table.names
                self.plant.bus.publish(
                    SignalsChanged(
                        self.owner,
                        tuple(Change(s, names[s], values[s], Quality(quality[s]), wall) for s in changed),
                    )
                )
        work = time.perf_counter() - started
        self._clock.tell(ScanDone(self.chain.name, tick.seq, work, time.monotonic()))  # type: ignore[union-attr]
