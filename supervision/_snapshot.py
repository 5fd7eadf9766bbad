"""Immutable snapshot of a supervision tree, for the control API, metrics and tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["NodeKind", "NodeSnapshot", "NodeState"]

NodeKind = Literal["worker", "supervisor"]
NodeState = Literal["starting", "running", "restarting", "hung", "stopped", "failed", "gave_up"]


@dataclass(frozen=True)
class NodeSnapshot:
    """One actor in the tree as its supervisor last recorded it.

    Built from per-child records each supervisor keeps under a lock, never by
    messaging the actors, so it is available while a supervisor is busy or a child
    hangs. ``restarts`` counts restart attempts (automatic and operator-requested);
    ``hung`` counts instances abandoned because they stopped answering probes;
    ``uptime_s`` is None unless the node is running.
    """

    path: str
    name: str
    kind: NodeKind
    state: NodeState
    restarts: int
    last_error: str | None
    uptime_s: float | None
    mailbox_depth: int
    hung: int
    children: tuple[NodeSnapshot, ...] = ()

    def walk(self) -> Iterator[NodeSnapshot]:
        """Yield this node and every node below it, depth first in start order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, path: str) -> NodeSnapshot | None:
        """The node at ``path`` in this subtree, or None."""
        return next((node for node in self.walk() if node.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (children as a list of dicts)."""
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "uptime_s": self.uptime_s,
            "mailbox_depth": self.mailbox_depth,
            "hung": self.hung,
            "children": [child.to_dict() for child in self.children],
        }
