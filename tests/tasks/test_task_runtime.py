"""The task runtime without threads: event runs, coalescing, the gate that keeps cyclic tasks from starving."""

from __future__ import annotations

from typing import Any

from petra.clock import ScanStats, TickBoard
from petra.messages import ScanDone, SignalsChanged, Tick
from petra.metrics import PlantMetrics
from petra.owners import Owner
from petra.tasks.model import TaskConfig, TaskKind, main_task
from petra.tasks.runtime import TaskGate, TaskRun


class Chain:
    """Stands in for a chain actor's ref: keeps the ticks it was sent; `finish` reports the last one done."""

    def __init__(self, name: str, run: TaskRun) -> None:
        self.name = name
        self.run = run
        self.ticks: list[Tick] = []
        run.board.subscribe(name, self)

    def tell(self, message: Any) -> None:
        self.ticks.append(message)

    def finish(self) -> None:
        self.run.done(ScanDone(self.name, self.ticks[-1].seq, 0.001, 0.0))


def change(*slots: int) -> SignalsChanged:
    return SignalsChanged(Owner.group("default"), slots=slots, values=tuple(1.0 for _ in slots),
                          qualities=tuple(0 for _ in slots), timestamp=0.0, names=())


def task_run(config: TaskConfig, gate: TaskGate, metrics: PlantMetrics, slots: tuple[int, ...] = ()) -> TaskRun:
    stats = ScanStats()
    run = TaskRun(config, TickBoard(stats), stats, metrics, gate)
    run.configure(config, slots)
    return run


def event_task(gate: TaskGate | None = None) -> tuple[TaskRun, Chain, PlantMetrics]:
    metrics = PlantMetrics()
    run = task_run(TaskConfig("ev", TaskKind.EVENT, trigger=("cmd",)), gate or TaskGate(), metrics, (3,))
    return run, Chain("c", run), metrics


def test_an_event_task_runs_once_per_change_of_a_trigger_and_ignores_other_signals():
    run, chain, metrics = event_task()
    assert run.event is not None
    for _ in range(5):
        run.event.on_change(change(3))
        chain.finish()
    run.event.on_change(change(4, 5))
    assert len(chain.ticks) == 5
    assert run.stats.ticks == 5 and run.coalesced == 0
    assert metrics.registry.get_sample_value("petra_task_runs_total", {"task": "ev"}) == 5


def test_changes_that_arrive_during_a_run_are_coalesced_into_one_more_run_and_counted():
    run, chain, metrics = event_task()
    assert run.event is not None
    run.event.on_change(change(3))
    for _ in range(100):  # a burst while the first run is open
        run.event.on_change(change(3))
    assert len(chain.ticks) == 1  # nothing queued behind the open run
    chain.finish()
    assert len(chain.ticks) == 2  # one more run for the whole burst
    chain.finish()
    assert len(chain.ticks) == 2  # and no more
    assert run.coalesced == 99
    assert len(chain.ticks) + run.coalesced == 101  # every change either ran or was counted
    assert metrics.registry.get_sample_value("petra_task_coalesced_total", {"task": "ev"}) == 99


def test_a_chain_that_stops_mid_run_does_not_leave_the_event_task_waiting():
    run, chain, _ = event_task()
    other = Chain("d", run)
    assert run.event is not None
    run.event.on_change(change(3))
    run.event.on_change(change(3))  # pending behind the open run
    chain.finish()
    run.leave("d", other)  # d crashed: it will never report
    assert len(chain.ticks) == 2  # the pending run started


def test_while_a_cyclic_run_is_open_an_event_task_starts_at_most_one_run():
    gate = TaskGate()
    metrics = PlantMetrics()
    main = task_run(main_task(10), gate, metrics)
    slow = Chain("slow", main)
    run, chain, _ = event_task(gate)
    assert run.event is not None
    main.tick(1, 0.0, 0.0)  # the cyclic run opens and stays open
    for _ in range(50):  # a flood: each finished run would start the next at once
        run.event.on_change(change(3))
        chain.finish()
    assert len(chain.ticks) == 1  # one run interleaved with the open cyclic run, the rest wait
    slow.finish()  # the cyclic run is over: the waiting event run starts
    assert len(chain.ticks) == 2
    assert len(chain.ticks) + run.coalesced == 50


def test_a_cyclic_tick_finds_a_busy_chain_an_overrun_counted_per_task_and_chain():
    gate = TaskGate()
    metrics = PlantMetrics()
    fast = task_run(TaskConfig("fast", interval_ms=5), gate, metrics)
    chain = Chain("c", fast)
    fast.tick(1, 0.0, 0.001)
    fast.tick(2, 0.005, 0.005)  # c has not finished tick 1
    assert len(chain.ticks) == 1
    sample = metrics.registry.get_sample_value
    assert sample("petra_task_overruns_total", {"task": "fast"}) == 1
    assert sample("petra_scan_overruns_total", {"chain": "c"}) == 1
    assert sample("petra_task_lateness_seconds_count", {"task": "fast"}) == 2
    assert sample("petra_ticks_total") == 0.0  # the main task's scan metrics are the main task's alone
