from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from petra.config.loader import load_config
from petra.runtime import Runtime, RuntimeOptions

PLANT = {
    "node_id": "ctl-test",
    "scan_time_ms": 20,
    "signals": [
        {"name": "setpoint", "type": "float", "initial": 50.0, "unit": "°C"},
        {"name": "locked", "type": "float", "initial": 1.0, "writable": False},
        {"name": "enable", "type": "bool", "initial": True},
    ],
    "blocks": [
        {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "count", "sine_out": "wave"}},
        {"name": "high", "type": "GT", "inputs": {"in1": "wave", "in2": "0.5"}, "outputs": {"out": "wave_high"}},
        {"name": "sp_check", "type": "GT", "inputs": {"in1": "setpoint", "in2": "60.0"}, "outputs": {"out": "sp_high"}},
    ],
}


def write_config(path: Path, plant: dict) -> Path:
    path.write_text(yaml.safe_dump(plant, sort_keys=False))
    return path


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Runtime]:
    """A real runtime with its control API on a socket in tmp_path and an audit trail."""
    config_path = write_config(tmp_path / "plant.yaml", PLANT)
    options = RuntimeOptions(
        metrics_port=None, config_path=config_path, control_socket=tmp_path / "ctl.sock",
        audit_log=tmp_path / "audit.log",
    )
    runtime = Runtime.from_config(load_config(config_path), options)
    runtime.start()
    yield runtime
    runtime.stop(timeout=10)
