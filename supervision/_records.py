"""Per-child records a supervisor keeps, and the lock-protected table snapshots are read from.

The supervisor thread is the only writer; ``tree()`` reads from any thread under the
table lock, so introspection never has to message a (possibly busy or hung) actor.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from pykka import ActorRef, Future

from ._actor import inbox_depth
from ._snapshot import NodeKind, NodeSnapshot, NodeState

if TYPE_CHECKING:
    from ._actor import SupervisedActor
    from ._spec import ChildSpec

__all__ = ["ChildRecord", "ChildTable"]


class ChildRecord:
    """The supervisor's view of one child; written in the supervisor thread under the table lock."""

    def __init__(self, spec: ChildSpec, path: str) -> None:
        self.spec = spec
        self.path = path
        self.kind: NodeKind = "supervisor" if spec.is_supervisor else "worker"
        self.instance = 0
        self.actor: SupervisedActor | None = None
        self.ref: ActorRef[Any] | None = None
        self.state: NodeState = "starting"
        self.restarts = 0
        self.last_error: str | None = None
        self.started_at: float | None = None
        self.hung = 0
        self.failures = 0
        self.due_at = 0.0
        self.started_once = False
        self.probe: Future[Any] | None = None
        self.probe_sent = 0.0


class ChildTable:
    """Child records plus the supervisor's own status, readable from any thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: list[ChildRecord] = []
        self.status: NodeState = "starting"

    def find(self, child_id: str) -> ChildRecord | None:
        with self.lock:
            return next((rec for rec in self.records if rec.spec.id == child_id), None)

    def snapshot_children(self) -> tuple[NodeSnapshot, ...]:
        now = time.monotonic()
        rows = []
        with self.lock:
            for rec in self.records:
                ref = rec.ref
                running = rec.state == "running" and rec.started_at is not None
                sub = getattr(rec.actor, "_table", None) if running else None
                rows.append(
                    (
                        rec.path,
                        rec.spec.id,
                        rec.kind,
                        rec.state,
                        rec.restarts,
                        rec.last_error,
                        now - rec.started_at if running and rec.started_at is not None else None,
                        inbox_depth(ref.actor_inbox) if ref is not None else 0,
                        rec.hung,
                        sub,
                    )
                )
        # Recurse outside our lock so a parent never holds its lock while taking a child's.
        return tuple(
            NodeSnapshot(
                *row[:9], children=row[9].snapshot_children() if isinstance(row[9], ChildTable) else ()
            )
            for row in rows
        )
