"""The tick board: which chains the clock ticks, which are still busy, and scan completion.

Shared by the clock (dispatch) and the chains (completion) behind one lock,
so a chain reports `ScanDone` with a direct call instead of a message that
would wake the clock's thread a hundred times per scan. It lives in the plant,
not in the clock actor, so a restarted clock keeps ticking the same chains.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pykka import ActorDeadError

from petra.clock.scanstats import ScanStats
from petra.messages import ScanDone, Tick
from supervision import ActorPool, PooledActor


@dataclass
class _Target:
    ref: Any
    pending: int | None = None
    run: Callable[[Tick], None] | None = None
    """Runs the chain for a tick in the caller's thread; it reports `done` as a ticked chain does."""
    pooled: PooledActor | None = None
    """The chain's actor, when it is a pooled one: ticked by one round of its pool (`ActorPool.deliver`)."""


@dataclass
class _OpenScan:
    seq: int
    started: float
    outstanding: int


class TickBoard:
    """Subscriptions, overrun detection and scan-work measurement."""

    def __init__(self, stats: ScanStats) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, _Target] = {}
        self._open: _OpenScan | None = None
        self._stats = stats

    def subscribe(self, chain: str, ref: Any, run: Callable[[Tick], None] | None = None,
                  pooled: PooledActor | None = None) -> None:
        """`chain` is ticked through `ref`, or when it is `pooled` (its actor) through one round of its pool for
        all such chains; with `run` it can also be run in the ticking thread (`run_here`)."""
        with self._lock:
            self._targets[chain] = _Target(ref, run=run, pooled=pooled)

    def unsubscribe(self, chain: str, ref: Any, now: float | None = None) -> float | None:
        """`chain` leaves the board. If the open scan was waiting only for it, that scan is over: returns its
        work time up to `now` (a crashed chain must not leave an event task waiting for ever), else None."""
        with self._lock:
            target = self._targets.get(chain)
            if target is None or target.ref != ref:
                return None
            del self._targets[chain]
            scan = self._open
            if target.pending is None or scan is None or scan.seq != target.pending:
                return None
            scan.outstanding -= 1
            if scan.outstanding > 0:
                return None
            self._open = None
        return (time.monotonic() if now is None else now) - scan.started

    def idle(self) -> bool:
        """No run is open: every chain ticked last has reported."""
        with self._lock:
            return self._open is None

    def chains(self) -> list[str]:
        with self._lock:
            return sorted(self._targets)

    def dispatch(self, seq: int, scheduled_at: float, woke: float) -> tuple[int, list[str]]:
        """Send `Tick` to every idle chain; returns (ticks sent, chains that overran).

        The pooled chains get it through one round of their pool: a tell each cost a hand-off through its
        inbox and the pool's queue, as much as a tenth of the blocks of a chain."""
        tick = Tick(seq, scheduled_at)
        told: list[Any] = []
        rounds: dict[ActorPool, list[PooledActor]] = {}
        overran: list[str] = []
        with self._lock:
            for name, target in self._targets.items():
                if target.pending is not None:
                    overran.append(name)
                    continue
                target.pending = seq
                if target.pooled is None:
                    told.append(target.ref)
                else:
                    rounds.setdefault(target.pooled.pool, []).append(target.pooled)
            sent = len(told) + sum(map(len, rounds.values()))
            self._open = _OpenScan(seq, woke, sent) if sent else None
        for name in overran:
            self._stats.record_overrun(name)
        for pool, actors in rounds.items():
            pool.deliver(actors, tick)
        for ref in told:
            with contextlib.suppress(ActorDeadError):  # stopping right now; it unsubscribes itself
                ref.tell(tick)
        return sent, overran

    def run_here(self, seq: int, scheduled_at: float, woke: float) -> int | None:
        """Run every chain in this thread, one after the other; the number run, or None (nothing is run) when
        some chain cannot be run here (no `run`, or still busy with an earlier tick): then `dispatch`.

        An event task's run at the change that triggers it: no hand-off to the logic pool, so the run sees
        the values of that change, and the next change (in the same thread) comes after it."""
        tick = Tick(seq, scheduled_at)
        with self._lock:
            targets = list(self._targets.values())
            if not targets or any(t.run is None or t.pending is not None for t in targets):
                return None
            for target in targets:
                target.pending = seq
            self._open = _OpenScan(seq, woke, len(targets))
        for target in targets:
            assert target.run is not None
            target.run(tick)
        return len(targets)

    def done(self, report: ScanDone) -> float | None:
        """A chain finished `report.seq`; returns the whole scan's work time when it was the last."""
        self._stats.record_chain(report.chain, report.work_s)
        with self._lock:
            target = self._targets.get(report.chain)
            if target is not None and target.pending == report.seq:
                target.pending = None
            scan = self._open
            if scan is None or scan.seq != report.seq:
                return None
            scan.outstanding -= 1
            if scan.outstanding > 0:
                return None
            self._open = None
        work = report.finished_at - scan.started
        self._stats.record_scan(report.finished_at, work)
        return work

