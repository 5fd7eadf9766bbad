"""The clock's deadline arithmetic, without a clock: `next_deadline` is a pure function of `now`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from petra.clock import next_deadline


def test_a_clock_that_woke_in_time_moves_on_by_one_period() -> None:
    assert next_deadline(10.0, 0.5, now=10.2) == (10.5, 0)


def test_a_clock_that_woke_more_than_a_period_late_skips_the_deadlines_already_past() -> None:
    assert next_deadline(10.0, 0.5, now=11.2) == (11.5, 2)


def test_a_deadline_that_is_exactly_now_counts_as_past() -> None:
    assert next_deadline(10.0, 0.5, now=10.5) == (11.0, 1)


@given(
    start=st.floats(0, 1e6),
    period=st.floats(1e-3, 10.0),
    late=st.floats(0, 1e3),
)
def test_the_next_deadline_is_ahead_of_now_on_the_grid_of_the_first(start: float, period: float, late: float) -> None:
    now = start + late
    deadline, missed = next_deadline(start, period, now)
    # Float rounding can land the result on `now` (start=0, period=0.001, now=1.0) or a hair before it:
    # the clock then ticks at once, on time, which is harmless.
    assert deadline >= now - 1e-9 * max(1.0, now)
    assert missed >= 0
    assert abs(deadline - (start + (missed + 1) * period)) <= 1e-9 * max(1.0, deadline)
