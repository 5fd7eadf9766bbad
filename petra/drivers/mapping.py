"""What every driver's signal mapping shares: which way the data flows."""

from __future__ import annotations

DIRECTIONS = ("read", "write", "read_write")


class Directional:
    """`reads` / `writes` for a mapping whose `direction` is read, write or read_write."""

    direction: str

    @property
    def reads(self) -> bool:
        return self.direction in ("read", "read_write")

    @property
    def writes(self) -> bool:
        return self.direction in ("write", "read_write")
