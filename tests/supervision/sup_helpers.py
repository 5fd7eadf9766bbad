"""Test actors and waiting helpers for the supervision tests (no sleeps as assertions)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from supervision import BackoffPolicy, ChildSpec, EventKind, Restart, SupervisedActor, SupervisorEvent, SupervisorSpec

FAST_BACKOFF = BackoffPolicy(initial=0.01, maximum=0.05, multiplier=2.0, jitter=0.0, reset_after=10.0)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


class Journal:
    """Thread-safe record of what actors did, in order, plus every instance started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, str]] = []
        self.instances: list[SupervisedActor] = []

    def add(self, event: str, child_id: str) -> None:
        with self._lock:
            self.items.append((event, child_id))

    def started(self, actor: SupervisedActor) -> None:
        with self._lock:
            self.instances.append(actor)
            self.items.append(("start", actor.child_id))

    def events(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.items)

    def clear(self) -> None:
        with self._lock:
            self.items.clear()

    def count(self, event: str, child_id: str) -> int:
        return self.events().count((event, child_id))

    def live_instances(self, child_id: str) -> list[SupervisedActor]:
        """Instances the supervisor still owns: thread running, not stopped, not abandoned."""
        with self._lock:
            candidates = [a for a in self.instances if a.child_id == child_id]
        return [a for a in candidates if a.actor_ref.is_alive() and not a.abandoned]


class Worker(SupervisedActor):
    """Records start/stop in the journal; ``work`` can be told or asked."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def on_start(self) -> None:
        self.journal.started(self)

    def on_stop(self) -> None:
        self.journal.add("stop", self.child_id)

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return ("ok", message)


class FlakyStart(Worker):
    """``on_start`` raises while ``failures_left[0] > 0`` (shared across instances)."""

    def __init__(self, journal: Journal, failures_left: list[int]) -> None:
        super().__init__(journal)
        self.failures_left = failures_left

    def on_start(self) -> None:
        self.journal.add("attempt", self.child_id)
        if self.failures_left[0] > 0:
            self.failures_left[0] -= 1
            raise ConnectionError("plc unreachable")
        super().on_start()


class SlowStart(Worker):
    """``on_start`` blocks until the event ``release`` is set (or 5 s)."""

    def __init__(self, journal: Journal, release: threading.Event) -> None:
        super().__init__(journal)
        self.proceed = release

    def on_start(self) -> None:
        self.proceed.wait(5.0)
        super().on_start()


class StubbornStop(Worker):
    """``on_stop`` blocks until ``release`` is set: it ignores an ordered stop."""

    def __init__(self, journal: Journal, release: threading.Event) -> None:
        super().__init__(journal)
        self.proceed = release

    def on_stop(self) -> None:
        self.journal.add("stop-requested", self.child_id)
        self.proceed.wait(5.0)
        super().on_stop()


class Unhealthy(Worker):
    """``check_health`` raises once ``sick`` is set."""

    def __init__(self, journal: Journal, sick: threading.Event) -> None:
        super().__init__(journal)
        self.sick = sick

    def check_health(self) -> None:
        if self.sick.is_set():
            self.sick.clear()
            raise RuntimeError("sensor frozen")


class SiblingUser(Worker):
    """Looks up a sibling by path in ``on_start`` and remembers the ref it found."""

    def __init__(self, journal: Journal, sibling: str, found: list[Any]) -> None:
        super().__init__(journal)
        self.sibling = sibling
        self.found = found

    def on_start(self) -> None:
        self.found.append(self.registry.get(self.sibling))
        super().on_start()


def worker(child_id: str, journal: Journal, restart: Restart = Restart.PERMANENT, **kw: Any) -> ChildSpec:
    return ChildSpec(id=child_id, actor_class=Worker, args=(journal,), restart=restart, **kw)


def sup_spec(*children: ChildSpec, **kw: Any) -> SupervisorSpec:
    """A SupervisorSpec with fast back-off and no probes unless asked."""
    kw.setdefault("backoff", FAST_BACKOFF)
    kw.setdefault("probe_interval", None)
    kw.setdefault("max_restarts", 50)
    kw.setdefault("period", 5.0)
    kw.setdefault("start_timeout", 2.0)
    return SupervisorSpec(children=children, **kw)


class Events:
    """A listener that records every supervisor event, for assertions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[SupervisorEvent] = []

    def __call__(self, event: SupervisorEvent) -> None:
        with self.lock:
            self.items.append(event)

    def of(self, kind: EventKind, path: str | None = None) -> list[SupervisorEvent]:
        with self.lock:
            return [e for e in self.items if e.kind is kind and (path is None or e.path == path)]

    def kinds(self, path: str) -> list[EventKind]:
        with self.lock:
            return [e.kind for e in self.items if e.path == path]
