"""supervision's one timer thread: what used to be a thread per supervisor, back-off and pool monitor."""

from __future__ import annotations

import threading

from supervision import (
    TIMER_THREAD,
    ChildSpec,
    SupervisedActor,
    Supervisor,
    SupervisorSpec,
    call_every,
    call_later,
    start_tree,
)
from tests.helpers import wait_until


def timer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == TIMER_THREAD and t.is_alive()]


def test_a_call_later_runs_once_in_the_timer_thread() -> None:
    ran: list[str] = []
    done = threading.Event()

    def fn() -> None:
        ran.append(threading.current_thread().name)
        done.set()

    call_later(0.01, fn)
    assert done.wait(5)
    wait_until(lambda: not timer_threads())  # nothing left scheduled: the thread ended
    assert ran == [TIMER_THREAD]


def test_a_cancelled_call_never_runs_and_the_thread_ends() -> None:
    fired = threading.Event()
    later = call_later(0.2, fired.set)
    later.cancel()
    later.cancel()  # idempotent
    wait_until(lambda: not timer_threads())
    assert not fired.wait(0.4)


def test_calls_run_in_due_order_whatever_order_they_were_scheduled_in() -> None:
    order: list[int] = []
    done = threading.Event()
    call_later(0.15, lambda: (order.append(3), done.set()))
    call_later(0.05, lambda: order.append(1))
    call_later(0.10, lambda: order.append(2))
    assert done.wait(5)
    assert order == [1, 2, 3]


def test_a_periodic_call_repeats_until_cancelled_and_one_that_raises_keeps_its_schedule() -> None:
    count = 0
    third = threading.Event()

    def fn() -> None:
        nonlocal count
        count += 1
        if count == 3:
            third.set()
        raise RuntimeError("a failing callback is logged, not fatal")

    every = call_every(0.01, fn)
    assert third.wait(5)
    every.cancel()
    wait_until(lambda: not timer_threads())  # the thread ended: nothing can call fn again
    assert count >= 3


class Quiet(SupervisedActor):
    """A worker that does nothing."""


def test_a_tree_of_supervisors_shares_one_timer_thread_and_leaves_none_behind() -> None:
    leaf = SupervisorSpec(children=(ChildSpec("w", Quiet),), probe_interval=0.05)
    spec = SupervisorSpec(
        children=tuple(ChildSpec(f"sup{i}", Supervisor, kwargs={"spec": leaf}) for i in range(4)), probe_interval=0.05
    )
    tree = start_tree(spec, name="t")
    try:
        names = [t.name for t in threading.enumerate()]
        assert not [n for n in names if n.startswith("probe-ticker")]
        assert names.count(TIMER_THREAD) == 1
        assert "t/sup0/w" in names  # a supervised actor's thread carries its path
    finally:
        tree.stop()
    wait_until(lambda: not timer_threads())


def test_a_restart_back_off_is_timed_by_the_shared_timer() -> None:
    leaf = ChildSpec("w", Quiet)
    spec = SupervisorSpec(children=(leaf,), probe_interval=None)
    tree = start_tree(spec, name="b")
    try:
        ref = tree.lookup("b/w")
        assert ref is not None
        ref.proxy().inject("crash")
        wait_until(lambda: (r := tree.lookup("b/w")) is not None and r != ref)
    finally:
        tree.stop()
    wait_until(lambda: not timer_threads())
