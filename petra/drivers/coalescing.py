"""Read coalescing shared by the polling drivers: the fewest reads that cover a set of address ranges.

A driver groups its mappings by what one request can address (an S7 area and
DB, a Modbus unit and table), gives each mapping's range in that space, and
`coalesce` merges neighbours greedily in address order while the merged range
stays within the request's `limit` and the hole between two neighbours is at
most `max_gap` (None: any hole that fits). Reading a hole costs bytes on the
wire; another request costs a round trip. A range longer than `limit` gets a
read of its own. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Run:
    """One merged read: addresses `start` .. `end` (exclusive), serving the ranges `members` (their indices)."""

    start: int
    end: int
    members: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.end - self.start


def grouped(keys: Iterable[K]) -> list[tuple[K, list[int]]]:
    """The indices of `keys` grouped by key, groups in key order (each request addresses one group)."""
    groups: dict[K, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return sorted(groups.items())


def coalesce(members: Iterable[int], span: Callable[[int], tuple[int, int]], limit: int,
             max_gap: int | None) -> list[Run]:
    """`members` (indices whose `span(index)` is their (start, end)) merged into the fewest runs."""
    runs: list[Run] = []
    current: list[int] = []
    start = end = 0
    for index in sorted(members, key=span):
        m_start, m_end = span(index)
        if current:
            new_end = max(end, m_end)
            if new_end - start <= limit and (max_gap is None or m_start - end <= max_gap):
                current.append(index)
                end = new_end
                continue
            runs.append(Run(start, end, tuple(current)))
        current, start, end = [index], m_start, m_end
    if current:
        runs.append(Run(start, end, tuple(current)))
    return runs
