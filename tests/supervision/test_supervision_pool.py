"""Pooled actors: many supervised actors on a few shared threads."""

from __future__ import annotations

import threading
from typing import Any

from sup_helpers import FAST_BACKOFF, Journal, wait_until

from supervision import ActorPool, ChildSpec, PooledActor, Strategy, SupervisorSpec


class PooledWorker(PooledActor):
    pool_name = "test-pool"
    pool_workers = 2

    def __init__(self, journal: Journal, seen: list | None = None) -> None:
        super().__init__()
        self.journal = journal
        self.seen = seen if seen is not None else []

    def on_start(self) -> None:
        self.journal.started(self)

    def on_stop(self) -> None:
        self.journal.add("stop", self.child_id)

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        self.seen.append(message)
        return ("ok", message, threading.current_thread().name)


def spec(children, **kw) -> SupervisorSpec:
    return SupervisorSpec(strategy=Strategy.ONE_FOR_ONE, max_restarts=50, period=10.0, backoff=FAST_BACKOFF,
                          probe_interval=0.05, probe_timeout=0.3, children=tuple(children), **kw)


def test_many_pooled_actors_run_on_the_pool_threads_not_one_thread_each(start):
    journal = Journal()
    before = threading.active_count()
    tree = start(spec([ChildSpec(f"w{i}", PooledWorker, kwargs={"journal": journal}) for i in range(200)]))
    answers = [tree.lookup(f"root/w{i}").ask(i, timeout=5) for i in range(200)]
    assert [a[1] for a in answers] == list(range(200))
    assert {a[2] for a in answers} <= {f"pool-test-pool-{n}" for n in range(1, 10)}
    assert threading.active_count() - before < 20


def test_a_pooled_actor_handles_its_messages_one_at_a_time_in_order(start):
    journal = Journal()
    seen: list[int] = []
    tree = start(spec([ChildSpec("w", PooledWorker, kwargs={"journal": journal, "seen": seen})]))
    ref = tree.lookup("root/w")
    for i in range(500):
        ref.tell(i)
    assert ref.ask("last", timeout=5)[1] == "last"
    assert seen[:500] == list(range(500))


def test_a_crash_in_a_told_message_restarts_only_that_pooled_actor(start):
    journal = Journal()
    tree = start(spec([ChildSpec(n, PooledWorker, kwargs={"journal": journal}) for n in ("a", "b")]))
    tree.lookup("root/a").tell("boom")
    wait_until(lambda: journal.count("start", "a") == 2, what="a restarted")
    assert journal.count("start", "b") == 1
    # on_start runs before the supervisor records the successor's ref: wait for the record too
    wait_until(lambda: tree.lookup("root/a") is not None, what="a registered again")
    assert tree.lookup("root/a").ask("hi", timeout=5)[1] == "hi"
    node = next(n for n in tree.tree().walk() if n.path == "root/a")
    assert node.restarts == 1 and "boom" in (node.last_error or "")


def test_an_ask_failure_goes_back_to_the_caller_and_the_pooled_actor_lives_on(start):
    journal = Journal()
    tree = start(spec([ChildSpec("a", PooledWorker, kwargs={"journal": journal})]))
    ref = tree.lookup("root/a")
    try:
        ref.ask("boom", timeout=5)
    except ValueError:
        pass
    else:
        raise AssertionError("expected the ask to raise")
    assert ref.ask("still here", timeout=5)[1] == "still here"
    assert journal.count("start", "a") == 1


def test_a_hung_pooled_actor_is_replaced_and_its_stuck_worker_too(start):
    journal = Journal()
    pool = ActorPool.named("test-pool")
    stuck_before = pool.stuck_workers
    pool.stuck_after_s = 0.5
    try:
        tree = start(spec([ChildSpec(n, PooledWorker, kwargs={"journal": journal}) for n in ("hang", "ok")]))
        tree.lookup("root/hang").proxy().inject("hang", 30)
        wait_until(lambda: journal.count("start", "hang") == 2, timeout=5, what="hung actor replaced")
        wait_until(lambda: pool.stuck_workers > stuck_before, timeout=5, what="stuck worker retired")
        # the rest keeps running on the pool
        for _ in range(20):
            assert tree.lookup("root/ok").ask("ping", timeout=2)[1] == "ping"
        assert tree.lookup("root/hang").ask("ping", timeout=2)[1] == "ping"
        node = next(n for n in tree.tree().walk() if n.path == "root/hang")
        assert node.hung >= 1
    finally:
        pool.stuck_after_s = 2.0


def test_a_failing_on_start_of_a_pooled_actor_is_reported_and_retried(start):
    attempts = []

    class FlakyStart(PooledWorker):
        def on_start(self) -> None:
            attempts.append(1)
            if len(attempts) < 3:
                raise RuntimeError("not yet")
            super().on_start()

    journal = Journal()
    tree = start(spec([ChildSpec("f", FlakyStart, kwargs={"journal": journal})]))
    assert tree.lookup("root/f").ask("x", timeout=5)[1] == "x"
    assert len(attempts) == 3
