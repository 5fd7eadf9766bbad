"""An actor that owns an exclusive resource frees it on every way it ends, so its successor can take it.

The resource is a listening TCP port on loopback: like an LMDB environment
(one open per file per process) a second owner is refused while the first
still holds it.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from sup_helpers import sup_spec, wait_until

from supervision import ChildSpec, Inject, SupervisedActor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PortOwner(SupervisedActor):
    """Binds `port` in on_start; fails there while `start_failures[0] > 0`, after binding."""

    def __init__(self, port: int, start_failures: list[int], started: list[int]) -> None:
        super().__init__()
        self.port = port
        self.start_failures = start_failures
        self.started = started
        self.sock: socket.socket | None = None

    def on_start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", self.port))  # raises EADDRINUSE while a predecessor still holds it
        sock.listen()
        self.sock = sock
        if self.start_failures[0] > 0:
            self.start_failures[0] -= 1
            raise ConnectionError("device refused the session")
        self.started.append(self.link.instance)

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return message

    def release(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _owner(port: int, start_failures: int = 0) -> tuple[ChildSpec, list[int]]:
    started: list[int] = []
    return ChildSpec("owner", PortOwner, args=(port, [start_failures], started)), started


def test_a_successor_takes_over_the_resource_after_a_failure_in_on_start(start) -> None:
    spec, started = _owner(_free_port(), start_failures=2)
    tree = start(sup_spec(spec))
    node = tree.tree().find("root/owner")
    assert node.state == "running"
    assert node.restarts == 2, node.last_error  # each successor bound the port on its first try
    assert started == [3]


def test_a_successor_takes_over_the_resource_after_a_failure_in_a_message(start) -> None:
    spec, started = _owner(_free_port())
    tree = start(sup_spec(spec))
    tree.lookup("root/owner").tell("boom")
    wait_until(lambda: started == [1, 2], what="a second instance running")
    assert tree.tree().find("root/owner").restarts == 1


def test_a_successor_takes_over_the_resource_after_an_injected_crash(start) -> None:
    spec, started = _owner(_free_port())
    tree = start(sup_spec(spec))
    tree.lookup("root/owner").tell(Inject("crash"))
    wait_until(lambda: started == [1, 2], what="a second instance running")
    assert tree.tree().find("root/owner").restarts == 1


def test_release_runs_in_the_actor_thread_before_the_exit_is_reported(start) -> None:
    seen: list[tuple[str, bool]] = []
    reported = threading.Event()

    class Recorder(PortOwner):
        def release(self) -> None:
            seen.append((threading.current_thread().name, reported.is_set()))
            super().release()

    port = _free_port()
    actor = Recorder._spawn(_link(reported), port, [1], [])
    assert actor.wait_finished(5.0)
    assert seen and seen[0][1] is False, "release ran after the supervisor was told"
    assert seen[0][0] != threading.current_thread().name


def _link(reported: threading.Event) -> Any:
    from supervision._actor import Link
    from supervision._registry import Registry

    return Link(path="t/owner", child_id="owner", instance=1, registry=Registry(),
                report=lambda _exit: reported.set())
