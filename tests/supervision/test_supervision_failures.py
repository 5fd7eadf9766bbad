"""Failed starts, back-off, restart intensity and escalation, hung children."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sup_helpers import FAST_BACKOFF, Events, FlakyStart, Journal, SlowStart, sup_spec, wait_until, worker

from supervision import (
    BackoffPolicy,
    ChildSpec,
    EventKind,
    Inject,
    StartError,
    Supervisor,
    SupervisorEvent,
)


def test_failing_on_start_is_detected_and_retried_until_it_starts(start) -> None:
    journal = Journal()
    spec = ChildSpec("plc", FlakyStart, args=(journal, [3]))
    tree = start(sup_spec(spec, worker("after", journal)))
    # start_tree returned only once everything was up.
    assert journal.count("attempt", "plc") == 4
    assert journal.count("start", "plc") == 1
    node = tree.tree().find("root/plc")
    assert node.state == "running"
    assert node.restarts == 3
    assert node.last_error == "ConnectionError: plc unreachable"


def test_start_that_outlasts_start_timeout_counts_as_a_failure(start) -> None:
    journal = Journal()
    release = threading.Event()
    events = Events()

    def release_after_the_first_failure(event: SupervisorEvent) -> None:
        if event.kind is EventKind.FAILED and event.path == "root/slow":
            release.set()

    spec = ChildSpec("slow", SlowStart, args=(journal, release))
    # The tree's own start budget (0.1 s per step) is not what this test is about: on a
    # loaded machine the bookkeeping after a timed-out start can outlast it.
    tree = start(sup_spec(spec, start_timeout=0.1), listeners=[events, release_after_the_first_failure],
                 timeout=30.0)
    failures = events.of(EventKind.FAILED, "root/slow")
    assert failures and "did not start within 0.1 s" in failures[0].error
    assert tree.tree().find("root/slow").state == "running"


def test_later_children_wait_for_a_failed_start_under_rest_for_one(start) -> None:
    from supervision import Strategy

    journal = Journal()
    spec = ChildSpec("wal", FlakyStart, args=(journal, [2]))
    start(sup_spec(spec, worker("clock", journal), strategy=Strategy.REST_FOR_ONE))
    events = journal.events()
    assert events.index(("start", "wal")) < events.index(("start", "clock"))
    assert journal.count("start", "clock") == 1


def test_restart_is_not_attempted_before_the_backoff_delay(start) -> None:
    journal = Journal()
    backoff = BackoffPolicy(initial=0.3, maximum=1.0, jitter=0.0)
    tree = start(sup_spec(worker("a", journal), backoff=backoff))
    crashed_at = time.monotonic()
    tree.lookup("root/a").tell(Inject("crash"))
    wait_until(lambda: tree.tree().find("root/a").state == "restarting", what="a waiting to restart")
    wait_until(lambda: journal.count("start", "a") == 2, what="a restarted")
    assert time.monotonic() - crashed_at >= 0.3


def test_consecutive_failures_make_the_restart_delay_grow(start) -> None:
    journal = Journal()
    backoff = BackoffPolicy(initial=0.05, maximum=2.0, multiplier=2.0, jitter=0.0)
    spec = ChildSpec("plc", FlakyStart, args=(journal, [0]))
    tree = start(sup_spec(spec, backoff=backoff))
    failures_left = journal.instances[0].failures_left
    failures_left[0] = 3  # the next three restarts fail too
    stamps: list[float] = []
    original_add = journal.add

    def stamped_add(event: str, child_id: str) -> None:
        if event == "attempt":
            stamps.append(time.monotonic())
        original_add(event, child_id)

    journal.add = stamped_add  # type: ignore[method-assign]
    crashed_at = time.monotonic()
    tree.lookup("root/plc").tell(Inject("crash"))
    wait_until(
        lambda: len(stamps) == 4 and tree.tree().find("root/plc").state == "running", what="4 attempts"
    )
    gaps = [b - a for a, b in zip([crashed_at, *stamps], stamps, strict=False)]
    # Expected waits 0.05, 0.1, 0.2, 0.4; allow scheduling slack above, none below.
    for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.4], strict=True):
        assert gap >= expected * 0.95


def test_backoff_resets_after_the_child_stayed_up_long_enough(start) -> None:
    journal = Journal()
    # Without the reset the second restart would wait 1 s and the third 60 s: far beyond wait_until's 5 s.
    backoff = BackoffPolicy(initial=0.01, maximum=60.0, multiplier=100.0, jitter=0.0, reset_after=0.2)
    tree = start(sup_spec(worker("a", journal), backoff=backoff))
    for n in range(2, 5):
        time.sleep(0.25)  # let the child reach reset_after; this is setup, not an assertion
        tree.lookup("root/a").tell(Inject("crash"))
        wait_until(lambda n=n: journal.count("start", "a") == n, what=f"restart {n} after delay(1)")


def test_child_crashing_in_a_loop_makes_its_supervisor_give_up_and_its_parent_see_it_fail(start) -> None:
    journal = Journal()
    events = Events()
    inner = sup_spec(worker("loop", journal), max_restarts=2, period=5.0)
    core = ChildSpec("core", Supervisor, kwargs={"spec": inner})
    tree = start(sup_spec(core, worker("other", journal), max_restarts=10), listeners=[events])
    first_core = tree.lookup("root/core")
    for _ in range(3):
        ref = wait_until(lambda: tree.lookup("root/core/loop"), what="loop running")
        ref.tell(Inject("crash"))
        wait_until(lambda ref=ref: not ref.is_alive(), what="loop instance gone")
    wait_until(lambda: events.of(EventKind.GAVE_UP, "root/core"), what="core gave up")
    wait_until(lambda: events.of(EventKind.FAILED, "root/core"), what="root saw core fail")
    gave_up = events.of(EventKind.GAVE_UP, "root/core")[0]
    assert "root/core/loop" in gave_up.error
    assert "gave up" in events.of(EventKind.FAILED, "root/core")[0].error
    # The root restarts core (with a fresh intensity window) and its child comes back.
    wait_until(lambda: tree.lookup("root/core") not in (None, first_core), what="core restarted")
    wait_until(lambda: tree.tree().find("root/core/loop").state == "running", what="loop running again")
    assert journal.count("start", "other") == 1
    assert not tree.gave_up.is_set()


def test_root_giving_up_sets_gave_up_and_emits_the_event(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(sup_spec(worker("a", journal), worker("b", journal), max_restarts=1), listeners=[events])
    for _ in range(2):
        ref = wait_until(lambda: tree.lookup("root/a"), what="a running")
        ref.tell(Inject("crash"))
        wait_until(lambda ref=ref: not ref.is_alive(), what="a instance gone")
    assert tree.gave_up.wait(5.0)
    assert events.of(EventKind.GAVE_UP, "root")
    snapshot = tree.tree()
    assert snapshot.state == "gave_up"
    assert all(node.state == "stopped" for node in snapshot.children)
    # Giving up stopped the child that was still running.
    assert journal.count("stop", "b") == 1
    assert tree.lookup("root/b") is None


def test_start_tree_raises_start_error_naming_the_child_that_never_starts() -> None:
    journal = Journal()
    spec = ChildSpec("plc", FlakyStart, args=(journal, [100]))
    with pytest.raises(StartError) as info:
        from supervision import start_tree

        start_tree(sup_spec(worker("ok", journal), spec, max_restarts=2), name="petra")
    assert info.value.path == "petra/plc"
    assert "plc unreachable" in str(info.value)
    assert journal.count("stop", "ok") == 1  # the root stopped what had started


def test_hung_child_is_detected_counted_abandoned_and_replaced(start) -> None:
    journal = Journal()
    events = Events()
    spec = sup_spec(worker("a", journal), worker("b", journal), probe_interval=0.02, probe_timeout=0.2)
    tree = start(spec, listeners=[events])
    hung_ref = tree.lookup("root/a")
    hung_actor = journal.instances[0]
    hung_at = time.monotonic()
    hung_ref.tell(Inject("hang", 2.0))
    wait_until(lambda: events.of(EventKind.HUNG, "root/a"), what="hang detected")
    assert time.monotonic() - hung_at < 0.2 + 0.6  # probe_timeout plus a probe interval and scheduling slack
    wait_until(lambda: tree.tree().find("root/a").state == "running", what="replacement running")
    node = tree.tree().find("root/a")
    assert node.hung == 1
    assert "no answer to a probe" in node.last_error
    assert hung_actor.abandoned
    assert tree.lookup("root/a") is not hung_ref
    assert journal.count("start", "b") == 1
    # When the hung instance wakes up it stops, and its exit report is ignored.
    wait_until(lambda: not hung_ref.is_alive(), timeout=5.0, what="hung instance stopped after waking")
    assert len(journal.live_instances("a")) == 1
    assert tree.tree().find("root/a").hung == 1


def test_a_hung_sub_supervisor_is_replaced_with_its_old_children_stopped(start) -> None:
    journal = Journal()
    events = Events()
    inner = ChildSpec(id="inner", actor_class=Supervisor,
                      kwargs={"spec": sup_spec(worker("a", journal), worker("b", journal))})
    spec = sup_spec(inner, probe_interval=0.02, probe_timeout=0.2, supervisor_probe_timeout=0.5)
    tree = start(spec, listeners=[events])
    old = list(journal.instances)
    tree.lookup("root/inner").tell(Inject("hang", 3.0))
    wait_until(lambda: events.of(EventKind.HUNG, "root/inner"), timeout=5.0, what="hung supervisor detected")
    wait_until(lambda: journal.count("start", "a") == 2 and journal.count("start", "b") == 2,
               what="the subtree started again")
    wait_until(lambda: all(not actor.actor_ref.is_alive() for actor in old), what="old children stopped")
    assert len(journal.live_instances("a")) == 1 and len(journal.live_instances("b")) == 1
    assert tree.tree().find("root/inner").hung == 1


def test_a_busy_sub_supervisor_is_not_taken_for_hung_within_its_longer_timeout(start) -> None:
    journal = Journal()
    events = Events()
    inner = ChildSpec(id="inner", actor_class=Supervisor, kwargs={"spec": sup_spec(worker("a", journal))})
    spec = sup_spec(inner, probe_interval=0.02, probe_timeout=0.1, supervisor_probe_timeout=5.0)
    tree = start(spec, listeners=[events])
    ref = tree.lookup("root/inner")
    ref.tell(Inject("hang", 0.5))  # silent for 5x the worker probe timeout
    assert [c.id for c in ref.proxy().which_children().get(timeout=5)] == ["a"]  # answered after the hang
    assert not events.of(EventKind.HUNG, "root/inner")
    assert tree.lookup("root/inner") is ref
    assert journal.count("start", "a") == 1


def test_slow_child_that_misses_probes_is_treated_as_hung(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(sup_spec(worker("a", journal), probe_interval=0.02, probe_timeout=0.1), listeners=[events])
    ref = tree.lookup("root/a")
    ref.tell(Inject("slow", 300.0))
    ref.tell("work")  # each message now takes 300 ms, probes included
    wait_until(lambda: events.of(EventKind.HUNG, "root/a"), what="slow child flagged hung")


def test_a_failure_is_logged_as_one_line_without_a_traceback(start, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal), backoff=FAST_BACKOFF))
    caplog.set_level(logging.INFO)
    tree.lookup("root/a").tell("boom")
    wait_until(lambda: journal.count("start", "a") == 2, what="restart")
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in failures] == ["root/a failed: ValueError: boom"]
    assert failures[0].exc_info is None
