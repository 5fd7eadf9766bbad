"""The web section's actor: the HMI's listener, under `services` (none without a runtime to serve)."""

from __future__ import annotations

from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One `web` actor when the config has `web:`. It shares the control API's `Identities` (the users file,
    lock-out and sessions), so a login on either listener is one session and one lock-out count."""
    if wiring.control is None or "web" not in plant.config.sections or wiring.control.options.web_port == 0:
        return []  # no runtime, no web: section, or petra run --web-port 0
    from petra.control.auth import Identities
    from petra.web.actor import WebActor

    identities = wiring.section_state("control").setdefault("identities", Identities(wiring.audit))
    return [ChildSpec("web", WebActor, kwargs={"plant": plant, "runtime": wiring.control, "routes": wiring.routes,
                                               "identities": identities, "state": wiring.section_state("web")})]
