"""What every driver's config shares: which way a mapping's data flows, a polled connection's times."""

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


class Polled:
    """`poll_interval_s` / `timeout_s` for a connection whose settings keep the YAML's milliseconds."""

    poll_interval_ms: int
    timeout_ms: int

    @property
    def poll_interval_s(self) -> float:
        return self.poll_interval_ms / 1000.0

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000.0
