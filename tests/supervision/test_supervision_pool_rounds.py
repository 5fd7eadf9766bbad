"""`ActorPool.deliver`: one message to many pooled actors as one job of their pool (a tick to a task's chains)."""

from __future__ import annotations

import threading
from typing import Any

from sup_helpers import FAST_BACKOFF, Journal, wait_until

from supervision import ActorPool, ChildSpec, PooledActor, Strategy, SupervisorSpec


class Member(PooledActor):
    """Records what it handled and in which thread; some messages block or raise."""

    pool_name = "test-round-pool"
    pool_workers = 2

    def __init__(self, journal: Journal, seen: list, gate: threading.Event, priority: int = 50) -> None:
        super().__init__()
        self.journal = journal
        self.seen = seen
        self.gate = gate
        self.pool_priority = priority
        self.inside = 0
        self.overlapped = False

    def on_start(self) -> None:
        self.journal.started(self)

    def on_receive(self, message: Any) -> Any:
        self.inside += 1
        self.overlapped |= self.inside > 1
        try:
            if message == ("hold", self.child_id):
                self.journal.add("holding", self.child_id)
                self.gate.wait(30)
                return None
            if message == ("boom", self.child_id):
                raise ValueError("boom")
            if isinstance(message, tuple) and message[0] == "wake":
                for actor in message[1]:
                    actor.actor_ref.tell("urgent")
            self.seen.append((self.child_id, message, threading.current_thread().name))
            return None
        finally:
            self.inside -= 1


class LoneMember(Member):
    """On a pool of one worker: what runs next is the pool's choice alone."""

    pool_name = "test-round-pool-one"
    pool_workers = 1


def _spec(children) -> SupervisorSpec:
    return SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=50, period=10.0, backoff=FAST_BACKOFF,
                          probe_interval=0.05, probe_timeout=0.3, children=tuple(children))


def _members(start, names: list[str], priorities: dict[str, int] | None = None, kind: type[Member] = Member):
    journal, seen, gate = Journal(), [], threading.Event()
    tree = start(_spec(ChildSpec(n, kind, kwargs={"journal": journal, "seen": seen, "gate": gate,
                                                    "priority": (priorities or {}).get(n, 50)})
                       for n in names))
    for n in names:
        tree.lookup(f"root/{n}").ask("started?", timeout=5)  # started and idle
    seen.clear()
    actors = {a.child_id: a for a in journal.instances}
    return tree, journal, seen, gate, actors


def _of(seen: list, message: object) -> list[str]:
    return [child for child, m, _thread in seen if m == message]


def test_a_round_gives_each_idle_actor_the_message_once_in_order_in_one_worker(start):
    names = [f"m{i}" for i in range(30)]
    _tree, _journal, seen, _gate, actors = _members(start, names)
    ActorPool.named("test-round-pool").deliver([actors[n] for n in names], "tick")
    wait_until(lambda: len(_of(seen, "tick")) == 30, what="all thirty handled the tick")
    assert _of(seen, "tick") == names
    assert len({thread for _c, m, thread in seen if m == "tick"}) == 1  # one job, not thirty slices


def test_a_busy_actor_gets_the_message_after_the_one_it_is_handling_never_beside_it(start):
    names = ["a", "b", "c"]
    _tree, journal, seen, gate, actors = _members(start, names)
    actors["b"].actor_ref.tell(("hold", "b"))
    wait_until(lambda: journal.count("holding", "b") == 1, what="b holding")
    ActorPool.named("test-round-pool").deliver([actors[n] for n in names], "tick")
    wait_until(lambda: _of(seen, "tick") == ["a", "c"], what="the idle ones handled it")
    gate.set()
    wait_until(lambda: _of(seen, "tick") == ["a", "c", "b"], what="b handled it after its hold")
    assert not any(a.overlapped for a in actors.values())


def test_an_error_in_a_delivered_message_fails_that_actor_only_and_the_round_goes_on(start):
    names = ["a", "b", "c"]
    _tree, journal, seen, _gate, actors = _members(start, names)
    pool = ActorPool.named("test-round-pool")
    pool.deliver([actors[n] for n in names], ("boom", "b"))
    wait_until(lambda: journal.count("start", "b") == 2, what="b restarted by its supervisor")
    assert _of(seen, ("boom", "b")) == ["a", "c"]
    assert journal.count("start", "a") == journal.count("start", "c") == 1


def test_an_armed_fault_meets_the_delivered_message_as_it_would_a_told_one(start):
    names = ["a", "b"]
    tree, journal, seen, _gate, actors = _members(start, names)
    tree.lookup("root/b").proxy().inject("raise-on-next").get(timeout=5)
    ActorPool.named("test-round-pool").deliver([actors[n] for n in names], "tick")
    wait_until(lambda: journal.count("start", "b") == 2, what="b failed on the tick and was restarted")
    assert _of(seen, "tick") == ["a"]


def test_a_round_gives_way_to_a_more_urgent_actor_between_two_of_its_own(start):
    names = ["low1", "low2", "low3", "urgent"]
    _tree, _journal, seen, _gate, actors = _members(start, names, {"urgent": 1, "low1": 90, "low2": 90, "low3": 90},
                                                    kind=LoneMember)
    pool = ActorPool.named("test-round-pool-one")
    pool.deliver([actors["low1"], actors["low2"], actors["low3"]], ("wake", [actors["urgent"]]))
    wait_until(lambda: len(seen) == 6, what="the round and the three urgent messages handled")
    assert [child for child, _m, _t in seen] == ["low1", "urgent", "low2", "urgent", "low3", "urgent"]


def test_a_round_whose_worker_hangs_goes_on_in_the_replacement_from_the_next_actor(start, caplog):
    pool = ActorPool.named("test-round-pool")
    stuck_before = pool.stuck_workers
    pool.stuck_after_s = 0.5
    try:
        names = ["a", "hang", "c", "d"]
        _tree, journal, seen, gate, actors = _members(start, names)
        pool.deliver([actors[n] for n in names], ("hold", "hang"))
        wait_until(lambda: journal.count("holding", "hang") == 1, what="hang holding")
        wait_until(lambda: pool.stuck_workers > stuck_before, timeout=10, what="stuck worker retired")
        wait_until(lambda: _of(seen, ("hold", "hang")) == ["a", "c", "d"], timeout=10,
                   what="the rest of the round delivered by the replacement")
        gate.set()
        assert "worker stuck in a round of 4 (at root/hang)" in caplog.text  # the log names the culprit
    finally:
        pool.stuck_after_s = 2.0
