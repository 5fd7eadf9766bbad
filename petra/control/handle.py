"""What the control API steers of the running plant: the narrow handle `ControlApi` is given.

`petra.runtime.Runtime` is one; nothing else of the runtime is reachable from
the API. The handle reaches the control actor through its `ChildSpec` kwargs
(`petra.wiring.Wiring.control`), never through the plant.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from petra.options import RuntimeOptions
    from petra.plant import Plant
    from petra.runtime import ReloadResult
    from supervision import SupervisionTree


class RuntimeHandle(Protocol):
    """The running plant as the control API uses it."""

    plant: Plant
    options: RuntimeOptions
    tree: SupervisionTree | None
    started: threading.Event
    """Set once the whole tree is up: requests that arrive before it wait."""
    started_at: float | None
    """When the plant started (wall clock), for the uptime."""

    def reload(self, caller: str = "system") -> ReloadResult:
        """Re-read, validate, verify and apply the config file."""
        ...

    def audit(self, event: str, actor: str, **details: Any) -> None:
        """Append to the audit trail (when enabled)."""
        ...

    def config_info(self) -> dict[str, Any]:
        """The running config's path, hash, signer and load time."""
        ...
