"""A resource another process holds at start is a start-up error: one clear message, exit non-zero, no restart loop."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.control.test_control_server import UnixHTTPConnection, request
from tests.e2e.petra_process import PetraProcess, free_port
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]
"""Where PetraProcess runs petra (its working directory)."""

PLANT = {
    "node_id": "twice",
    "scan_time_ms": 50,
    "signals": [{"name": "enable", "type": "bool", "initial": True}],
    "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                "outputs": {"count_out": "count"}}],
}


def answers(sock: Path) -> bool:
    try:
        return request(UnixHTTPConnection(sock), "GET", "/v1/status")[0] == 200
    except OSError:
        return False


def tcp_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        return True


def run_twice(tmp_path: Path, first_args: list[str], second_args: list[str], plant: dict = PLANT,
              still_serving: Callable[[], bool] | None = None):
    """Start one PETRA, then a second one; the second's exit code and log, the first checked still serving."""
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(plant, sort_keys=False))
    first = PetraProcess(["run", str(config), *first_args], tmp_path / "first.log")
    second = None
    try:
        wait_until(lambda: answers(tmp_path / "first.sock") or first.proc.poll() is not None, timeout=30)
        assert first.proc.poll() is None, first.log
        second = PetraProcess(["run", str(config), *second_args], tmp_path / "second.log")
        code = second.proc.wait(60)
        assert answers(tmp_path / "first.sock")  # the first one keeps serving
        assert still_serving is None or still_serving()
        return code, second.log
    finally:
        if second is not None:
            second.kill()
        assert first.terminate() == 0


def test_a_second_petra_on_the_same_control_socket_exits_non_zero_with_one_clear_message(tmp_path):
    sock = str(tmp_path / "first.sock")
    code, log = run_twice(tmp_path, ["--metrics-port", "0", "--control-socket", sock],
                          ["--metrics-port", "0", "--control-socket", sock])
    assert code != 0
    assert log.count(f"start-up failed: petra/services/control: OSError: control socket {sock} is in use: "
                     "is another PETRA running?") == 1
    assert "gave up" not in log and "restarted" not in log and "Traceback" not in log


def test_a_second_petra_on_the_same_metrics_port_exits_non_zero_and_names_the_port(tmp_path):
    port = str(free_port())
    code, log = run_twice(tmp_path, ["--metrics-port", port, "--control-socket", str(tmp_path / "first.sock")],
                          ["--metrics-port", port, "--control-socket", str(tmp_path / "second.sock")])
    assert code != 0
    assert log.count(f"start-up failed: petra/services/metrics: OSError: metrics port 127.0.0.1:{port} is in use") == 1
    assert "gave up" not in log and "Traceback" not in log
    assert not (tmp_path / "second.sock").exists()  # what the second one had bound, it released


def test_a_second_petra_on_the_same_control_tcp_port_exits_non_zero_and_names_the_port(tmp_path):
    port = free_port()
    plant = dict(PLANT, control={"tcp": {"port": port, "tokens": ["t0ken"]}})
    code, log = run_twice(tmp_path, ["--metrics-port", "0", "--control-socket", str(tmp_path / "first.sock")],
                          ["--metrics-port", "0", "--control-socket", str(tmp_path / "second.sock")], plant,
                          lambda: tcp_answers(port))
    assert code != 0
    assert log.count(f"start-up failed: petra/services/control: OSError: control API port 127.0.0.1:{port} is in use: "
                     "is another PETRA running?") == 1
    assert "gave up" not in log and "restarted" not in log and "Traceback" not in log


def test_a_second_petra_on_the_same_wal_exits_non_zero_and_the_first_keeps_recording(tmp_path):
    storage = {"wal": {"wal_dir": str(tmp_path / "wal")}, "local": {"data_dir": str(tmp_path / "local")}}
    code, log = run_twice(tmp_path, ["--metrics-port", "0", "--control-socket", str(tmp_path / "first.sock")],
                          ["--metrics-port", "0", "--control-socket", str(tmp_path / "second.sock")],
                          dict(PLANT, storage=storage))
    assert code != 0
    assert log.count(f"start-up failed: petra/storage/wal: StoreInUse: WAL at {tmp_path / 'wal'} is in use by "
                     "pid ") == 1
    assert "gave up" not in log and "restarted" not in log and "Traceback" not in log


def hint_line(tmp_path: Path, path_env: str) -> str:
    sock = tmp_path / "hint.sock"
    process = PetraProcess(["run", "--metrics-port", "0", "--control-socket", str(sock)], tmp_path / "hint.log",
                           env={"PATH": path_env})
    try:
        return wait_until(lambda: next((line for line in process.log.splitlines() if "operate it:" in line), None),
                          timeout=30)
    finally:
        assert process.terminate() == 0


def test_the_start_up_hint_names_petra_ctl_the_way_this_shell_can_run_it(tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    outside = hint_line(tmp_path, "/usr/bin:/bin")
    assert f"operate it: {os.path.relpath(Path(venv_bin) / 'petra-ctl', REPO)} --socket " in outside
    inside = hint_line(tmp_path, f"{venv_bin}:/usr/bin:/bin")
    assert "operate it: petra-ctl --socket " in inside


def test_a_second_petra_on_the_same_alarm_state_exits_non_zero_and_names_the_store(tmp_path):
    state_dir = tmp_path / "alarm-state"
    plant = dict(PLANT, alarms={"state_dir": str(state_dir), "contacts": [], "escalation_chains": {}, "alarms": [
        {"id": "count_high", "name": "Count high", "signal": "count", "condition": "above", "setpoint": 1e9,
         "severity": "info"}]})
    code, log = run_twice(tmp_path, ["--metrics-port", "0", "--control-socket", str(tmp_path / "first.sock")],
                          ["--metrics-port", "0", "--control-socket", str(tmp_path / "second.sock")], plant)
    assert code != 0
    assert log.count("start-up failed: ") == 1 and "is in use by pid " in log and str(state_dir) in log
    assert "gave up" not in log and "restarted" not in log and "Traceback" not in log
