"""Tasks in `/v1/status` and a line per task in `petra-ctl top`."""

from __future__ import annotations

from rich.console import Console

from petra.ctl.client import ControlClient, Target
from petra.ctl.render import render_status
from petra.ctl.top import TopModel, render_top
from petra.messages import SignalUpdate, UpdateSignals
from tests.harness import RunningPlant
from tests.helpers import plant_config, wait_until

PLANT = {
    "scan_time_ms": 20,
    "signals": [{"name": "cmd", "type": "int"}, {"name": "enable", "type": "bool", "initial": True}],
    "tasks": [{"name": "fast", "interval_ms": 5, "priority": 1}, {"name": "on_cmd", "trigger": ["cmd"]}],
    "blocks": [
        {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"}, "outputs": {"count_out": "count"}},
        {"name": "fast_gen", "type": "DATA_GENERATOR", "task": "fast", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "fast_count"}},
        {"name": "copy", "type": "MOVE", "task": "on_cmd", "inputs": {"in": "cmd"}, "outputs": {"out": "copied"}},
    ],
}


def test_status_lists_every_task_and_top_shows_a_line_for_each(tmp_path):
    with RunningPlant(plant_config(PLANT), control_socket=tmp_path / "ctl.sock") as petra:
        group = petra.lookup("petra/core/signals/default")
        for value in (1, 2, 3):
            group.ask(UpdateSignals((SignalUpdate("cmd", value),), "test"), timeout=5)
            wait_until(lambda value=value: petra.value("copied") == value)
        wait_until(lambda: petra.plant.tasks["fast"].stats.completed_scans > 3)
        client = ControlClient(Target(socket_path=tmp_path / "ctl.sock"))
        status = client.status()
        tasks = status["tasks"]
        assert list(tasks) == ["main", "fast", "on_cmd"]
        assert (tasks["main"]["kind"], tasks["main"]["interval_ms"], tasks["main"]["priority"]) == ("cyclic", 20, 50)
        assert (tasks["fast"]["interval_ms"], tasks["fast"]["priority"], tasks["fast"]["chains"]) == (5, 1, 1)
        assert (tasks["on_cmd"]["kind"], tasks["on_cmd"]["trigger"], tasks["on_cmd"]["runs"]) == ("event", ["cmd"], 3)
        assert tasks["fast"]["runs"] > 3
        console = Console(record=True, width=160)
        console.print(render_top(status, client.tree(), TopModel()))
        lines = console.export_text().splitlines()
        assert any("main" in line and "every 20 ms" in line for line in lines)
        assert any("fast" in line and "every 5 ms" in line for line in lines)
        assert any("on_cmd" in line and "on cmd" in line for line in lines)
        console = Console(record=True, width=160)
        console.print(render_status(status))  # petra-ctl status: the same line per task
        status_lines = console.export_text().splitlines()
        assert any("fast" in line and "every 5 ms" in line for line in status_lines)
        assert any("on_cmd" in line and "on cmd" in line for line in status_lines)
