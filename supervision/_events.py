"""Supervisor events delivered to listeners (metrics, logs, the control API)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["EventKind", "Listener", "SupervisorEvent", "emit"]

logger = logging.getLogger("supervision")


class EventKind(enum.Enum):
    """What happened to a child (or, for GAVE_UP, to the supervisor itself)."""

    STARTED = "started"
    """A child started for the first time (initial start or ``start_child``)."""
    FAILED = "failed"
    """A child exited abnormally (crash, failed start, failed health check)."""
    RESTARTED = "restarted"
    """A child was started again after an exit, a hang, or an operator request."""
    HUNG = "hung"
    """A child stopped answering liveness probes and was abandoned."""
    GAVE_UP = "gave_up"
    """A supervisor exceeded its restart intensity; ``path`` is the supervisor."""
    STOPPED = "stopped"
    """A child exited normally and is not restarted, or was terminated on request."""


@dataclass(frozen=True)
class SupervisorEvent:
    """One event; ``at`` is ``time.time()`` (wall clock, for humans and logs)."""

    kind: EventKind
    path: str
    error: str | None
    restarts: int
    at: float


Listener = Callable[[SupervisorEvent], None]


def emit(listeners: Sequence[Listener], event: SupervisorEvent) -> None:
    """Call every listener; a failing listener is logged and never hurts the supervisor.

    Listeners run in supervisor threads: keep them quick and non-blocking (hand the
    event to a queue), or they delay supervision.
    """
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            logger.exception("supervision event listener %r failed on %s", listener, event.kind.name)
