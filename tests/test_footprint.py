"""`petra run` loads only what its config uses, and every thread it runs is named and registered.

Each test starts a real `petra run` subprocess, waits for the READY=1 it sends
over NOTIFY_SOCKET (a datagram socket the test binds), and asks the process
itself through the control API: `GET /v1/status`'s `process` lists the
optional libraries in its `sys.modules` and the census of its threads
(`petra.threads`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from petra.ctl.client import UnixHTTPConnection
from petra.threads import LIBRARIES
from tests.harness import PetraSubprocess, free_port

READY_TIMEOUT_S = 60.0


class Running:
    """A `petra run` subprocess that has sent READY=1."""

    def __init__(self, tmp: Path, config: dict[str, Any] | None) -> None:
        self.control = tmp / "control.sock"
        args = ["run"]
        if config is not None:
            path = tmp / "plant.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            args.append(str(path))
        args += ["--control-socket", str(self.control), "--metrics-port", str(free_port()),
                 "--web-port", str(free_port())]
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(tmp / "notify.sock"))
        self.notify.settimeout(READY_TIMEOUT_S)
        self.process = PetraSubprocess(args, tmp / "petra.log", env={"NOTIFY_SOCKET": str(tmp / "notify.sock")})
        try:
            while b"READY=1" not in self.notify.recv(4096).split(b"\n"):
                pass
        except TimeoutError:
            self.stop()
            raise AssertionError(f"no READY=1 within {READY_TIMEOUT_S:g} s:\n{self.process.log}") from None

    def status(self) -> dict[str, Any]:
        conn = UnixHTTPConnection(str(self.control), timeout=30)
        try:
            conn.request("GET", "/v1/status")
            response = conn.getresponse()
            assert response.status == 200
            body: dict[str, Any] = json.loads(response.read())
            return body
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            assert self.process.terminate() == 0, self.process.log
        finally:
            self.notify.close()


@pytest.fixture
def run_plant(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(config: dict[str, Any] | None) -> Running:
        started.append(Running(tmp_path, config))
        return started[-1]

    yield start
    for plant in started:
        plant.stop()


def loaded(plant: Running) -> set[str]:
    libraries = set(plant.status()["process"]["libraries"])
    assert libraries <= set(LIBRARIES)
    return libraries


SIGNALS = [{"name": "a", "type": "float"}, {"name": "b", "type": "bool"}]


def test_the_demo_plant_loads_none_of_the_optional_libraries(run_plant) -> None:
    assert loaded(run_plant(None)) == set()


def test_every_thread_of_the_demo_plant_is_named_and_says_why_it_exists(run_plant) -> None:
    process = run_plant(None).status()["process"]
    unregistered = [row["name"] for row in process["threads"] if row["owner"] is None or not row["purpose"]]
    assert not unregistered, f"threads without an owner and purpose in petra.threads: {unregistered}"
    names = [row["name"] for row in process["threads"]]
    assert not any(name.startswith("probe-ticker") for name in names), names  # one timer thread for the tree
    assert names.count("supervision-timer") == 1
    assert "petra/core/clock" in names  # an actor's thread is named after its path
    assert process["native_threads"] == 0, "a library started threads Python does not know of"


def test_a_plant_with_only_mqtt_loads_paho_and_nothing_else(run_plant) -> None:
    plant = run_plant({"signals": SIGNALS, "mqtt": {"broker_host": "127.0.0.1", "broker_port": free_port(),
                                                     "topic_prefix": "plant"}})
    assert loaded(plant) == {"paho"}


def test_a_plant_with_history_loads_pyarrow_and_lmdb_but_no_driver_library(run_plant, tmp_path) -> None:
    plant = run_plant({"signals": SIGNALS, "storage": {
        "strategy": "local_first",
        "local": {"data_dir": str(tmp_path / "history")},
        "wal": {"wal_dir": str(tmp_path / "wal")},
    }})
    libraries = loaded(plant)
    assert {"pyarrow", "lmdb"} <= libraries
    assert not libraries & {"paho", "snap7", "pymodbus", "asyncua", "clickhouse_driver", "twilio", "boto3"}


def test_a_plant_with_only_an_s7_plc_loads_snap7_and_nothing_else(run_plant) -> None:
    plant = run_plant({"signals": SIGNALS, "s7": [{
        "name": "plc", "ip": "127.0.0.1", "port": free_port(), "rack": 0, "slot": 1,
        "mappings": [{"signal": "a", "area": "DB", "db_number": 1, "address": 0, "data_type": "real"}],
    }]})
    assert loaded(plant) == {"snap7"}


def test_a_plant_with_only_a_modbus_device_loads_pymodbus_and_nothing_else(run_plant) -> None:
    plant = run_plant({"signals": SIGNALS, "modbus": [{
        "name": "meter", "transport": "tcp", "host": "127.0.0.1", "port": free_port(),
        "mappings": [{"signal": "a", "unit_id": 1, "table": "holding_register", "address": 0,
                      "data_type": "float32"}],
    }]})
    assert loaded(plant) == {"pymodbus"}
