"""`SignalGroupActor.deliver`: a driver's batch applied in the driver's thread while the group is idle, told
(and kept in order) while it is busy."""

from __future__ import annotations

import threading

from petra.messages import SignalUpdate, UpdateSignals
from supervision import Inject
from tests.harness import RunningPlant
from tests.helpers import Announced, plant_config, wait_until


def plant() -> RunningPlant:
    return RunningPlant(plant_config({"signals": [{"name": "level", "type": "int", "group": "process"}]}))


def batch(value: int) -> UpdateSignals:
    return UpdateSignals((SignalUpdate("level", value),), "test")


def delivered_here(petra: RunningPlant, seen: Announced, first: int) -> int:
    """Deliver values from `first` until one is applied before deliver returns, in this thread; that value.
    (A supervision probe may sit in the group's inbox at that moment: then the delivery waits behind it.)"""
    deliver = petra.plant.deliver["process"]
    here = threading.current_thread().name
    for value in range(first, first + 20):
        deliver(batch(value))
        if (value, here) in seen.seen:
            return value
        wait_until(lambda value=value: petra.value("level") == value)
    raise AssertionError("20 deliveries to an idle group, none applied in the caller's thread")


def test_an_idle_group_applies_a_delivery_in_the_callers_thread_before_deliver_returns():
    with plant() as petra:
        seen = Announced(petra.plant, "level")
        value = delivered_here(petra, seen, 7)
        assert seen.seen[-1] == (value, threading.current_thread().name)


def test_a_busy_group_gets_deliveries_told_and_applies_them_in_order_after_the_ones_already_waiting():
    with plant() as petra:
        seen = Announced(petra.plant, "level")
        group = petra.lookup("petra/core/signals/process")
        deliver = petra.plant.deliver["process"]
        group.tell(Inject("hang", 2.0))  # the group's thread is busy with this message for two seconds
        wait_until(lambda: group.actor_inbox.qsize() == 0)  # it has taken the hang
        for value in range(1, 101):
            deliver(batch(value))
        assert seen.seen == []  # none applied here: they wait their turn behind the hang
        wait_until(lambda: petra.value("level") == 100)
        assert seen.values() == list(range(1, 101))
        assert seen.threads() == {"petra/core/signals/process"}
        value = delivered_here(petra, seen, 101)  # idle again: in this thread
        assert seen.seen[-1] == (value, threading.current_thread().name)


def test_a_fault_armed_on_the_group_meets_the_next_delivery_in_its_thread():
    """"raise-on-next" must crash the group on its next message; a delivery is that message, not bypassed."""
    with plant() as petra:
        group = petra.lookup("petra/core/signals/process")
        group.ask(Inject("raise-on-next"), timeout=5)
        petra.plant.deliver["process"](batch(5))
        wait_until(lambda: petra.node("petra/core/signals/process").restarts == 1)
        wait_until(lambda: "process" in petra.plant.deliver and petra.lookup("petra/core/signals/process") != group)
        petra.plant.deliver["process"](batch(6))
        wait_until(lambda: petra.value("level") == 6)
