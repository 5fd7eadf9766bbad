"""Restart strategies and restart types, observed through the order actors start and stop."""

from __future__ import annotations

import threading

import pytest
from sup_helpers import Journal, Unhealthy, sup_spec, wait_until, worker

from supervision import ChildSpec, Inject, InjectedFault, Restart, Strategy


def running(tree, path: str) -> bool:
    node = tree.tree().find(path)
    return node is not None and node.state == "running"


def test_initial_children_start_in_list_order_and_are_registered_by_path(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal), worker("b", journal), worker("c", journal)), name="petra")
    assert journal.events() == [("start", "a"), ("start", "b"), ("start", "c")]
    for child in "abc":
        ref = tree.lookup(f"petra/{child}")
        assert ref is not None and ref.is_alive()
    assert tree.lookup("petra") is not None


def test_one_for_one_restarts_only_the_failed_child(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal), worker("b", journal), worker("c", journal)))
    old_b = tree.lookup("root/b")
    journal.clear()
    tree.lookup("root/b").tell(Inject("crash"))
    wait_until(lambda: journal.count("start", "b") == 1 and running(tree, "root/b"), what="b restarted")
    assert journal.events() == [("start", "b")]  # the crash skipped on_stop; nobody else was touched
    assert tree.lookup("root/b") is not old_b


def test_one_for_all_stops_others_in_reverse_order_then_restarts_all_in_start_order(start) -> None:
    journal = Journal()
    children = [worker(c, journal) for c in "abcd"]
    tree = start(sup_spec(*children, strategy=Strategy.ONE_FOR_ALL))
    journal.clear()
    tree.lookup("root/b").tell(Inject("crash"))
    wait_until(lambda: journal.count("start", "d") == 1 and running(tree, "root/d"), what="all restarted")
    assert journal.events() == [
        ("stop", "d"),
        ("stop", "c"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
        ("start", "d"),
    ]


def test_rest_for_one_restarts_later_siblings_in_start_order(start) -> None:
    journal = Journal()
    children = [worker(c, journal) for c in "abcd"]
    tree = start(sup_spec(*children, strategy=Strategy.REST_FOR_ONE))
    first_a = tree.lookup("root/a")
    journal.clear()
    tree.lookup("root/b").tell(Inject("crash"))
    wait_until(lambda: journal.count("start", "d") == 1 and running(tree, "root/d"), what="rest restarted")
    assert journal.events() == [("stop", "d"), ("stop", "c"), ("start", "b"), ("start", "c"), ("start", "d")]
    assert tree.lookup("root/a") is first_a


def test_permanent_child_is_restarted_even_after_a_normal_stop(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    tree.lookup("root/a").stop()
    wait_until(lambda: journal.count("start", "a") == 2 and running(tree, "root/a"), what="a restarted")


def test_transient_child_is_not_restarted_after_a_normal_stop(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("t", journal, restart=Restart.TRANSIENT), worker("p", journal)))
    tree.lookup("root/t").stop(block=True)
    wait_until(lambda: tree.tree().find("root/t").state == "stopped", what="t recorded as stopped")
    assert tree.lookup("root/t") is None
    # A later crash of another child gives t every chance to be (wrongly) restarted.
    tree.lookup("root/p").tell(Inject("crash"))
    wait_until(lambda: journal.count("start", "p") == 2 and running(tree, "root/p"), what="p restarted")
    assert journal.count("start", "t") == 1


def test_transient_child_is_restarted_after_a_crash(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("t", journal, restart=Restart.TRANSIENT)))
    tree.lookup("root/t").tell(Inject("crash"))
    wait_until(lambda: journal.count("start", "t") == 2 and running(tree, "root/t"), what="t restarted")


