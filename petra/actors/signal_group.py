"""A signal-group actor: the single writer of a group of signals.

Drivers, the control API and MQTT send it `UpdateSignals`; it coerces each
value to the signal's type, stamps time and quality, writes the shared table
and notifies subscribers once per batch. A value that cannot be coerced is
logged, counted and turns that signal's quality bad; the rest of the batch is
applied.

A driver whose thread reads the values (the MQTT bridge's network thread) can
`deliver` a batch instead of telling it: while the group is idle (nothing of
the driver's still queued, no message being handled) the batch is applied in
the driver's thread at once, so the read, the change and whatever it triggers
(an event task's run, a publish) happen without a thread hand-off; otherwise it
is told, as any message, and handled in turn (`SupervisedActor.call_here`).
"""

from __future__ import annotations

import logging
import time

from petra import deferred
from petra.messages import ForceSignal, SignalsChanged, SignalUpdate, UpdateSignals
from petra.owners import Owner
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.values import CoercionError, DataType, Quality, Value, coerce
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
        self.allow_calls_here()

    def on_start(self) -> None:
        self.plant.deliver[self.group] = self.deliver

    def on_stop(self) -> None:
        self._leave()

    def on_failure(self, *_exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        if self.plant.deliver.get(self.group) == self.deliver:
            del self.plant.deliver[self.group]

    def deliver(self, message: UpdateSignals) -> None:
        """From a driver's thread: apply `message` there if the group is idle, else tell it (module docstring,
        `SupervisedActor.call_here`)."""
        self.call_here(lambda: self._update(message), message)

    def on_receive(self, message: object) -> object:
        if isinstance(message, UpdateSignals):
            return self._update(message)
        if isinstance(message, ForceSignal):
            return self._force(message)
        return super().on_receive(message)

    def _update(self, message: UpdateSignals) -> list[str]:
        if message.frames:
            return self._apply_frames(message)
        return self.apply(message.updates, message.source)

    def _apply_frames(self, message: UpdateSignals) -> list[str]:
        """Each frame its own change, in order: listeners (an event task) see every one; what they publish
        leaves at the end of the batch (`petra.deferred`)."""
        updates, errors, start = message.updates, [], 0
        with deferred.batch():
            for end in (*message.frames, len(updates)):
                errors.extend(self.apply(updates[start:end], message.source))
                start = end
        return errors

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
        The change event is built as columns (no `Change` per update): this is the
        path every driver value takes, an MQTT flood's thousands per batch.
        """
        table = self.plant.table
        now = time.time()
        index, owned, forced, types = table.index, self.slots, table.forced, table.types
        values, qualities, stamps = table.values, table.quality, table.timestamps
        slots: list[int] = []
        new_values: list[Value] = []
        new_qualities: list[int] = []
        errors: list[str] = []
        quality_changed = False
        for update in updates:
            slot = index.get(update.name)
            if slot is None or slot not in owned:
                errors.append(f"signal '{update.name}' is not owned by group '{self.group}'")
                continue
            if forced and slot in forced and not forcing:
                self._suppressed.inc()
                continue
            quality = _GOOD if update.quality is None else update.quality
            value = update.value
            kind = types[slot]
            if type(value) is not _EXACT.get(kind):  # a value already of the signal's type needs no coercion
                try:
                    value = coerce(value, kind)
                except CoercionError as exc:
                    errors.append(f"{update.name}: {exc}")
                    value = values[slot]
                    quality = Quality.BAD
            if qualities[slot] != quality:
                qualities[slot] = quality
                quality_changed = True
            elif values[slot] == value:
                continue
            values[slot] = value
            stamps[slot] = now
            slots.append(slot)
            new_values.append(value)
            new_qualities.append(int(quality))
        if quality_changed:
            table.bump_quality_epoch()
        if errors:
            self._errors.inc(len(errors))
            self._refusals.warning(source or "?", "group %s refused %d update(s) from %s: %s", self.group,
                                   len(errors), source or "?", "; ".join(errors[:5]))
        if slots:
            self._updates.inc(len(slots))
            bus = self.plant.bus
            if bus.has_subscribers:
                bus.publish(SignalsChanged(self.owner, slots=tuple(slots), values=tuple(new_values),
                                           qualities=tuple(new_qualities), timestamp=now, names=table.names))
        return errors


_GOOD = Quality.GOOD
_EXACT: dict[DataType, type] = {DataType.FLOAT: float, DataType.BOOL: bool, DataType.STRING: str}
"""Python types whose values `coerce` returns as they are (an int is range-checked, so it is always coerced)."""
