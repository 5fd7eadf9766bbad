"""What a section's actors get besides the plant: built once by the runtime, handed to every `child_specs`.

A section's `child_specs(plant, wiring)` takes what its actors need from
here and passes it on in their `ChildSpec` kwargs: nothing reaches the
runtime through the plant. The `Wiring` outlives reloads (the runtime keeps
one for the plant's whole life), so `state` is where a section keeps what a
reload must not rebuild (the alarm service and its open store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from petra.control.routes import RouteTable

if TYPE_CHECKING:
    from petra.control.handle import RuntimeHandle


class Audit(Protocol):
    """Appends one event to the audit trail: `audit("alarm.ack", "uid:1000", alarm="high_temp")`."""

    def __call__(self, event: str, actor: str, **details: Any) -> None: ...


def no_audit(event: str, actor: str, **details: Any) -> None:
    """The audit of a tree built without a runtime (tests, tools): nothing is recorded."""


@dataclass
class Wiring:
    """The runtime's side of the tree: audit, the control API's routes and handle, and per-section state."""

    audit: Audit = no_audit
    routes: RouteTable = field(default_factory=RouteTable)
    """The routes sections add to the control API (filled by `petra.tree` from `Section.routes`)."""
    control: RuntimeHandle | None = None
    """What the control API steers; None: no control actor (a tree built without a runtime)."""
    state: dict[str, dict[str, object]] = field(default_factory=dict)

    def section_state(self, section: str) -> dict[str, object]:
        """`section`'s own state, kept across reloads (empty the first time)."""
        return self.state.setdefault(section, {})
