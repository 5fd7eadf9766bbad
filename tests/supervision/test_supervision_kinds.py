"""Child kinds as data: worker or supervisor, OTP's shutdown defaults, and how infinity stays bounded."""

from __future__ import annotations

import logging
import math
import threading

import pytest
from sup_helpers import Journal, StubbornStop, Worker, sup_spec, worker

from supervision import ChildKind, ChildSpec, Inject, Supervisor, SupervisorSpec


def test_a_child_spec_takes_its_kind_from_the_actor_class() -> None:
    assert ChildSpec("core", Supervisor, kwargs={"spec": SupervisorSpec()}).kind is ChildKind.SUPERVISOR
    assert ChildSpec("clock", Worker).kind is ChildKind.WORKER


def test_the_shutdown_default_follows_otp_five_seconds_for_workers_infinity_for_supervisors() -> None:
    assert ChildSpec("clock", Worker).shutdown_timeout == 5.0
    assert ChildSpec("core", Supervisor, kwargs={"spec": SupervisorSpec()}).shutdown_timeout == math.inf
    assert ChildSpec("core", Supervisor, shutdown_timeout=30.0).shutdown_timeout == 30.0


@pytest.mark.parametrize(("actor_class", "kind"), [(Worker, ChildKind.SUPERVISOR), (Supervisor, ChildKind.WORKER)])
def test_a_kind_that_contradicts_the_actor_class_is_refused(actor_class: type, kind: ChildKind) -> None:
    with pytest.raises(ValueError, match="does not match"):
        ChildSpec("x", actor_class, kind=kind)


def test_a_matching_explicit_kind_is_accepted() -> None:
    assert ChildSpec("clock", Worker, kind=ChildKind.WORKER) == ChildSpec("clock", Worker)


def test_the_stop_budget_adds_up_the_children_and_one_start(start) -> None:
    journal = Journal()
    sub = ChildSpec(
        "sub", Supervisor, kwargs={"spec": sup_spec(worker("a", journal, shutdown_timeout=0.3),
                                                     worker("b", journal, shutdown_timeout=0.5))}
    )
    tree = start(sup_spec(sub, worker("c", journal, shutdown_timeout=0.25)))
    # Root: its longest start is the sub-supervisor's (2 + 2 x 2 s), plus c, plus sub's own budget.
    assert tree.stop_budget() == pytest.approx(6.0 + 0.25 + (2.0 + 0.3 + 0.5))


def test_a_stuck_sub_supervisor_is_abandoned_after_its_stop_budget_not_waited_for_forever(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()
    release = threading.Event()
    stubborn = ChildSpec("stubborn", StubbornStop, args=(journal, release), shutdown_timeout=0.1)
    sub = ChildSpec("sub", Supervisor, kwargs={"spec": sup_spec(stubborn, start_timeout=0.1)})
    tree = start(sup_spec(sub))
    ref = tree.lookup("root/sub")
    assert ref is not None
    ref.tell(Inject("hang", 4.0))  # handled before the stop that follows it; outlasts the cap below
    try:
        with caplog.at_level(logging.WARNING, logger="supervision"):
            assert tree.stop(timeout=3.0)
        assert any("root/sub did not stop within 0.2 s; abandoned" in r.getMessage() for r in caplog.records)
    finally:
        release.set()
