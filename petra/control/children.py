"""The control section's actor: the HTTP + JSON server petra-ctl talks to."""

from __future__ import annotations

from petra.plant import Plant
from supervision import ChildSpec


def child_specs(plant: Plant) -> list[ChildSpec]:
    """The control actor always runs: it is how an operator reaches the plant."""
    from petra.control.actor import ControlActor

    return [ChildSpec("control", ControlActor, kwargs={"plant": plant})]
