"""A block-chain actor: evaluates one connected component of the block graph per tick.

The chain is the single writer (the signal group) of its output signals. A
block that cannot compute from what its inputs hold (see `petra.logic.compiler`)
keeps its outputs' last values and turns them, and whatever they feed, bad
quality; it is counted in `petra_block_errors_total{chain}`, logged at most
once per block every 10 s, and the chain keeps scanning: the next scan whose
inputs admit a value makes them good again. Any other exception from a block
crashes the chain; its outputs turn bad quality until the supervisor has
restarted it and a scan has completed again.

A chain of an event task is also run in the thread whose change triggered it
(`run_here`, through the task's `TickBoard`): the run sees the values of that
change and costs no hand-off. A lock keeps that run and the actor's own
messages (a pool tick, a force) one at a time, as an actor's messages are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from petra.logic.compiler import CANNOT_COMPUTE, ChainProgram, CompiledChain, compile_chain, propagate_quality
from petra.messages import ForceSignal, ScanDone, SignalsChanged, Tick
from petra.owners import Owner
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.values import Quality, coerce
from supervision import PooledActor

log = logging.getLogger(__name__)


class BlockChainActor(PooledActor):
    """Runs a `CompiledChain`'s scan function on every `Tick`.

    Chains are pooled actors: hundreds of chains share one worker thread
    instead of waking hundreds of threads that fight over the GIL each tick.
    A chain runs in its task (`petra.tasks`): it is ticked by the task's board
    and ranks in the pool by the task's priority.
    """

    pool_name = "logic"
    pool_workers = 1

    def __init__(self, plant: Plant, chain: CompiledChain) -> None:
        super().__init__()
        self.plant = plant
        self.chain = chain
        self.owner = Owner.chain(chain.name)
        self.task = plant.tasks[chain.chain.task]
        self.pool_priority = self.task.priority
        self._board = self.task.board
        self._monotonic = plant.tick_time.monotonic  # the clock the task's start was read from
        self.program: ChainProgram | None = None
        self._epoch = -1
        self._subscribed = False
        self._published: tuple[int, ...] = ()
        self._pick: Callable[[Sequence[Any]], tuple[Any, ...]] = _picker(())
        """Picks the published slots' values and qualities out of the table in C: a scan's changed slots are
        mostly the last scan's, and a list comprehension per column was half the cost of a publish."""
        self._updates = plant.metrics.signal_updates.labels(str(self.owner))
        self._errors = plant.metrics.block_errors.labels(chain.name)
        self._failing: frozenset[int] = frozenset()
        self._failure_log = RateLimitedLog(log, interval_s=10.0, max_keys=2 * len(chain.block_names) + 1)
        self._lock = threading.Lock()
        self._gone = False

    def on_start(self) -> None:
        self.program = self.chain.instantiate()
        if self._forced_outputs():
            self._recompile()
        run = self.run_here if self.task.event is not None else None
        self.task.board.subscribe(self.chain.name, self.actor_ref, run, pooled=self)
        self._subscribed = True

    def on_stop(self) -> None:
        with self._lock:
            self._gone = True
        self._leave_clock()

    def on_failure(self, *_exc_info: object) -> None:
        with self._lock:
            self._gone = True
        self.plant.table.set_quality(self.chain.output_slots, Quality.BAD)
        self._leave_clock()

    def _leave_clock(self) -> None:
        if self._subscribed:
            self.task.leave(self.chain.name, self.actor_ref)
            self._subscribed = False

    def on_receive(self, message: object) -> object:
        if isinstance(message, Tick):
            with self._lock:
                work = self._scan(message)
            self._report(message, work)
            return None
        if isinstance(message, ForceSignal):
            with self._lock:
                return self._force(message)
        return super().on_receive(message)

    def run_here(self, tick: Tick) -> None:
        """The task's run in the calling thread (see the module docstring). A failure fails the actor, for its
        supervisor, as it would in the pool; either way the run is reported, so the task goes on."""
        work = 0.0
        with self._lock:
            if not self._gone:
                try:
                    work = self._scan(tick)
                except Exception as exc:
                    log.error("chain %s failed in an event run: %s: %s; it is restarted", self.chain.name,
                              type(exc).__name__, exc, exc_info=exc)
                    self._gone = True
                    self.fail(exc)
        self._report(tick, work)

    def _forced_outputs(self) -> frozenset[int]:
        return frozenset(self.plant.table.forced).intersection(self.chain.output_slots)

    def _force(self, message: ForceSignal) -> str | None:
        """Hold (or release) one of this chain's outputs; recompiles, keeping block state."""
        table = self.plant.table
        slot = table.slot(message.name)
        if slot not in self.chain.output_slots:
            return f"signal '{message.name}' is not written by chain {self.chain.name}"
        if message.value is None:
            table.forced.pop(slot, None)
        else:
            value = coerce(message.value, table.types[slot])
            table.forced[slot] = (value, message.reason)
            table.values[slot] = value
            table.timestamps[slot] = time.time()
        self._recompile()
        return None

    def _recompile(self) -> None:
        compiled = compile_chain(self.chain.chain, self.plant.table, forced=self._forced_outputs())
        self.program = compiled.instantiate(self.program.blocks if self.program else None)

    def _scan(self, tick: Tick) -> float:
        """One run of the program; its work in seconds. Reported after the lock is let go (`_report`): the
        report may start the task's next run, in this thread."""
        started = time.perf_counter()
        table = self.plant.table
        if table.quality_epoch != self._epoch:
            self._epoch = table.quality_epoch
            propagate_quality(table.quality, self.chain.quality_plan, self._failing)
        program = self.program
        if program is None:  # on_start instantiates it before subscribing to ticks
            raise RuntimeError(f"chain {self.chain.name} got a tick before it started")
        try:
            changed = program.scan(table.values, tick.scheduled_at)
        except CANNOT_COMPUTE as error:  # a block had no value: the rest of the chain still runs
            changed = program.recover(error, table.values, tick.scheduled_at)
        if program.failed or self._failing:
            changed = self._after_failures(program, changed)
        if changed:
            wall = time.time()
            stamps = table.timestamps
            for slot in changed:
                stamps[slot] = wall
            self._updates.inc(len(changed))
            if self.plant.bus.has_subscribers:
                slots = tuple(changed)
                if slots != self._published:
                    self._published, self._pick = slots, _picker(slots)
                pick = self._pick
                self.plant.bus.publish(
                    SignalsChanged(self.owner, slots=slots, values=pick(table.values),
                                   qualities=pick(table.quality), timestamp=wall, names=table.names)
                )
        return time.perf_counter() - started

    def _report(self, tick: Tick, work: float) -> None:
        run_work = self._board.done(ScanDone(self.chain.name, tick.seq, work, self._monotonic()))
        if run_work is not None:  # the last of its task's chains in this run
            self.task.finished(run_work)

    def _after_failures(self, program: ChainProgram, changed: list[int]) -> list[int]:
        """Count and log the blocks that could not compute; on any change, re-derive quality.

        Returns `changed` plus the output slots whose quality moved, so listeners
        (history, alarms, watchers) hear that they turned bad, or good again.
        """
        failing = frozenset(program.failed)
        names = self.chain.block_names
        chain = self.chain.name
        if failing:
            self._errors.inc(len(program.failed))
        for index in failing:
            self._failure_log.warning(names[index], "chain %s: block %s cannot compute its outputs (they hold "
                                      "their last value, bad quality): %s", chain, names[index], program.errors[index])
        for index in self._failing - failing:
            self._failure_log.info(f"{names[index]} again", "chain %s: block %s computes again", chain, names[index])
        program.failed.clear()
        program.errors.clear()
        if failing == self._failing:
            return changed
        self._failing = failing
        quality = self.plant.table.quality
        slots = self.chain.output_slots
        before = [quality[s] for s in slots]
        propagate_quality(quality, self.chain.quality_plan, failing)
        moved = [s for s, q in zip(slots, before, strict=True) if quality[s] != q and s not in changed]
        return changed + moved if moved else changed


def _picker(slots: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function giving the items at `slots` of a sequence as a tuple (`itemgetter`, which gives a bare item for
    one slot and needs at least one)."""
    if len(slots) > 1:
        return itemgetter(*slots)
    if slots:
        slot = slots[0]
        return lambda seq: (seq[slot],)
    return lambda seq: ()
