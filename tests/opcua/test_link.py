"""The pipe between PETRA and its OPC-UA server process: calls answered or raised, nothing left waiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pipe
from typing import Any

import pytest

from petra.alarms.states import CommandRefused
from petra.link import Link, LinkClosed


@pytest.fixture
def pair() -> Iterator[tuple[Link, Link, list[Any]]]:
    ours, theirs = Pipe(duplex=True)
    told: list[Any] = []
    got = threading.Event()

    def refuse(alarm: str) -> None:
        raise CommandRefused(f"{alarm} is not active")

    def note(*args: Any) -> None:
        told.append(args)
        got.set()

    pool = ThreadPoolExecutor(2)
    petra = Link(ours, {"add": lambda a, b: a + b, "refuse": refuse, "note": note}, pool).start()
    server = Link(theirs, {}, pool).start()
    told.append(got)
    try:
        yield petra, server, told
    finally:
        server.close()
        petra.close()
        pool.shutdown(wait=False)


def test_a_call_gets_the_answer_and_a_refusal_is_raised_as_itself(pair: tuple[Link, Link, list[Any]]) -> None:
    _, server, told = pair
    assert server.call("add", 2, 40, timeout=10) == 42
    with pytest.raises(CommandRefused, match="high_level is not active"):
        server.call("refuse", "high_level", timeout=10)
    server.tell("note", "audit", {"who": "otto"})
    assert told[0].wait(10) and told[1] == ("audit", {"who": "otto"})


def test_a_call_whose_other_side_goes_away_fails_instead_of_waiting(pair: tuple[Link, Link, list[Any]]) -> None:
    petra, server, _ = pair
    blocked = threading.Event()
    petra.handlers["slow"] = lambda: blocked.wait(30)
    failed: list[BaseException] = []

    def ask() -> None:
        try:
            server.call("slow", timeout=30)
        except BaseException as exc:
            failed.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    petra.close()  # PETRA's end goes: the server's reader sees the pipe close
    asker.join(10)
    blocked.set()
    assert not asker.is_alive() and isinstance(failed[0], LinkClosed)
    assert server.closed.wait(10)
    with pytest.raises(LinkClosed):
        server.call("add", 1, 2, timeout=1)


def test_a_tell_to_a_side_that_does_not_read_gives_up_instead_of_hanging() -> None:
    ours, theirs = Pipe(duplex=True)
    link = Link(ours, {}, ThreadPoolExecutor(1))  # `theirs` is never read: the pipe fills
    payload = b"x" * 1_000_000
    stuck = threading.Thread(target=lambda: link.tell("changed", payload), daemon=True)
    stuck.start()
    stuck.join(0.5)
    assert stuck.is_alive()  # blocked on the full pipe, holding the send lock
    assert link.try_tell("stop", timeout=0.2) is False
    theirs.close()
    stuck.join(10)  # the other end closed: the blocked send fails and lets go
    assert not stuck.is_alive()
    link.close()
