"""Chains are the connected components of each task's blocks; a wire between tasks is a signal read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from petra.config.model import BlockConfig, BlockInput
from petra.logic.graph import AlgebraicLoopError, partition
from tests.config.support import problems


def block(name: str, reads: tuple[str, ...] = (), writes: tuple[str, ...] = (), task: str = "main") -> BlockConfig:
    inputs = tuple(BlockInput(f"in{i}", signal=s) for i, s in enumerate(reads, 1))
    return BlockConfig(name, "ADD", inputs, {f"out{i}": s for i, s in enumerate(writes)}, {}, task=task)


def shape(chains) -> list[tuple[str, str, list[str]]]:
    return [(c.name, c.task, [b.name for b in c.blocks]) for c in chains]


def test_a_wire_between_two_tasks_neither_joins_nor_orders_their_chains():
    blocks = [block("a", writes=("x",), task="fast"), block("b", reads=("x",), writes=("y",)),
              block("c", reads=("y",), writes=("z",), task="fast")]
    assert shape(partition(blocks)) == [("a", "fast", ["a"]), ("b", "main", ["b"]), ("c", "fast", ["c"])]
    # the same blocks in one task are one chain
    assert shape(partition([replace(b, task="main") for b in blocks])) == [("a", "main", ["a", "b", "c"])]


def test_chains_keep_config_order_of_their_first_block_across_tasks():
    blocks = [block("m1", writes=("p",)), block("f1", writes=("q",), task="fast"),
              block("m2", reads=("p",), writes=("r",)), block("e1", reads=("q",), writes=("s",), task="ev"),
              block("f2", reads=("q",), writes=("t",), task="fast")]
    assert shape(partition(blocks)) == [("m1", "main", ["m1", "m2"]), ("f1", "fast", ["f1", "f2"]),
                                        ("e1", "ev", ["e1"])]


def test_a_loop_through_two_tasks_is_no_algebraic_loop_but_one_within_a_task_is():
    across = [block("a", reads=("y",), writes=("x",), task="fast"), block("b", reads=("x",), writes=("y",))]
    assert shape(partition(across)) == [("a", "fast", ["a"]), ("b", "main", ["b"])]
    within = [block("a", reads=("y",), writes=("x",), task="fast"), block("b", reads=("x",), writes=("y",),
                                                                          task="fast")]
    with pytest.raises(AlgebraicLoopError) as info:
        partition(within)
    assert set(info.value.cycle) == {"a", "b"}


def test_an_algebraic_loop_in_a_task_is_a_located_error_naming_the_task():
    found = problems("""
        signals:
          - {name: level, type: float}
        tasks:
          - {name: fast, interval_ms: 10}
        blocks:
          - {name: a, type: ADD, task: fast, inputs: {in1: level, in2: b_out}, outputs: {out: a_out}}
          - {name: b, type: ADD, task: fast, inputs: {in1: a_out, in2: 1.0}, outputs: {out: b_out}}
    """)
    assert len(found) == 1 and found[0].startswith("plant.yaml:6:")
    assert "algebraic loop (in task 'fast') between blocks a -> b -> a" in found[0]
