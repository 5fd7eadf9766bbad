from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from petra.config.loader import load_config
from petra.runtime import Runtime
from tests.harness import RunningPlant, free_port
from tests.peers.certificates import self_signed

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
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path,
                      audit_log=tmp_path / "audit.log") as plant:
        yield plant.runtime


def start_tls_runtime(tmp_path: Path, **plant_extra: object) -> tuple[Runtime, int, Path]:
    """A runtime whose control API also listens on TCP with TLS and the token `ops` = s3cret."""
    cert, key = self_signed(tmp_path)
    port = free_port()
    plant = dict(PLANT, control={"tcp": {"host": "127.0.0.1", "port": port, "cert_file": str(cert),
                                         "key_file": str(key), "tokens": [{"name": "ops", "token": "s3cret"}]}},
                 **plant_extra)
    config_path = write_config(tmp_path / "plant.yaml", plant)
    running = RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                           audit_log=tmp_path / "audit.log").start()
    return running.runtime, port, cert


@pytest.fixture
def tls_runtime(tmp_path: Path):
    runtime, port, cert = start_tls_runtime(tmp_path)
    yield runtime, port, cert
    runtime.stop(timeout=10)
