"""The shared signal table: every signal's value, quality and timestamp by slot.

Readers (block chains, the control API, metrics) index the flat lists
directly, without a message round trip. Each slot has exactly one writer: the
signal-group actor or block chain that owns it. A list store of a Python
object is atomic under the GIL, so a reader sees either the old or the new
value, never a torn one.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from petra.config.model import SignalConfig
from petra.owners import REMOVED, Owner
from petra.values import CoercionError, DataType, Quality, Value, coerce


@dataclass(frozen=True)
class Sample:
    """A signal's state at one moment, as readers outside the scan see it."""

    name: str
    type: DataType
    value: Value
    quality: Quality
    timestamp: float
    unit: str = ""
    description: str = ""
    owner: str = ""

    forced: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "forced": self.forced,
            "name": self.name,
            "type": self.type.value,
            "value": self.value,
            "quality": self.quality.name.lower(),
            "timestamp": self.timestamp,
            "unit": self.unit,
            "description": self.description,
            "owner": self.owner,
        }


def initial_quality(spec: SignalConfig) -> Quality:
    """Bad for a signal nothing declares or writes (its value is only a placeholder), else good."""
    return Quality.BAD if spec.unset else Quality.GOOD


class SignalTable:
    """Flat per-slot lists of value, quality and wall-clock timestamp."""

    def __init__(self, specs: Sequence[SignalConfig], owners: dict[str, Owner] | None = None) -> None:
        now = time.time()
        self.specs: list[SignalConfig] = list(specs)
        self.names: list[str] = [s.name for s in specs]
        self.index: dict[str, int] = {s.name: i for i, s in enumerate(specs)}
        self.types: list[DataType] = [s.type for s in specs]
        self.values: list[Value] = [coerce(s.initial, s.type) for s in specs]
        self.quality: list[int] = [initial_quality(s) for s in specs]
        self.timestamps: list[float] = [now] * len(specs)
        self.owners: list[Owner] = [(owners or {}).get(s.name) or Owner.group(s.group) for s in specs]
        self.quality_epoch = 0
        self._quality_lock = threading.Lock()
        # slot -> (value, reason): written only by the slot's owner
        self.forced: dict[int, tuple[Value, str]] = {}

    def __len__(self) -> int:
        return len(self.names)

    def slot(self, name: str) -> int:
        """The slot of `name`; KeyError names the unknown signal."""
        try:
            return self.index[name]
        except KeyError:
            raise KeyError(f"unknown signal '{name}'") from None

    def sample(self, slot: int) -> Sample:
        spec = self.specs[slot]
        return Sample(
            name=self.names[slot],
            type=self.types[slot],
            value=self.values[slot],
            quality=Quality(self.quality[slot]),
            timestamp=self.timestamps[slot],
            unit=spec.unit,
            description=spec.description,
            owner=str(self.owners[slot]),
            forced=slot in self.forced,
        )

    def read(self, name: str) -> Sample:
        return self.sample(self.slot(name))

    def match(self, pattern: str = "*") -> list[Sample]:
        """Samples of live signals whose names match a shell-style pattern, in table order."""
        everything = pattern in ("", "*")
        return [
            self.sample(i)
            for i, n in enumerate(self.names)
            if n in self.index and (everything or fnmatch.fnmatchcase(n, pattern))
        ]

    def staging_copy(self) -> SignalTable:
        """A copy of the layout (not the live values' identity) to plan a reload on."""
        copy = SignalTable.__new__(SignalTable)
        copy.specs = list(self.specs)
        copy.names = list(self.names)
        copy.index = dict(self.index)
        copy.types = list(self.types)
        copy.values = list(self.values)
        copy.quality = list(self.quality)
        copy.timestamps = list(self.timestamps)
        copy.owners = list(self.owners)
        copy.quality_epoch = self.quality_epoch
        copy._quality_lock = threading.Lock()
        copy.forced = dict(self.forced)
        return copy

    def apply_layout(self, specs: Sequence[SignalConfig], owners: dict[str, Owner]) -> None:
        """Adopt a new signal list in place, keeping every surviving signal's slot and value.

        New signals are appended; removed ones leave a tombstone slot (out of the
        index) so running chains' compiled slot numbers stay valid. A signal whose
        type changed is coerced (or reset to its initial value, bad quality).
        """
        now = time.time()
        wanted = {s.name for s in specs}
        for name in [n for n in self.index if n not in wanted]:
            removed = self.index.pop(name)
            self.owners[removed] = REMOVED
            self.forced.pop(removed, None)
        for spec in specs:
            owner = owners.get(spec.name) or Owner.group(spec.group)
            slot = self.index.get(spec.name)
            if slot is None:
                self.specs.append(spec)
                self.names.append(spec.name)
                self.types.append(spec.type)
                self.values.append(coerce(spec.initial, spec.type))
                self.quality.append(initial_quality(spec))
                self.timestamps.append(now)
                self.owners.append(owner)
                self.index[spec.name] = len(self.names) - 1
                continue
            if spec.type != self.types[slot]:
                self.types[slot] = spec.type
                try:
                    self.values[slot] = coerce(self.values[slot], spec.type)
                except CoercionError:
                    self.values[slot] = coerce(spec.initial, spec.type)
                    self.quality[slot] = Quality.BAD
                self.forced.pop(slot, None)
            self.specs[slot] = spec
            self.owners[slot] = owner
        self.bump_quality_epoch()

    def set_quality(self, slots: Iterable[int], quality: Quality) -> None:
        """Change quality of several slots; bumps the epoch chains watch."""
        with self._quality_lock:
            changed = False
            for slot in slots:
                if self.quality[slot] != quality:
                    self.quality[slot] = quality
                    changed = True
            if changed:
                self.quality_epoch += 1

    def bump_quality_epoch(self) -> None:
        with self._quality_lock:
            self.quality_epoch += 1
