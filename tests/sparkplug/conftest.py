"""Fixtures of the Sparkplug tests: the session's Mosquitto, a test host application, plants to stop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import RunningPlant
from tests.peers.mosquitto import Mosquitto, mosquitto  # noqa: F401  (fixture)
from tests.sparkplug.host import SparkplugHost


@pytest.fixture
def plants() -> Iterator[list[RunningPlant]]:
    started: list[RunningPlant] = []
    yield started
    for plant in started:
        plant.stop()


@pytest.fixture
def host(mosquitto: Mosquitto, request: pytest.FixtureRequest) -> Iterator[SparkplugHost]:  # noqa: F811
    client = SparkplugHost(mosquitto.port, mosquitto.username, mosquitto.password, host_id="scada",
                           client_id=f"host-{abs(hash(request.node.nodeid))}")
    yield client
    client.clear_state()
    client.close()


def section(broker: Mosquitto, state_dir: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"broker_host": "127.0.0.1", "broker_port": broker.port, "username": broker.username,
                            "password": broker.password, "group_id": "plant", "state_dir": str(state_dir),
                            "reconnect_max_s": 0.5}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
