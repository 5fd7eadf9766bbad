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
from petra.values import DataType, Quality, Value, coerce


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

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type.value,
            "value": self.value,
            "quality": self.quality.name.lower(),
            "timestamp": self.timestamp,
            "unit": self.unit,
            "description": self.description,
            "owner": self.owner,
        }


class SignalTable:
    """Flat per-slot lists of value, quality and wall-clock timestamp."""

    def __init__(self, specs: Sequence[SignalConfig], owners: dict[str, str] | None = None) -> None:
        now = time.time()
        self.specs: tuple[SignalConfig, ...] = tuple(specs)
        self.names: list[str] = [s.name for s in specs]
        self.index: dict[str, int] = {s.name: i for i, s in enumerate(specs)}
        self.types: list[DataType] = [s.type for s in specs]
        self.values: list[Value] = [coerce(s.initial, s.type) for s in specs]
        self.quality: list[int] = [Quality.GOOD] * len(specs)
        self.timestamps: list[float] = [now] * len(specs)
        self.owners: list[str] = [(owners or {}).get(s.name, s.group) for s in specs]
        self.quality_epoch = 0
        self._quality_lock = threading.Lock()

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
            owner=self.owners[slot],
        )

    def read(self, name: str) -> Sample:
        return self.sample(self.slot(name))

    def match(self, pattern: str = "*") -> list[Sample]:
        """Samples whose names match a shell-style pattern, in table order."""
        if pattern in ("", "*"):
            return [self.sample(i) for i in range(len(self.names))]
        return [self.sample(i) for i, n in enumerate(self.names) if fnmatch.fnmatchcase(n, pattern)]

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
