"""The read coalescing S7 and Modbus share (petra/drivers/coalescing.py), as pure functions."""

from __future__ import annotations

from petra.drivers.coalescing import Run, coalesce, grouped

SPANS = [(10, 12), (0, 4), (4, 8), (30, 32), (11, 13)]


def span(index: int) -> tuple[int, int]:
    return SPANS[index]


def test_neighbours_merge_in_address_order_across_holes_up_to_the_gap() -> None:
    assert coalesce(range(len(SPANS)), span, limit=100, max_gap=1) == [
        Run(0, 8, (1, 2)), Run(10, 13, (0, 4)), Run(30, 32, (3,))]
    assert coalesce(range(len(SPANS)), span, limit=100, max_gap=None) == [Run(0, 32, (1, 2, 0, 4, 3))]


def test_a_run_stays_within_the_limit_and_a_longer_range_gets_a_run_of_its_own() -> None:
    assert coalesce([0, 1, 2], lambda i: [(0, 4), (4, 8), (8, 30)][i], limit=8, max_gap=None) == [
        Run(0, 8, (0, 1)), Run(8, 30, (2,))]
    assert Run(8, 30, (2,)).size == 22


def test_indices_are_grouped_by_what_one_request_addresses_in_key_order() -> None:
    assert grouped([("DB", 2), ("MK", 0), ("DB", 1), ("DB", 2)]) == [
        (("DB", 1), [2]), (("DB", 2), [0, 3]), (("MK", 0), [1])]
