"""The control section's actor: the HTTP + JSON server petra-ctl talks to."""

from __future__ import annotations

from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """The control actor always runs: it is how an operator reaches the plant (none without a runtime to steer).

    The users file, lock-out and sessions (`Identities`) are kept in the wiring, so a restart of the control
    actor keeps every session and lock-out."""
    if wiring.control is None:
        return []
    from petra.control.actor import ControlActor
    from petra.control.auth import Identities

    identities = wiring.section_state("control").setdefault("identities", Identities(wiring.audit))
    return [ChildSpec("control", ControlActor, kwargs={"plant": plant, "runtime": wiring.control,
                                                       "routes": wiring.routes, "identities": identities})]
