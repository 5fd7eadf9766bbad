import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.blocks import BlockParamError
from tests.blocks.conftest import evaluate, make

NAN = math.nan


def feed(block, samples, dt=0.1, t0=0.0):
    return [evaluate(block, {"in": x}, now=t0 + i * dt) for i, x in enumerate(samples)]


def test_moving_average_is_the_mean_of_the_last_window_samples():
    out = feed(make("MOVING_AVERAGE", {"window": 3}), [3, 6, 9, 12, 0])
    assert out == [3.0, 4.5, 6.0, 9.0, 7.0]


def test_moving_average_ignores_nan_samples_and_starts_as_nan():
    block = make("MOVING_AVERAGE", {"window": 2})
    out = feed(block, [NAN, 1.0, NAN, 3.0, math.inf, 5.0])
    assert math.isnan(out[0])
    assert out[1:] == [1.0, 1.0, 2.0, 2.0, 4.0]


def test_moving_average_recovers_from_float_cancellation_within_one_window():
    block = make("MOVING_AVERAGE", {"window": 3})
    out = feed(block, [1e16, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert out[-1] == 1.0


@given(
    st.integers(1, 8),
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(NAN)), min_size=1, max_size=60),
)
def test_moving_average_equals_the_mean_of_the_last_window_valid_samples(window, samples):
    block = make("MOVING_AVERAGE", {"window": window})
    valid: list[float] = []
    for i, x in enumerate(samples):
        out = evaluate(block, {"in": x}, now=float(i))
        if not math.isnan(x):
            valid.append(x)
        if valid:
            recent = valid[-window:]
            assert out == pytest.approx(sum(recent) / len(recent), rel=1e-9, abs=1e-6)
        else:
            assert math.isnan(out)


def test_moving_average_needs_a_positive_integer_window():
    for bad in (0, 2.5, "3", True):
        with pytest.raises(BlockParamError) as info:
            make("MOVING_AVERAGE", {"window": bad})
        assert info.value.param == "window"


def test_rate_of_change_is_units_per_second_and_zero_first():
    block = make("RATE_OF_CHANGE")
    assert feed(block, [10.0, 11.0, 13.0], dt=0.5) == [0.0, 2.0, 4.0]


def test_rate_of_change_per_minute_with_per_s_60():
    block = make("RATE_OF_CHANGE", {"per_s": 60})
    assert feed(block, [0.0, 1.0], dt=1.0) == [0.0, 60.0]


def test_rate_of_change_skips_nan_and_holds_when_time_stands_still():
    block = make("RATE_OF_CHANGE")
    assert evaluate(block, {"in": 0.0}, now=0.0) == 0.0
    assert evaluate(block, {"in": 1.0}, now=1.0) == 1.0
    assert evaluate(block, {"in": 5.0}, now=1.0) == 1.0
    assert evaluate(block, {"in": NAN}, now=2.0) == 1.0
    assert evaluate(block, {"in": 7.0}, now=3.0) == 3.0


def test_lowpass_starts_at_the_first_sample_and_reaches_63_percent_after_tau():
    block = make("LOWPASS", {"time_constant_s": 2.0})
    assert evaluate(block, {"in": 0.0}, now=0.0) == 0.0
    out = [evaluate(block, {"in": 1.0}, now=0.1 * i) for i in range(1, 21)]
    assert out[-1] == pytest.approx(1 - math.exp(-1))
    assert all(a < b for a, b in itertools.pairwise(out))


def test_lowpass_response_does_not_depend_on_the_scan_time():
    fine, coarse = make("LOWPASS", {"time_constant_s": 1.0}), make("LOWPASS", {"time_constant_s": 1.0})
    feed(fine, [5.0] + [10.0] * 10, dt=0.1)
    feed(coarse, [5.0, 10.0], dt=1.0)
    assert evaluate(fine, {"in": 10.0}, now=1.0) == pytest.approx(evaluate(coarse, {"in": 10.0}, now=1.0))


def test_lowpass_holds_on_nan_and_zero_dt():
    block = make("LOWPASS", {"time_constant_s": 1.0})
    assert math.isnan(evaluate(block, {"in": NAN}, now=0.0))
    assert evaluate(block, {"in": 4.0}, now=1.0) == 4.0
    assert evaluate(block, {"in": 8.0}, now=1.0) == 4.0
    assert evaluate(block, {"in": NAN}, now=2.0) == 4.0


def test_lowpass_needs_a_positive_time_constant():
    with pytest.raises(BlockParamError) as info:
        make("LOWPASS", {"time_constant_s": 0})
    assert info.value.param == "time_constant_s"


def test_deadband_follows_only_changes_larger_than_the_band():
    block = make("DEADBAND", {"band": 0.5})
    out = feed(block, [10.0, 10.3, 10.5, 10.6, 10.2, 10.1, 9.0, NAN, 9.2])
    assert out == [10.0, 10.0, 10.0, 10.6, 10.6, 10.6, 9.0, 9.0, 9.0]


def test_deadband_first_valid_sample_passes_even_after_nan():
    block = make("DEADBAND", {"band": 1.0})
    assert math.isnan(evaluate(block, {"in": NAN}))
    assert evaluate(block, {"in": 3}) == 3.0
