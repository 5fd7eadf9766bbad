"""The opcua section's actor, under `services` (none without a runtime to serve)."""

from __future__ import annotations

from petra.plant import Plant
from petra.wiring import Wiring
from supervision import ChildSpec


def child_specs(plant: Plant, wiring: Wiring) -> list[ChildSpec]:
    """One `opcua` actor when the config has `opcua:`. It shares the control API's `Identities` (the users file,
    lock-out), so a wrong password on OPC-UA counts toward the same lock-out as one on the web HMI."""
    if wiring.control is None or "opcua" not in plant.config.sections:
        return []
    from petra.control.auth import Identities
    from petra.opcua.actor import OpcuaActor
    from petra.opcua.metrics import OpcuaMetrics

    identities = wiring.section_state("control").setdefault("identities", Identities(wiring.audit))
    state = wiring.section_state("opcua")
    registry = plant.metrics.registry
    kept = state.get("metrics")
    if not (isinstance(kept, tuple) and kept[0] is registry):
        kept = state["metrics"] = (registry, OpcuaMetrics(registry))
    return [ChildSpec("opcua", OpcuaActor, kwargs={"plant": plant, "runtime": wiring.control,
                                                   "identities": identities, "metrics": kept[1],
                                                   "wiring": wiring}, shutdown_timeout=15.0)]