@pytest.mark.parametrize("how", ["crash", "stop"])
def test_temporary_child_is_never_restarted_and_is_forgotten(start, how: str) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("tmp", journal, restart=Restart.TEMPORARY)))
    ref = tree.lookup("root/tmp")
    if how == "crash":
        ref.tell(Inject("crash"))
    else:
        ref.stop()
    wait_until(lambda: tree.tree().find("root/tmp") is None, what="tmp forgotten")
    assert journal.count("start", "tmp") == 1
    assert tree.root.proxy().which_children().get(timeout=5) == []


def test_exception_in_a_told_message_is_a_crash_and_restarts_the_child(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    tree.lookup("root/a").tell("boom")
    wait_until(lambda: journal.count("start", "a") == 2 and running(tree, "root/a"), what="a restarted")
    assert tree.tree().find("root/a").last_error == "ValueError: boom"


def test_exception_in_an_asked_message_goes_to_the_caller_and_the_child_lives_on(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    ref = tree.lookup("root/a")
    with pytest.raises(ValueError):
        ref.ask("boom", timeout=5)
    ref.tell(Inject("raise-on-next"))
    with pytest.raises(InjectedFault):
        ref.ask("hello", timeout=5)
    assert ref.ask("hello", timeout=5) == ("ok", "hello")
    assert journal.count("start", "a") == 1


def test_raise_on_next_crashes_the_child_when_the_next_message_is_told(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    ref = tree.lookup("root/a")
    ref.proxy().inject("raise-on-next").get(timeout=5)
    ref.tell("hello")
    wait_until(lambda: journal.count("start", "a") == 2 and running(tree, "root/a"), what="a restarted")
    assert "raise-on-next" in tree.tree().find("root/a").last_error


def test_crash_injected_through_a_proxy_call_still_crashes_the_child(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    tree.lookup("root/a").proxy().inject("crash").get(timeout=5)
    wait_until(lambda: journal.count("start", "a") == 2 and running(tree, "root/a"), what="a restarted")


def test_fail_called_from_another_thread_restarts_the_child(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    actor = journal.instances[0]
    helper = threading.Thread(target=actor.fail, args=(BrokenPipeError("reader thread died"),))
    helper.start()
    helper.join()
    wait_until(lambda: journal.count("start", "a") == 2 and running(tree, "root/a"), what="a restarted")
    assert tree.tree().find("root/a").last_error == "BrokenPipeError: reader thread died"


def test_failing_health_check_marks_the_child_failed_and_restarts_it(start) -> None:
    journal = Journal()
    sick = threading.Event()
    spec = ChildSpec("u", Unhealthy, args=(journal, sick))
    tree = start(sup_spec(spec, probe_interval=0.02, probe_timeout=1.0))
    sick.set()
    wait_until(lambda: journal.count("start", "u") == 2 and running(tree, "root/u"), what="u restarted")
    node = tree.tree().find("root/u")
    assert node.last_error == "RuntimeError: sensor frozen"
    assert node.hung == 0


def test_a_crashing_sub_supervisor_is_restarted_with_its_children(start) -> None:
    from supervision import Supervisor

    journal = Journal()
    core = ChildSpec("core", Supervisor, kwargs={"spec": sup_spec(worker("clock", journal))})
    tree = start(sup_spec(core, worker("x", journal)))
    tree.lookup("root/core").tell(Inject("crash"))
    wait_until(
        lambda: journal.count("start", "clock") == 2 and running(tree, "root/core/clock"),
        what="core restarted with its child",
    )
    assert journal.count("stop", "clock") == 1  # the crashing supervisor still stopped its child
    assert journal.count("start", "x") == 1


def test_a_supervised_actor_started_without_a_supervisor_still_works() -> None:
    journal = Journal()
    from sup_helpers import Worker

    ref = Worker.start(journal)
    actor = journal.instances[0]
    assert actor.path == "worker" and actor.child_id == "worker"
    assert ref.ask("hi", timeout=5) == ("ok", "hi")
    assert actor.mailbox_depth() == 0
    ref.tell(Inject("crash"))
    wait_until(lambda: not ref.is_alive(), what="standalone actor exited")


def test_unknown_fault_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Inject("explode")
