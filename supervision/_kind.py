"""Child kinds (Erlang's ``type`` child-spec key) and the shutdown default each implies."""

from __future__ import annotations

import enum
import math

__all__ = ["ChildKind"]


class ChildKind(enum.Enum):
    """Whether a child does the work or supervises others; its actor class declares which.

    The kind is data in the spec, so a supervisor can tell a sub-supervisor from a
    worker (its probe timeout, its shutdown default, its start and stop budgets)
    without importing the ``Supervisor`` class.
    """

    WORKER = "worker"
    SUPERVISOR = "supervisor"

    @property
    def default_shutdown(self) -> float:
        """OTP's defaults: 5 s for a worker; infinity for a supervisor (wait for its children).

        Infinity does not mean forever in practice: a parent waits for a sub-supervisor
        as long as the sub-supervisor's own children may take (see ``Supervisor.stop_budget``).
        """
        return math.inf if self is ChildKind.SUPERVISOR else 5.0
