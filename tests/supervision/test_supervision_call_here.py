"""`SupervisedActor.call_here`: an idle actor's work done in the caller's thread; busy, told and kept in order."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest
from sup_helpers import Journal, Worker, sup_spec, wait_until

from supervision import ChildSpec, Inject, PooledActor


class Counter(Worker):
    """Records every value it handles, with the thread that handled it."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.allow_calls_here()
        self.seen: list[tuple[Any, str]] = []

    def take(self, value: Any) -> None:
        if value == "bug":
            raise RuntimeError("a bug in the work")
        self.seen.append((value, threading.current_thread().name))

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple) and message[0] == "take":
            return self.take(message[1])
        return super().on_receive(message)

    def offer(self, value: Any) -> bool:
        return self.call_here(lambda: self.take(value), ("take", value))


class PooledCounter(PooledActor, Counter):
    pool_name = "call-here-test"
    pool_workers = 1


def instance(journal: Journal) -> Counter:
    found = wait_until(lambda: journal.live_instances("counter"), what="a running counter")
    return found[-1]


def test_an_idle_actor_runs_the_work_in_the_callers_thread(start) -> None:
    journal = Journal()
    start(sup_spec(ChildSpec("counter", Counter, args=(journal,))))
    counter = instance(journal)
    assert counter.offer(1) is True
    assert counter.seen == [(1, threading.current_thread().name)]


def test_a_busy_actor_is_told_and_every_value_is_handled_in_order_in_its_own_thread(start) -> None:
    journal = Journal()
    start(sup_spec(ChildSpec("counter", Counter, args=(journal,))))
    counter = instance(journal)
    counter.actor_ref.tell(Inject("hang", 1.0))
    wait_until(lambda: counter.mailbox_depth() == 0, what="the hang taken")
    assert [counter.offer(value) for value in range(50)] == [False] * 50
    wait_until(lambda: len(counter.seen) == 50, what="the queued values handled")
    assert [value for value, _ in counter.seen] == list(range(50))
    assert {thread for _, thread in counter.seen} == {"root/counter"}
    assert counter.offer(50) is True  # idle again, nothing queued: here


def test_a_pooled_actor_takes_calls_here_too_and_a_fault_armed_meets_its_next_message(start) -> None:
    journal = Journal()
    tree = start(sup_spec(ChildSpec("counter", PooledCounter, args=(journal,))))
    counter = instance(journal)
    assert counter.offer(1) is True
    counter.actor_ref.ask(Inject("raise-on-next"), timeout=5)
    assert counter.offer(2) is False  # told: the armed fault is the actor's to meet
    wait_until(lambda: tree.tree().find("root/counter").restarts == 1, what="the restart")
    assert instance(journal) is not counter


def test_work_that_raises_fails_the_actor_for_its_supervisor(start) -> None:
    journal = Journal()
    tree = start(sup_spec(ChildSpec("counter", Counter, args=(journal,))))
    counter = instance(journal)
    assert counter.offer("bug") is True
    wait_until(lambda: tree.tree().find("root/counter").restarts == 1, what="the restart")
    with pytest.raises(pykka.ActorDeadError):  # the failed instance takes no more work, here or told
        counter.offer(3)
    assert counter.seen == []
    fresh = wait_until(lambda: [a for a in journal.live_instances("counter") if a is not counter], what="successor")
    fresh[-1].offer(4)  # here, or told if something of its start still waits in its inbox
    wait_until(lambda: [value for value, _ in fresh[-1].seen] == [4], what="the successor takes work")


def test_a_message_already_waiting_from_any_sender_is_never_overtaken(start) -> None:
    """The actor's lock is free but its (pooled) worker is busy elsewhere: a message told by someone else
    waits in its inbox, so a call must wait behind it rather than run first."""
    journal = Journal()
    start(sup_spec(ChildSpec("counter", PooledCounter, args=(journal,)),
                   ChildSpec("other", PooledCounter, args=(journal,))))
    counter = instance(journal)
    other = wait_until(lambda: journal.live_instances("other"), what="the other pooled actor")[-1]
    other.actor_ref.tell(Inject("hang", 1.0))  # the pool's only worker is busy with it for a second
    wait_until(lambda: other.mailbox_depth() == 0, what="the hang taken")
    counter.actor_ref.tell(("take", "told first"))
    assert counter.offer("called second") is False
    wait_until(lambda: len(counter.seen) == 2, what="both handled")
    assert [value for value, _ in counter.seen] == ["told first", "called second"]
