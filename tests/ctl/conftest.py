"""One real PETRA for the whole petra-ctl suite, and a helper that runs petra-ctl as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.e2e.petra_process import PetraProcess
from tests.helpers import wait_until

PLANT = {
    "node_id": "ctl-test",
    "scan_time_ms": 50,
    "signals": [
        {"name": "enable", "type": "bool", "initial": True},
        {"name": "threshold", "type": "float", "initial": 0.5, "unit": "V", "description": "trip level"},
    ],
    "blocks": [
        {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"sine_out": "wave", "count_out": "ticks"}},
        {"name": "above", "type": "GT", "inputs": {"in1": "wave", "in2": "threshold"}, "outputs": {"out": "wave_high"}},
        {"name": "victim", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "victim_count"}},
        {"name": "spare", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "spare_count"}},
    ],
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Ctl:
    """Runs `python -m petra.ctl --socket SOCKET ...` against the suite's PETRA."""

    socket: Path
    config: Path

    def __call__(self, *args: str, socket: Path | None = None, timeout: float = 30.0) -> Result:
        env = {**os.environ, "COLUMNS": "200"}
        env.pop("PETRA_SOCKET", None)
        proc = subprocess.run(
            [sys.executable, "-m", "petra.ctl", "--socket", str(socket or self.socket), *args],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=Path(__file__).resolve().parents[2],
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def ctl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctl]:
    tmp = tmp_path_factory.mktemp("ctl")
    config = tmp / "plant.yaml"
    config.write_text(yaml.safe_dump(PLANT, sort_keys=False))
    sock = tmp / "ctl.sock"
    process = PetraProcess(["run", str(config), "--metrics-port", "0", "--control-socket", str(sock),
                            "--scan-time", "20"], tmp / "petra.log")
    try:
        def up() -> bool:
            if process.proc.poll() is not None:
                raise AssertionError(f"petra exited with {process.proc.returncode}:\n{process.log}")
            return sock.exists()

        wait_until(up, timeout=20)
        client = Ctl(sock, config)
        wait_until(lambda: client("status").code == 0, timeout=10, interval=0.1)
        yield client
    finally:
        process.terminate()
        process.kill()
