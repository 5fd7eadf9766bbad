"""Tasks on a running plant: cyclic tasks at their own intervals, event tasks on a change, a flood."""

from __future__ import annotations

import threading
from typing import Any

from petra.clock.source import ManualTime
from petra.messages import SignalsChanged, SignalUpdate, UpdateSignals
from tests.harness import RunningPlant
from tests.helpers import Announced, plant_config, wait_until

STEP_S = 0.005 + 1e-9
"""A ManualTime step a hair over the fast task's interval, so float sums never land just short of a deadline."""


def two_cyclic_tasks() -> dict[str, Any]:
    return {
        "scan_time_ms": 50,
        "signals": [{"name": "enable", "type": "bool", "initial": True}],
        "tasks": [{"name": "fast", "interval_ms": 5, "priority": 1}],
        "blocks": [
            {"name": "slow_gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
             "outputs": {"count_out": "slow_count"}},
            {"name": "fast_gen", "type": "DATA_GENERATOR", "task": "fast", "inputs": {"enable": "enable"},
             "outputs": {"count_out": "fast_count"}},
        ],
    }


def test_two_cyclic_tasks_each_run_at_their_own_interval():
    clock = ManualTime()
    petra = RunningPlant(plant_config(two_cyclic_tasks()))
    petra.plant.tick_time = clock
    with petra:
        tasks = petra.plant.tasks
        fast, main = tasks["fast"], tasks["main"]
        wait_until(lambda: clock.waiters() > 0)  # the clock has read its start and waits on the manual clock
        for step in range(1, 61):
            clock.advance(STEP_S)
            wait_until(lambda step=step: fast.stats.completed_scans == step
                       and main.stats.completed_scans == step // 10)
        assert (fast.stats.ticks, main.stats.ticks) == (60, 6)
        assert fast.stats.overruns == main.stats.overruns == 0
        assert petra.metric("petra_task_runs_total", task="fast") == 60
        assert petra.metric("petra_task_runs_total", task="main") == 6
        assert petra.metric("petra_ticks_total") == 6  # the scan metrics every plant had are main's
        assert petra.metric("petra_task_work_seconds_count", task="fast") == 60
        assert petra.plant.table.read("slow_count").value < petra.plant.table.read("fast_count").value


def event_plant(**task: Any) -> dict[str, Any]:
    return {
        "scan_time_ms": 10,
        "signals": [{"name": "cmd", "type": "int"}, {"name": "enable", "type": "bool", "initial": True}],
        "tasks": [{"name": "on_cmd", "trigger": ["cmd"], **task}],
        "blocks": [
            {"name": "copy", "type": "MOVE", "task": "on_cmd", "inputs": {"in": "cmd"}, "outputs": {"out": "copied"}},
            {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
             "outputs": {"count_out": "count"}},
        ],
    }


class ChangeCount:
    """Counts the bus's changes of one signal, as the event task sees them."""

    def __init__(self, petra: RunningPlant, name: str) -> None:
        self.slot = petra.plant.table.slot(name)
        self.count = 0
        petra.plant.bus.subscribe(self)

    def __call__(self, event: SignalsChanged) -> None:
        if self.slot in event.slots:
            self.count += 1


def test_an_event_task_runs_once_per_change_without_waiting_for_a_scan():
    with RunningPlant(plant_config(event_plant())) as petra:
        run = petra.plant.tasks["on_cmd"]
        group = petra.lookup("petra/core/signals/default")
        for value in range(1, 21):
            group.ask(UpdateSignals((SignalUpdate("cmd", value),), "test"), timeout=5)
            wait_until(lambda value=value: petra.value("copied") == value and run.stats.completed_scans == value)
        assert run.stats.ticks == 20 and run.coalesced == 0
        assert petra.metric("petra_task_runs_total", task="on_cmd") == 20


def test_a_burst_of_changes_gives_each_change_a_run_or_a_count_and_the_last_value_is_seen():
    with RunningPlant(plant_config(event_plant())) as petra:
        run = petra.plant.tasks["on_cmd"]
        changes = ChangeCount(petra, "cmd")
        group = petra.lookup("petra/core/signals/default")
        for value in range(1, 2001):
            group.tell(UpdateSignals((SignalUpdate("cmd", value),), "test"))
        group.ask(UpdateSignals((), "test"), timeout=5)  # the group has taken the whole burst
        wait_until(lambda: petra.value("copied") == 2000)  # the coalesced run read the latest value
        wait_until(lambda: run.board.idle() and run.stats.ticks + run.coalesced == changes.count)
        assert changes.count >= 1 and run.stats.completed_scans == run.stats.ticks
        assert petra.metric("petra_task_coalesced_total", task="on_cmd") == run.coalesced


def test_each_frame_of_a_batch_gets_its_own_run_in_the_group_thread_with_that_frame_values():
    """A network read's messages (one batch, one frame each) each run the event task, none coalesced: the run
    happens in the signal group's thread right after its frame is applied, so it reads that frame's value.
    (No cyclic chain here: while one's run is open an event task may start one run only, and coalesces.)"""
    config = event_plant()
    config["blocks"] = [block for block in config["blocks"] if block.get("task") == "on_cmd"]
    with RunningPlant(plant_config(config)) as petra:
        run = petra.plant.tasks["on_cmd"]
        copied = Announced(petra.plant, "copied")
        group = petra.lookup("petra/core/signals/default")
        updates = tuple(SignalUpdate("cmd", value) for value in range(1, 501))
        group.ask(UpdateSignals(updates, "test", frames=tuple(range(1, 500))), timeout=5)
        wait_until(lambda: run.board.idle() and run.stats.completed_scans == 500)
        assert copied.values() == list(range(1, 501))
        assert copied.threads() == {"petra/core/signals/default"}
        assert run.coalesced == 0


def test_a_flood_on_an_urgent_event_task_does_not_stop_the_main_task():
    config = event_plant(priority=1)
    config["blocks"] += [  # an event run with some work in it
        {"name": f"w{i}", "type": "ADD", "task": "on_cmd", "inputs": {"in1": "copied" if i == 0 else f"w{i - 1}_out",
                                                                       "in2": 1.0},
         "outputs": {"out": f"w{i}_out"}} for i in range(30)
    ]
    with RunningPlant(plant_config(config)) as petra:
        run, main = petra.plant.tasks["on_cmd"], petra.plant.tasks["main"]
        changes = ChangeCount(petra, "cmd")
        group = petra.lookup("petra/core/signals/default")
        stop = threading.Event()

        def flood() -> None:
            value = 0
            while not stop.is_set():
                value += 1
                group.tell(UpdateSignals((SignalUpdate("cmd", value),), "flood"))
                if value % 200 == 0:  # keep the group's inbox from growing without bound
                    group.ask(UpdateSignals((), "flood"), timeout=5)

        flooding = threading.Thread(target=flood, name="test-flood", daemon=True)
        wait_until(lambda: main.stats.completed_scans > 0)
        flooding.start()
        try:
            wait_until(lambda: run.stats.ticks > 100)  # the flood is on
            scans = main.stats.completed_scans
            wait_until(lambda: main.stats.completed_scans >= scans + 50, timeout=20)
        finally:
            stop.set()
            flooding.join(5)
        wait_until(lambda: run.board.idle() and run.stats.ticks + run.coalesced == changes.count)


def test_a_chain_that_fails_in_an_inline_run_is_restarted_and_the_group_goes_on():
    """A bug in a block (any exception but a cannot-compute) fails its chain for the supervisor, as it would in
    the pool; the signal group whose thread ran it keeps applying, and the restarted chain runs again."""
    import tests.e2e.fault_block  # registers TEST_RAISE_ONCE (raises once, at input 3)

    tests.e2e.fault_block._raised = False
    config = event_plant()
    config["blocks"] = [{"name": "fragile", "type": "TEST_RAISE_ONCE", "task": "on_cmd", "params": {"on": 3},
                         "inputs": {"in": "cmd"}, "outputs": {"out": "passed"}}]
    config["signals"].append({"name": "passed", "type": "int"})
    with RunningPlant(plant_config(config)) as petra:
        for value in (1, 2, 3):
            petra.write("default", cmd=value)
        wait_until(lambda: petra.node("petra/core/logic/fragile").restarts == 1)
        wait_until(lambda: petra.plant.tasks["on_cmd"].board.chains() == ["fragile"])  # it is back on its board
        petra.write("default", cmd=4)
        wait_until(lambda: petra.value("passed") == 4 and petra.quality("passed").name == "GOOD")
        assert petra.value("cmd") == 4
