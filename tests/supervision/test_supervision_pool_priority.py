"""A pool's ready actors are served by `pool_priority`: smaller first, equal ones first come, first served."""

from __future__ import annotations

import threading
from typing import Any

from sup_helpers import FAST_BACKOFF, wait_until

from supervision import ChildSpec, PooledActor, Strategy, SupervisorSpec


class Ranked(PooledActor):
    pool_name = "test-priority-pool"
    pool_workers = 1

    def __init__(self, priority: int, order: list[str], gate: threading.Event, holding: threading.Event) -> None:
        super().__init__()
        self.pool_priority = priority
        self.order = order
        self.gate = gate
        self.holding = holding

    def on_receive(self, message: Any) -> Any:
        if message == "hold":
            self.holding.set()
            self.gate.wait(10)
            return None
        self.order.append(self.child_id)
        return None


def test_the_one_worker_takes_the_most_urgent_ready_actor_first_and_equal_ones_in_arrival_order(start):
    order: list[str] = []
    gate, holding = threading.Event(), threading.Event()
    names = {"blocker": 50, "late_low": 90, "first_mid": 50, "urgent": 1, "second_mid": 50}
    tree = start(SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=5, period=10.0, backoff=FAST_BACKOFF,
                                children=tuple(ChildSpec(n, Ranked, kwargs={"priority": p, "order": order,
                                                                              "gate": gate, "holding": holding})
                                               for n, p in names.items())))
    refs = {n: tree.lookup(f"root/{n}") for n in names}
    for ref in refs.values():
        ref.ask("ping?", timeout=5)  # all started, idle
    order.clear()
    refs["blocker"].tell("hold")  # the only worker is busy until the gate opens
    assert holding.wait(5)
    for name in ("late_low", "first_mid", "urgent", "second_mid"):
        refs[name].tell("run")
    gate.set()
    wait_until(lambda: len(order) == 4, what="all four ran")
    assert order == ["urgent", "first_mid", "second_mid", "late_low"]
