"""The tree handle: snapshots, events, registry lookups, dynamic children, ordered shutdown."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sup_helpers import Events, FlakyStart, Journal, SiblingUser, StubbornStop, sup_spec, wait_until, worker

from supervision import (
    ChildSpec,
    EventKind,
    Inject,
    Restart,
    StartError,
    Supervisor,
    SupervisorEvent,
)


def nested_spec(journal: Journal, **kw):
    core = ChildSpec(
        "core", Supervisor, kwargs={"spec": sup_spec(worker("wal", journal), worker("clock", journal))}
    )
    drivers = ChildSpec("drivers", Supervisor, kwargs={"spec": sup_spec(worker("s7", journal))})
    return sup_spec(core, drivers, worker("control", journal), **kw)


def test_tree_snapshot_reports_paths_kinds_states_and_uptime(start) -> None:
    journal = Journal()
    tree = start(nested_spec(journal), name="petra")
    snapshot = tree.tree()
    assert [(n.path, n.kind, n.state) for n in snapshot.walk()] == [
        ("petra", "supervisor", "running"),
        ("petra/core", "supervisor", "running"),
        ("petra/core/wal", "worker", "running"),
        ("petra/core/clock", "worker", "running"),
        ("petra/drivers", "supervisor", "running"),
        ("petra/drivers/s7", "worker", "running"),
        ("petra/control", "worker", "running"),
    ]
    assert all(n.uptime_s is not None and n.uptime_s >= 0 for n in snapshot.walk())
    assert all(n.restarts == 0 and n.last_error is None and n.hung == 0 for n in snapshot.walk())
    assert snapshot.find("petra/core/clock").name == "clock"


def test_tree_snapshot_reports_restarts_and_last_error_after_a_crash(start) -> None:
    journal = Journal()
    tree = start(nested_spec(journal), name="petra")
    tree.lookup("petra/drivers/s7").tell("boom")
    wait_until(lambda: journal.count("start", "s7") == 2, what="s7 restarted")
    wait_until(lambda: tree.tree().find("petra/drivers/s7").state == "running", what="s7 running")
    node = tree.tree().find("petra/drivers/s7")
    assert node.restarts == 1
    assert node.last_error == "ValueError: boom"
    assert node.uptime_s is not None


def test_tree_snapshot_shows_mailbox_depth_and_works_while_a_child_hangs(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    ref = tree.lookup("root/a")
    ref.tell(Inject("hang", 1.0))
    for n in range(5):
        ref.tell(n)
    node = wait_until(
        lambda: (n := tree.tree().find("root/a")) and n.mailbox_depth == 5 and n, what="depth 5"
    )
    assert node.state == "running"  # probes are off here, so nobody noticed the hang
    wait_until(lambda: tree.tree().find("root/a").mailbox_depth == 0, what="inbox drained after the hang")


def test_tree_snapshot_is_plain_data(start) -> None:
    journal = Journal()
    tree = start(nested_spec(journal), name="petra")
    as_dict = tree.tree().to_dict()
    assert as_dict["path"] == "petra"
    assert [c["name"] for c in as_dict["children"]] == ["core", "drivers", "control"]


def test_events_fire_for_started_failed_restarted_and_stopped(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(
        sup_spec(worker("a", journal), worker("t", journal, restart=Restart.TRANSIENT)), listeners=[events]
    )
    assert events.kinds("root/a") == [EventKind.STARTED]
    tree.lookup("root/a").tell("boom")
    wait_until(lambda: EventKind.RESTARTED in events.kinds("root/a"), what="restarted event")
    assert events.kinds("root/a") == [EventKind.STARTED, EventKind.FAILED, EventKind.RESTARTED]
    restarted = next(e for e in events.items if e.kind is EventKind.RESTARTED)
    assert restarted.restarts == 1 and restarted.at <= time.time()
    tree.lookup("root/t").stop()
    wait_until(lambda: EventKind.STOPPED in events.kinds("root/t"), what="stopped event")


def test_listeners_are_inherited_by_sub_supervisors(start) -> None:
    journal = Journal()
    events = Events()
    start(nested_spec(journal), name="petra", listeners=[events])
    assert events.kinds("petra/core/clock") == [EventKind.STARTED]
    assert events.kinds("petra/drivers/s7") == [EventKind.STARTED]


def test_a_failing_listener_is_logged_and_ignored(start, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal()
    events = Events()

    def broken(event: SupervisorEvent) -> None:
        raise RuntimeError("listener bug")

    tree = start(sup_spec(worker("a", journal)), listeners=[broken, events])
    tree.lookup("root/a").tell("boom")
    wait_until(lambda: EventKind.RESTARTED in events.kinds("root/a"), what="supervision carried on")
    assert any("listener" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_children_find_siblings_through_the_registry(start) -> None:
    journal = Journal()
    found: list = []
    user = ChildSpec("chain", SiblingUser, args=(journal, "petra/clock", found))
    tree = start(sup_spec(worker("clock", journal), user), name="petra")
    assert found == [tree.lookup("petra/clock")]
    assert tree.registry.wait_for("petra/chain", timeout=1.0) is tree.lookup("petra/chain")


def test_registry_follows_restarts_and_forgets_removed_children(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    first = tree.lookup("root/a")
    first.tell("boom")
    wait_until(lambda: tree.lookup("root/a") not in (None, first), what="new ref registered")
    tree.remove_child("root/a")
    assert tree.lookup("root/a") is None


def test_add_child_starts_a_dynamic_child_that_stops_first_on_shutdown(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(nested_spec(journal), name="petra", listeners=[events])
    ref = tree.add_child("petra/drivers", worker("modbus", journal))
    assert ref is tree.lookup("petra/drivers/modbus") and ref.is_alive()
    assert events.kinds("petra/drivers/modbus") == [EventKind.STARTED]
    assert [n.name for n in tree.tree().find("petra/drivers").children] == ["s7", "modbus"]
    journal.clear()
    assert tree.stop(timeout=5.0)
    stops = [c for e, c in journal.events() if e == "stop"]
    assert stops == ["control", "modbus", "s7", "clock", "wal"]


def test_add_child_with_a_taken_id_is_refused(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    with pytest.raises(ValueError, match="already has"):
        tree.add_child("root", worker("a", journal))


def test_add_child_that_fails_to_start_raises_and_is_not_kept(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    with pytest.raises(StartError) as info:
        tree.add_child("root", ChildSpec("plc", FlakyStart, args=(journal, [1])))
    assert info.value.path == "root/plc"
    assert tree.tree().find("root/plc") is None
    assert tree.root.proxy().which_children().get(timeout=5)[0].id == "a"


def test_remove_child_stops_it_and_its_id_can_be_reused(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(sup_spec(worker("a", journal), worker("b", journal)), listeners=[events])
    tree.remove_child("root/a")
    assert journal.count("stop", "a") == 1
    assert [c.id for c in tree.root.proxy().which_children().get(timeout=5)] == ["b"]
    assert events.kinds("root/a")[-1] is EventKind.STOPPED
    tree.add_child("root", worker("a", journal))
    assert journal.count("start", "a") == 2


def test_operator_restart_is_not_counted_toward_intensity(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal), worker("b", journal), max_restarts=0))
    for n in range(2, 6):
        old = tree.lookup("root/a")
        new = tree.restart("root/a")
        assert new is not old and not old.is_alive()
        assert journal.count("start", "a") == n
    assert not tree.gave_up.is_set()
    assert tree.tree().find("root/a").restarts == 4
    assert journal.count("start", "b") == 1


def test_restart_of_an_unknown_path_raises(start) -> None:
    journal = Journal()
    tree = start(sup_spec(worker("a", journal)))
    with pytest.raises(KeyError):
        tree.restart("root/nope")
    with pytest.raises(KeyError):
        tree.restart("nowhere/a")
    with pytest.raises(ValueError):
        tree.restart("root")


def test_which_children_lists_ids_refs_kinds_and_states_in_start_order(start) -> None:
    journal = Journal()
    tree = start(nested_spec(journal), name="petra")
    rows = tree.root.proxy().which_children().get(timeout=5)
    assert [(r.id, r.kind, r.state) for r in rows] == [
        ("core", "supervisor", "running"),
        ("drivers", "supervisor", "running"),
        ("control", "worker", "running"),
    ]
    assert rows[2].ref is tree.lookup("petra/control")


def test_stop_stops_children_in_reverse_start_order_across_levels(start) -> None:
    journal = Journal()
    tree = start(nested_spec(journal), name="petra")
    journal.clear()
    assert tree.stop(timeout=5.0)
    assert journal.events() == [("stop", "control"), ("stop", "s7"), ("stop", "clock"), ("stop", "wal")]
    assert tree.tree().state == "stopped"
    assert all(n.state == "stopped" for n in tree.tree().walk())
    assert tree.exited.wait(5.0) and not tree.gave_up.is_set()
    assert tree.lookup("petra/core/wal") is None


def test_a_child_that_ignores_stop_is_abandoned_after_its_shutdown_timeout(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()
    release = threading.Event()
    stubborn = ChildSpec("stubborn", StubbornStop, args=(journal, release), shutdown_timeout=0.2)
    tree = start(sup_spec(worker("first", journal), stubborn, worker("last", journal)))
    journal.clear()
    began = time.monotonic()
    try:
        assert tree.stop(timeout=5.0)
        assert time.monotonic() - began >= 0.2  # it waited the shutdown timeout, then gave up on it
        assert journal.events() == [("stop", "last"), ("stop-requested", "stubborn"), ("stop", "first")]
        assert any("did not stop within 0.2 s; abandoned" in r.getMessage() for r in caplog.records)
        assert journal.instances[1].abandoned
    finally:
        release.set()


def test_tree_stop_is_bounded_by_its_timeout(start) -> None:
    journal = Journal()
    release = threading.Event()
    stubborn = ChildSpec("stubborn", StubbornStop, args=(journal, release), shutdown_timeout=3.0)
    tree = start(sup_spec(stubborn))
    try:
        began = time.monotonic()
        assert tree.stop(timeout=0.2) is False
        assert time.monotonic() - began < 3.0, "stop waited for the child's own shutdown timeout"
    finally:
        release.set()
    assert tree.exited.wait(5.0)
