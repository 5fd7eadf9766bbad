"""The block graph: connected components become chains, each in topological order.

Two blocks are connected when one writes a signal the other reads. A cycle
(an algebraic loop: a block's output feeds back into its own input within one
scan, without a delay) has no evaluation order and is refused.

The graph is split per task first (`BlockConfig.task`, `petra.tasks`): a
chain's blocks all run in one task. A wire between blocks of two tasks is
only a signal read, as IEC 61131-3 global variables between tasks: the reader
sees the latest value the other task wrote, it neither orders nor joins their
chains, and it cannot close an algebraic loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only a type here: `petra.config.checks` runs `partition` to find loops,
    # so importing the config package at run time would close a cycle.
    from petra.config.model import BlockConfig


class AlgebraicLoopError(ValueError):
    """The blocks in `cycle` feed each other in a loop (first block repeated last)."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("algebraic loop between blocks: " + " -> ".join(cycle))


@dataclass(frozen=True)
class Chain:
    """A connected component of the block graph in evaluation order."""

    name: str
    blocks: tuple[BlockConfig, ...]
    task: str = "main"


def partition(blocks: Sequence[BlockConfig]) -> list[Chain]:
    """Split `blocks` into chains, per task; raise AlgebraicLoopError on a cycle within a task.

    Chains are named after their first block in config order and listed in
    config order of that block, so names are stable across reloads (block
    names are unique, so chain names are unique across tasks too).
    """
    by_task: dict[str, list[BlockConfig]] = {}
    for block in blocks:
        by_task.setdefault(block.task, []).append(block)
    if len(by_task) <= 1:
        return _partition_one(blocks, blocks[0].task if blocks else "main")
    order = {block.name: index for index, block in enumerate(blocks)}
    chains = [chain for task, members in by_task.items() for chain in _partition_one(members, task)]
    return sorted(chains, key=lambda chain: min(order[b.name] for b in chain.blocks))


def _partition_one(blocks: Sequence[BlockConfig], task: str) -> list[Chain]:
    writer: dict[str, int] = {}
    for index, block in enumerate(blocks):
        for signal in block.outputs.values():
            writer[signal] = index

    successors: list[list[int]] = [[] for _ in blocks]
    predecessors: list[list[int]] = [[] for _ in blocks]
    for index, block in enumerate(blocks):
        for signal in block.input_signals():
            source = writer.get(signal)
            if source is not None:
                successors[source].append(index)
                predecessors[index].append(source)

    # `@prev` reads tie blocks into one chain (they share state across scans)
    # but impose no order, so they are links for grouping only.
    links: list[list[int]] = [[] for _ in blocks]
    for index, block in enumerate(blocks):
        for signal in block.previous_signals():
            source = writer.get(signal)
            if source is not None:
                links[source].append(index)
                links[index].append(source)

    components = _components(len(blocks), successors, predecessors, links)
    chains = []
    for members in components:
        order = _topological(members, successors, predecessors, blocks)
        chains.append(Chain(name=blocks[members[0]].name, blocks=tuple(blocks[i] for i in order), task=task))
    return chains


def _components(
    count: int, successors: list[list[int]], predecessors: list[list[int]], links: list[list[int]]
) -> list[list[int]]:
    seen = [False] * count
    components = []
    for start in range(count):
        if seen[start]:
            continue
        seen[start] = True
        stack = [start]
        members = []
        while stack:
            node = stack.pop()
            members.append(node)
            for nxt in successors[node] + predecessors[node] + links[node]:
                if not seen[nxt]:
                    seen[nxt] = True
                    stack.append(nxt)
        components.append(sorted(members))
    return components


def _topological(
    members: list[int],
    successors: list[list[int]],
    predecessors: list[list[int]],
    blocks: Sequence[BlockConfig],
) -> list[int]:
    """Kahn's algorithm, ties broken by config order so output is deterministic."""
    import heapq

    indegree = {m: len(predecessors[m]) for m in members}
    ready = [m for m in members if indegree[m] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) != len(members):
        left = [m for m in members if indegree[m] > 0]
        raise AlgebraicLoopError(_find_cycle(left, predecessors, blocks))
    return order


def _find_cycle(left: list[int], predecessors: list[list[int]], blocks: Sequence[BlockConfig]) -> list[str]:
    """One concrete cycle among the nodes Kahn's algorithm could not order.

    Every such node still has a predecessor among them, so walking backwards
    must revisit a node; the walk from there is the cycle (reversed).
    """
    remaining = set(left)
    node = min(left)
    path: list[int] = []
    position: dict[int, int] = {}
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = min(n for n in predecessors[node] if n in remaining)
    cycle = list(reversed(path[position[node]:]))
    cycle.append(cycle[0])
    return [blocks[i].name for i in cycle]
