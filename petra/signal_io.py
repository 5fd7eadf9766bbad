"""How actors outside the core write signals: through the owning group's actor.

Drivers, the control API and MQTT never touch the table for writes; they send
`UpdateSignals` to the signal-group actor that owns the signal, looked up in
the supervision registry each time (so a restarted group is found again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pykka import ActorDeadError

from petra.messages import SignalUpdate, UpdateSignals
from petra.owners import Owner
from petra.paths import group_path
from petra.plant import Plant
from petra.values import Quality, Value
from supervision import Registry


class SignalWriter:
    """Routes updates to the group actors that own them."""

    def __init__(self, plant: Plant, registry: Registry, source: str) -> None:
        self.plant = plant
        self.registry = registry
        self.source = source

    def owner_of(self, name: str) -> Owner:
        return self.plant.table.owners[self.plant.table.slot(name)]

    def write(self, updates: Iterable[SignalUpdate]) -> list[str]:
        """Tell each owning group its batch; returns names whose owner is not reachable."""
        batches: dict[Owner, list[SignalUpdate]] = defaultdict(list)
        for update in updates:
            batches[self.owner_of(update.name)].append(update)
        lost: list[str] = []
        for owner, batch in batches.items():
            # only a group takes writes: a chain computes its outputs itself
            ref = None if owner.is_chain else self.registry.get(group_path(owner.name))
            if ref is None:
                lost.extend(u.name for u in batch)
                continue
            try:
                ref.tell(UpdateSignals(tuple(batch), self.source))
            except ActorDeadError:
                lost.extend(u.name for u in batch)
        return lost

    def write_values(self, values: dict[str, Value], quality: Quality | None = None) -> list[str]:
        return self.write(SignalUpdate(name, value, quality) for name, value in values.items())

    def mark_bad(self, names: Iterable[str]) -> list[str]:
        """Keep the last values but flag them bad (e.g. the PLC went away)."""
        table = self.plant.table
        return self.write(
            SignalUpdate(name, table.values[table.slot(name)], Quality.BAD) for name in names
        )
