"""A change published while the alarm router was not subscribed is not lost: the router evaluates on start."""

from __future__ import annotations

from petra.alarms.router_actor import AlarmRouter
from supervision import ChildSpec
from tests.alarms.support import alarm, plant_data, start_plant


def test_a_change_made_while_the_router_was_not_subscribed_reaches_its_alarm_when_the_router_starts(
        tmp_path, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")]))
    tree = plant.runtime.tree
    assert tree is not None
    tree.remove_child("petra/alarms/alarm-router")
    plant.write(temperature=95.0)  # nobody routes this change: as in the gap between the alarms' start and the router's
    assert plant.view("temp_high")["state"] == "normal"
    tree.add_child("petra/alarms", ChildSpec("alarm-router", AlarmRouter, kwargs={"service": plant.service}))
    plant.wait_state("temp_high", "active_unacked", timeout=5)
