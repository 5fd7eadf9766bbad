"""End to end: `petra run` as a subprocess, observed only from outside."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import yaml

from tests.e2e.petra_process import PETRA, PetraProcess, free_port, scrape, wait_for_metrics
from tests.helpers import wait_until

PLUGIN = str(Path(__file__).with_name("fault_block.py"))

PLANT = {
    "node_id": "e2e",
    "scan_time_ms": 50,
    "signals": [{"name": "enable", "type": "bool", "initial": True}],
    "blocks": [
        {"name": "healthy_gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "healthy_count", "sine_out": "healthy_sine"}},
        {"name": "faulty_gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "faulty_count"}},
        {"name": "faulty", "type": "TEST_RAISE_ONCE", "inputs": {"in": "faulty_count"},
         "outputs": {"out": "faulty_out"}, "params": {"on": 10}},
    ],
}


def start(tmp_path: Path, plant: dict, *extra: str) -> tuple[PetraProcess, int]:
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(plant, sort_keys=False))
    port = free_port()
    process = PetraProcess(
        ["run", str(config), "--metrics-port", str(port), "--plugin", PLUGIN, *extra], tmp_path / "petra.log"
    )
    return process, port


def test_a_running_plant_scans_and_survives_a_crashing_chain_then_exits_cleanly_on_sigterm(tmp_path):
    process, port = start(tmp_path, PLANT)
    try:
        first = wait_for_metrics(port, process)
        wait_until(lambda: scrape(port)["petra_ticks_total"] >= first.get("petra_ticks_total", 0) + 10)

        healthy = 'petra_signal_updates_total{group="logic/healthy_gen"}'
        before = scrape(port)[healthy]
        wait_until(lambda: scrape(port)[healthy] >= before + 10)  # values change scan after scan

        restarts = 'petra_actor_restarts_total{path="petra/core/logic/faulty_gen"}'
        wait_until(lambda: scrape(port).get(restarts, 0) >= 1, timeout=15)
        up = 'petra_actor_up{path="petra/core/logic/faulty_gen"}'
        wait_until(lambda: scrape(port).get(up) == 1.0)

        # the rest of the plant never stopped: its updates kept coming through the crash
        samples = scrape(port)
        assert samples['petra_actor_restarts_total{path="petra/core/logic/healthy_gen"}'] == 0
        ticks = samples["petra_ticks_total"]
        wait_until(lambda: scrape(port)["petra_ticks_total"] >= ticks + 5)
        assert samples["process_resident_memory_bytes"] > 0
        assert 'petra_scan_duration_seconds_count' in samples
        assert 'petra_tick_lateness_seconds_bucket{le="0.001"}' in samples

        started = time.monotonic()
        assert process.terminate() == 0
        assert time.monotonic() - started < 15
    finally:
        process.kill()
    log = process.log
    assert "test fault: input reached 10" in log
    assert "received SIGTERM" in log and "stopped cleanly" in log
    assert "Traceback" not in log


def test_a_config_error_exits_non_zero_with_file_line_and_column_and_starts_nothing(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("scan_time_ms: 50\nblocks:\n  - name: a\n    type: GTE\n    inputs: {in1: x, in2: '1'}\n"
                      "    outputs: {out: y}\n")
    result = subprocess.run([*PETRA, "run", str(config), "--metrics-port", "0"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert f"{config}:4:11: blocks[0].type: unknown block type 'GTE'" in result.stderr
    assert "did you mean 'GE'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "plant running" not in result.stderr


def test_petra_check_accepts_every_shipped_config_and_the_demo(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env_for = {"MQTT_USERNAME": "u", "MQTT_PASSWORD": "p", "CLICKHOUSE_PASSWORD": "c"}
    for config in sorted((root / "configs").glob("*.yaml")):
        result = subprocess.run([*PETRA, "check", str(config)], capture_output=True, text=True, timeout=60,
                                env={**__import__("os").environ, **env_for})
        assert result.returncode == 0, f"{config.name}: {result.stderr}"
        assert "OK" in result.stdout


def test_the_embedded_demo_plant_runs_and_its_tank_level_moves(tmp_path):
    port = free_port()
    process = PetraProcess(["run", "--metrics-port", str(port), "--scan-time", "20"], tmp_path / "demo.log")
    try:
        wait_for_metrics(port, process)
        group = 'petra_signal_updates_total{group="logic/inflow_gen"}'
        wait_until(lambda: scrape(port).get(group, 0) > 20)
        assert process.terminate() == 0
    finally:
        process.kill()
    assert "Traceback" not in process.log



def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_the_metrics_endpoint_serves_scrapers_while_hundreds_of_idle_connections_cost_no_threads(tmp_path):
    process, port = start(tmp_path, {**PLANT, "blocks": PLANT["blocks"][:1]})
    crowd: list[socket.socket] = []
    try:
        first = wait_for_metrics(port, process)
        before = threads_of(process.proc.pid)
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(200)]
        for sock in crowd:
            sock.sendall(b"GET /metr")
        assert scrape(port)["petra_ticks_total"] >= first["petra_ticks_total"]
        assert threads_of(process.proc.pid) - before < 20
    finally:
        for sock in crowd:
            sock.close()
        process.terminate()
        process.kill()
