"""Declarative child and supervisor specifications (Erlang's child_spec / sup_flags)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._actor import SupervisedActor
from ._backoff import BackoffPolicy

__all__ = ["ChildSpec", "Restart", "Strategy", "SupervisorSpec", "validate_specs"]


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


@dataclass(frozen=True)
class ChildSpec:
    """A child declared as data: which actor class to start, with what, and how to treat its exits.

    ``shutdown_timeout`` is how many seconds an ordered stop waits for the child before
    abandoning it. A child that is itself a supervisor is declared as
    ``ChildSpec(id="core", actor_class=Supervisor, kwargs={"spec": SupervisorSpec(...)})``.
    """

    id: str
    actor_class: type[SupervisedActor]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"child id must be a non-empty string, got {self.id!r}")
        if "/" in self.id:
            raise ValueError(f"child id {self.id!r} must not contain '/' (it is a path segment)")
        if not (isinstance(self.actor_class, type) and issubclass(self.actor_class, SupervisedActor)):
            raise TypeError(f"child {self.id!r}: actor_class must subclass SupervisedActor")
        if self.shutdown_timeout <= 0:
            raise ValueError(f"child {self.id!r}: shutdown_timeout must be > 0")
        if not isinstance(self.restart, Restart):
            raise TypeError(f"child {self.id!r}: restart must be a Restart, got {self.restart!r}")
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))

    @property
    def is_supervisor(self) -> bool:
        """True when the child is a (sub)supervisor rather than a worker."""
        from ._supervisor import Supervisor  # late: avoids an import cycle

        return issubclass(self.actor_class, Supervisor)


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
