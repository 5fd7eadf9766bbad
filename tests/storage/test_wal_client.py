"""A storage tier's handle on the WAL waits for a restarting WAL, but not once its tier is stopping."""

from __future__ import annotations

import threading
import time

import pykka
import pytest

from petra.storage.tier_actor import TierStopping, WalClient
from supervision import Registry

WAL = "petra/storage/wal"


class WalAnsweringHead(pykka.ThreadingActor):
    """A real actor in the WAL's place: the client reaches it as it reaches the WAL (`ref.proxy().head()`)."""

    def __init__(self, head: int) -> None:
        super().__init__()
        self._head = head

    def head(self) -> int:
        return self._head


def test_a_stopping_tier_gives_up_on_a_wal_that_is_not_running_instead_of_waiting_out_the_timeout() -> None:
    halt = threading.Event()
    halt.set()
    client = WalClient(Registry(), WAL, timeout=30.0, halt=halt)
    started = time.monotonic()
    with pytest.raises(TierStopping, match=WAL):
        client.head()
    assert time.monotonic() - started < 5.0  # the timeout is 30 s


def test_a_tier_that_is_stopped_while_waiting_gives_up_then() -> None:
    halt = threading.Event()
    client = WalClient(Registry(), WAL, timeout=30.0, halt=halt)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.head()
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    halt.set()
    caller.join(timeout=5.0)
    assert not caller.is_alive() and len(outcome) == 1 and isinstance(outcome[0], TierStopping)


def test_a_running_tier_still_waits_for_the_wal_to_come_back() -> None:
    registry = Registry()
    client = WalClient(registry, WAL, timeout=30.0, halt=threading.Event())
    wal = WalAnsweringHead.start(42)
    back = threading.Timer(0.3, registry.register, (WAL, wal))  # several halt checks later
    back.start()
    try:
        assert client.head() == 42
    finally:
        back.cancel()
        wal.stop()


def test_a_wal_that_never_comes_back_is_a_timeout_naming_it_and_the_whole_wait() -> None:
    client = WalClient(Registry(), WAL, timeout=0.3, halt=threading.Event())
    with pytest.raises(TimeoutError, match=r"nothing registered at 'petra/storage/wal' within 0\.3 s"):
        client.head()
