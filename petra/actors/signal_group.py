"""A signal-group actor: the single writer of a group of signals.

Drivers, the control API and MQTT send it `UpdateSignals`; it coerces each
value to the signal's type, stamps time and quality, writes the shared table
and notifies subscribers once per batch. A value that cannot be coerced is
logged, counted and turns that signal's quality bad; the rest of the batch is
applied.
"""

from __future__ import annotations

import logging
import time

from petra.messages import Change, ForceSignal, SignalsChanged, SignalUpdate, UpdateSignals
from petra.owners import Owner
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.values import CoercionError, Quality, coerce
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class SignalWriteError(ValueError):
    """A write that was refused: unknown signal, not owned here, or bad value."""


class SignalGroupActor(SupervisedActor):
    """Owns the slots of one group in the shared table."""

    def __init__(self, plant: Plant, group: str, slots: list[int]) -> None:
        super().__init__()
        self.plant = plant
        self.group = group
        self.owner = Owner.group(group)
        self.slots = frozenset(slots)
        self._updates = plant.metrics.signal_updates.labels(group)
        self._errors = plant.metrics.signal_errors.labels(group)
        self._refusals = RateLimitedLog(log)  # a device repeating a bad value must not flood the log
        self._suppressed = plant.metrics.forced_suppressed.labels(group)

    def on_receive(self, message: object) -> object:
        if isinstance(message, UpdateSignals):
            return self.apply(message.updates, message.source)
        if isinstance(message, ForceSignal):
            return self._force(message)
        return super().on_receive(message)

    def _force(self, message: ForceSignal) -> str | None:
        table = self.plant.table
        slot = table.index.get(message.name)
        if slot is None or slot not in self.slots:
            return f"signal '{message.name}' is not owned by group '{self.group}'"
        if message.value is None:
            table.forced.pop(slot, None)
            return None
        value = coerce(message.value, table.types[slot])
        table.forced[slot] = (value, message.reason)
        self.apply([SignalUpdate(message.name, value)], "force", forcing=True)
        return None

    def apply(
        self, updates: tuple[SignalUpdate, ...] | list[SignalUpdate], source: str = "", forcing: bool = False
    ) -> list[str]:
        """Write a batch; returns one message per refused update (empty when all applied).

        Updates to a forced signal are dropped (counted) until it is released.
        """
        table = self.plant.table
        now = time.time()
        changes: list[Change] = []
        errors: list[str] = []
        quality_changed = False
        for update in updates:
            slot = table.index.get(update.name)
            if slot is None or slot not in self.slots:
                errors.append(f"signal '{update.name}' is not owned by group '{self.group}'")
                continue
            if slot in table.forced and not forcing:
                self._suppressed.inc()
                continue
            quality = Quality.GOOD if update.quality is None else update.quality
            try:
                value = coerce(update.value, table.types[slot])
            except CoercionError as exc:
                errors.append(f"{update.name}: {exc}")
                value = table.values[slot]
                quality = Quality.BAD
            if table.quality[slot] != quality:
                table.quality[slot] = quality
                quality_changed = True
            elif table.values[slot] == value:
                continue
            table.values[slot] = value
            table.timestamps[slot] = now
            changes.append(Change(slot, update.name, value, quality, now))
        if quality_changed:
            table.bump_quality_epoch()
        if errors:
            self._errors.inc(len(errors))
            self._refusals.warning(source or "?", "group %s refused %d update(s) from %s: %s", self.group,
                                   len(errors), source or "?", "; ".join(errors[:5]))
        if changes:
            self._updates.inc(len(changes))
            if self.plant.bus.has_subscribers:
                self.plant.bus.publish(SignalsChanged(self.owner, tuple(changes)))
        return errors
