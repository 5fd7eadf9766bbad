"""Reload with tasks: adding, changing and removing a task restarts only what it changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from petra.config.loader import load_config
from tests.harness import RunningPlant
from tests.helpers import wait_until

PLANT: dict[str, Any] = {
    "scan_time_ms": 20,
    "signals": [{"name": "level", "type": "float", "initial": 50.0}, {"name": "enable", "type": "bool",
                                                                       "initial": True}],
    "blocks": [
        {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"}, "outputs": {"count_out": "count"}},
        {"name": "high", "type": "GT", "inputs": {"in1": "level", "in2": "80.0"}, "outputs": {"out": "level_high"}},
    ],
}


def write(path: Path, plant: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(plant, sort_keys=False))


def with_fast(interval_ms: int = 10, priority: int = 1) -> dict[str, Any]:
    plant = copy.deepcopy(PLANT)
    plant["tasks"] = [{"name": "fast", "interval_ms": interval_ms, "priority": priority}]
    plant["blocks"][1]["task"] = "fast"
    return plant


def test_adding_changing_and_removing_a_task_restarts_only_what_it_changes(tmp_path):
    path = tmp_path / "plant.yaml"
    write(path, PLANT)
    with RunningPlant(load_config(path), config_path=path) as petra:
        runtime = petra.runtime
        wait_until(lambda: petra.plant.stats.completed_scans > 2)
        gen = petra.lookup("petra/core/logic/gen")

        write(path, with_fast())  # a new task, and the chain `high` moves into it
        result = runtime.reload()
        assert result.accepted, result
        assert result.changes["restarted"] == ["logic/high", "clock"]
        assert result.changes["tasks_changed"] == ["fast"]
        assert petra.lookup("petra/core/logic/gen") == gen  # main's other chain kept running
        fast = petra.plant.tasks["fast"]
        wait_until(lambda: fast.stats.completed_scans > 5)
        assert fast.board.chains() == ["high"] and petra.plant.tasks["main"].board.chains() == ["gen"]

        high = petra.lookup("petra/core/logic/high")
        write(path, with_fast(interval_ms=30))  # only the interval: the clock takes it, the chain stays
        result = runtime.reload()
        assert result.accepted, result
        assert result.changes["restarted"] == ["clock"]
        assert petra.lookup("petra/core/logic/high") == high
        assert petra.plant.tasks["fast"] is fast and fast.config.interval_ms == 30
        ticks = fast.stats.ticks
        wait_until(lambda: fast.stats.completed_scans > ticks + 3)

        write(path, with_fast(interval_ms=30, priority=9))  # its priority ranks the chain in the pool
        result = runtime.reload()
        assert result.changes["restarted"] == ["logic/high", "clock"]
        assert petra.lookup("petra/core/logic/high").proxy().pool_priority.get(timeout=5) == 9

        write(path, PLANT)  # the task is gone, `high` is back in main
        result = runtime.reload()
        assert result.accepted, result
        assert result.changes["restarted"] == ["logic/high", "clock"]
        assert result.changes["tasks_changed"] == ["fast"]
        assert list(petra.plant.tasks) == ["main"]
        assert petra.lookup("petra/core/logic/gen") == gen
        scans = petra.plant.stats.completed_scans
        wait_until(lambda: petra.plant.stats.completed_scans > scans + 3
                   and sorted(petra.plant.tasks["main"].board.chains()) == ["gen", "high"])


def test_a_reload_without_tasks_changes_no_task_and_restarts_no_clock(tmp_path):
    path = tmp_path / "plant.yaml"
    write(path, with_fast())
    with RunningPlant(load_config(path), config_path=path) as petra:
        clock = petra.lookup("petra/core/clock")
        plant = with_fast()
        plant["tasks"].insert(0, {"name": "main", "priority": 50})  # says what is already so
        write(path, plant)
        result = petra.runtime.reload()
        assert result.accepted, result
        assert result.changes["restarted"] == [] and result.changes["tasks_changed"] == []
        assert petra.lookup("petra/core/clock") == clock
