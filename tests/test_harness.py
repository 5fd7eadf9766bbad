"""tests/harness.py's RunningPlant: what every in-process test plant gets without asking."""

from __future__ import annotations

from tests.harness import RunningPlant, scrape

PLANT = {"signals": [{"name": "level", "type": "float", "initial": 1.5}]}


def test_a_running_plant_has_a_control_socket_of_its_own_and_no_metrics_endpoint() -> None:
    with RunningPlant(PLANT) as first, RunningPlant(PLANT) as second:
        sockets = {plant.runtime.options.control_socket for plant in (first, second)}
        assert len(sockets) == 2 and all(path is not None and path.exists() for path in sockets)
        assert first.runtime.metrics_port is None and not first.runtime.options.gc_freeze
        assert first.value("level") == 1.5
    assert not any(path.exists() for path in sockets if path is not None)  # its temporary directory is gone


def test_metrics_when_asked_are_served_on_a_port_of_their_own() -> None:
    with RunningPlant(PLANT, metrics=True) as plant:
        port = plant.runtime.metrics_port
        assert port and "petra_ticks_total" in " ".join(scrape(port))


def test_writes_reach_the_signal_table_and_the_tree_answers_by_path() -> None:
    with RunningPlant(PLANT) as plant:
        plant.write("default", level=2.5)
        assert plant.value("level") == 2.5
        assert plant.node("petra/core/signals/default").state == "running"
        assert plant.lookup("petra/core/signals/default") is not None
