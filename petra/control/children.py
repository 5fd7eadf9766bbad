"""The control section's actor: the HTTP + JSON server petra-ctl talks to."""

from __future__ import annotations

from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """The control actor always runs: it is how an operator reaches the plant (none without a runtime to steer)."""
    if wiring.control is None:
        return []
    from petra.control.actor import ControlActor

    return [ChildSpec("control", ControlActor, kwargs={"plant": plant, "runtime": wiring.control,
                                                       "routes": wiring.routes})]
