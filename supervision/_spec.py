"""Declarative child and supervisor specifications (Erlang's child_spec / sup_flags)."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._actor import SupervisedActor
from ._backoff import BackoffPolicy
from ._kind import ChildKind

__all__ = ["ChildKind", "ChildSpec", "Restart", "Strategy", "SupervisorSpec", "validate_specs"]


class Restart(enum.Enum):
    """When a child is restarted after it exits (Erlang ``restart`` child-spec key)."""

    PERMANENT = "permanent"
    """Always restarted, even after a normal exit."""
    TRANSIENT = "transient"
    """Restarted only after an abnormal exit (crash, hang, failed health check)."""
    TEMPORARY = "temporary"
    """Never restarted; removed from the supervisor once it exits."""


class Strategy(enum.Enum):
    """Which children are restarted when one exits (Erlang ``strategy`` sup flag)."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that exited."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: all are stopped in reverse start order, then started in order."""
    REST_FOR_ONE = "rest_for_one"
    """The child that exited and every child started after it (its dependents)."""


@dataclass(frozen=True, init=False)
class ChildSpec:
    """A child declared as data: which actor class to start, with what, and how to treat its exits.

    ``kind`` is a worker or a supervisor (Erlang's ``type``); left out, it is the one
    the actor class declares (``SupervisedActor.child_kind``), and a different one is
    refused. ``shutdown_timeout`` is how many seconds an ordered stop waits for the
    child before abandoning it; left out, it is OTP's default for the kind: 5 s for
    a worker, ``math.inf`` for a supervisor, which means "as long as its own children
    may take" (see ``Supervisor.stop_budget``). A child that is itself a supervisor
    is declared as
    ``ChildSpec(id="core", actor_class=Supervisor, kwargs={"spec": SupervisorSpec(...)})``.
    """

    id: str
    actor_class: type[SupervisedActor]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    restart: Restart
    shutdown_timeout: float
    kind: ChildKind

    def __init__(
        self,
        id: str,
        actor_class: type[SupervisedActor],
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout: float | None = None,
        kind: ChildKind | None = None,
    ) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError(f"child id must be a non-empty string, got {id!r}")
        if "/" in id:
            raise ValueError(f"child id {id!r} must not contain '/' (it is a path segment)")
        if not (isinstance(actor_class, type) and issubclass(actor_class, SupervisedActor)):
            raise TypeError(f"child {id!r}: actor_class must subclass SupervisedActor")
        if not isinstance(restart, Restart):
            raise TypeError(f"child {id!r}: restart must be a Restart, got {restart!r}")
        declared = actor_class.child_kind
        if kind is not None and kind is not declared:
            raise ValueError(
                f"child {id!r}: kind {kind.value} does not match {actor_class.__name__}, a {declared.value}"
            )
        if shutdown_timeout is None:
            shutdown_timeout = declared.default_shutdown
        if not shutdown_timeout > 0:
            raise ValueError(f"child {id!r}: shutdown_timeout must be > 0")
        for name, value in (
            ("id", id),
            ("actor_class", actor_class),
            ("args", tuple(args)),
            ("kwargs", MappingProxyType(dict(kwargs or {}))),
            ("restart", restart),
            ("shutdown_timeout", float(shutdown_timeout)),
            ("kind", declared),
        ):
            object.__setattr__(self, name, value)

    @property
    def is_supervisor(self) -> bool:
        """True when the child is a (sub)supervisor rather than a worker."""
        return self.kind is ChildKind.SUPERVISOR


@dataclass(frozen=True)
class SupervisorSpec:
    """How a supervisor treats its children. Times are in seconds.

    ``max_restarts`` within ``period`` is the restart intensity; intensities multiply
    down the tree, so choose each level's limit with its parent's in mind.
    ``probe_interval`` None disables liveness probes; a probe unanswered after
    ``probe_timeout`` marks the child hung. ``start_timeout`` bounds each child's start.
    """

    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int = 5
    period: float = 10.0
    children: tuple[ChildSpec, ...] = ()
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    probe_interval: float | None = 1.0
    probe_timeout: float = 3.0
    supervisor_probe_timeout: float = 120.0
    """Sub-supervisors answer probes too, but their thread is legitimately busy while
    it starts or stops its own children, so only this much longer silence is a hang."""
    start_timeout: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))
        validate_specs(self.children)
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {self.max_restarts}")
        if self.period <= 0:
            raise ValueError(f"period must be > 0, got {self.period}")
        if self.probe_interval is not None and self.probe_interval <= 0:
            raise ValueError(f"probe_interval must be > 0 or None, got {self.probe_interval}")
        if self.probe_timeout <= 0 or self.start_timeout <= 0 or self.supervisor_probe_timeout <= 0:
            raise ValueError("probe_timeout, supervisor_probe_timeout and start_timeout must be > 0")


def validate_specs(specs: Iterable[ChildSpec]) -> None:
    """Check a list of child specs without starting anything (Erlang's ``check_childspecs``).

    Raises:
        ValueError: an id is empty or used twice.
        TypeError: an entry is not a ChildSpec.
    """
    seen: set[str] = set()
    for spec in specs:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"expected ChildSpec, got {spec!r}")
        if not spec.id:
            raise ValueError("child id must be non-empty")
        if spec.id in seen:
            raise ValueError(f"duplicate child id {spec.id!r}")
        seen.add(spec.id)


def start_budget(spec: SupervisorSpec) -> float:
    """Upper bound (seconds) on how long a supervisor with ``spec`` takes to start its children.

    A sub-supervisor starts its own children synchronously before it answers its start
    ping, so its parent must wait for the whole subtree, not just one start_timeout.
    """
    total = spec.start_timeout
    for child in spec.children:
        sub = child.kwargs.get("spec")
        if child.is_supervisor and isinstance(sub, SupervisorSpec):
            total += start_budget(sub)
        else:
            total += spec.start_timeout
    return total


def longest_start(spec: SupervisorSpec) -> float:
    """The longest one child's start under ``spec`` may block the supervisor (seconds)."""
    steps = [spec.start_timeout]
    for child in spec.children:
        sub = child.kwargs.get("spec")
        if child.is_supervisor and isinstance(sub, SupervisorSpec):
            steps.append(start_budget(sub))
    return max(steps)


def stop_bound(child: ChildSpec, subtree: float) -> float:
    """How long a parent waits for ``child``'s ordered stop before it abandons the child.

    Its ``shutdown_timeout``; for a supervisor with OTP's infinity, ``subtree``: what the
    supervisor's own children may take (each bounded by its own timeout), so an
    ordered shutdown never waits forever on a sub-supervisor that is stuck.
    """
    if child.is_supervisor and math.isinf(child.shutdown_timeout):
        return subtree
    return child.shutdown_timeout


def stop_budget(spec: SupervisorSpec) -> float:
    """Upper bound (seconds) on an ordered stop of a supervisor with ``spec``'s initial children.

    The children stop one after the other, so their bounds add up; on top comes the
    longest single start, because the stop may arrive while the supervisor is still
    waiting for a child's start ping. ``Supervisor.stop_budget`` is the same for the
    children it has now (dynamic ones included).
    """
    total = longest_start(spec)
    for child in spec.children:
        sub = child.kwargs.get("spec")
        total += stop_bound(child, stop_budget(sub) if isinstance(sub, SupervisorSpec) else math.inf)
    return total


def wait_s(bound: float) -> float | None:
    """A bound as a timeout for threading and pykka waits, which spell infinity ``None``."""
    return None if math.isinf(bound) else bound
