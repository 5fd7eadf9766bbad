"""start_tree(fail_fast=True): a child that fails its very first start stops the tree (OTP), a later crash restarts."""

from __future__ import annotations

import pytest

from supervision import ChildSpec, EventKind, Inject, StartError, Supervisor, start_tree
from tests.supervision.sup_helpers import Events, FlakyStart, Journal, sup_spec, wait_until, worker


def test_a_child_that_fails_its_first_start_stops_the_tree_even_if_a_retry_would_succeed() -> None:
    journal = Journal()
    flaky = ChildSpec("socket", FlakyStart, args=(journal, [1]))
    services = ChildSpec("services", Supervisor, kwargs={"spec": sup_spec(worker("ok", journal), flaky)})
    with pytest.raises(StartError) as info:
        start_tree(sup_spec(services), name="petra", fail_fast=True)
    assert info.value.path == "petra/services/socket" and "plc unreachable" in str(info.value)
    assert journal.count("stop", "ok") == 1  # what had started was stopped


def test_without_fail_fast_the_same_child_is_retried_and_the_tree_starts(start) -> None:
    journal = Journal()
    tree = start(sup_spec(ChildSpec("socket", FlakyStart, args=(journal, [1]))))
    assert journal.count("start", "socket") == 1 and tree.lookup("root/socket") is not None


def test_with_fail_fast_a_crash_after_a_good_start_is_restarted_as_usual(start) -> None:
    journal = Journal()
    events = Events()
    tree = start(sup_spec(worker("a", journal)), listeners=[events], fail_fast=True)
    tree.lookup("root/a").tell(Inject("crash"))
    wait_until(lambda: events.of(EventKind.RESTARTED, "root/a"), what="restart after the crash")
