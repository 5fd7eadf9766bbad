import math

import pytest

from petra.blocks import BlockParamError
from tests.blocks.conftest import evaluate, make


def generator(**params):
    return make("DATA_GENERATOR", params)


def tick(block, t, enable=True):
    return evaluate(block, {"enable": enable}, now=t)


@pytest.mark.parametrize(
    ("t", "sine", "square", "ramp"),
    [(0.0, 10.0, 12.0, 8.0), (0.25, 12.0, 12.0, 9.0), (0.5, 10.0, 8.0, 10.0), (0.75, 8.0, 8.0, 11.0)],
)
def test_waveforms_have_the_expected_values_at_known_times(t, sine, square, ramp):
    block = generator(amplitude=2.0, offset=10.0, seed=1)
    tick(block, 100.0)
    out = tick(block, 100.0 + t)
    assert out[0] == pytest.approx(sine)
    assert out[1] == square
    assert out[2] == pytest.approx(ramp)


def test_frequency_scales_the_period():
    block = generator(frequency=2.0)
    tick(block, 0.0)
    assert tick(block, 0.125)[0] == pytest.approx(1.0)
    assert tick(block, 0.5)[2] == pytest.approx(-1.0)


def test_random_output_is_reproducible_with_a_seed_and_within_range():
    def sequence(seed):
        block = generator(seed=seed, amplitude=3.0, offset=1.0)
        return [tick(block, i * 0.1)[3] for i in range(100)]

    seq_a, seq_b, seq_c = sequence(7), sequence(7), sequence(8)
    assert seq_a == seq_b
    assert seq_a != seq_c
    assert all(-2.0 <= x < 4.0 for x in seq_a)


def test_count_increments_once_per_enabled_tick():
    block = generator()
    assert [tick(block, i * 0.1)[4] for i in range(3)] == [1, 2, 3]
    assert tick(block, 0.3, enable=False)[4] == 3


def test_disabled_outputs_hold_and_time_pauses():
    block = generator(seed=3)
    tick(block, 0.0)
    held = tick(block, 0.25)
    assert tick(block, 0.5, enable=False) == held
    assert tick(block, 7.3, enable=False) == held
    resumed = tick(block, 8.0)
    assert resumed[0] == pytest.approx(held[0])
    assert resumed[4] == held[4] + 1
    assert tick(block, 8.25)[0] == pytest.approx(0.0, abs=1e-12)


def test_outputs_before_the_first_enabled_tick_are_the_offset():
    assert tick(generator(offset=5.0), 0.0, enable=False) == (5.0, 5.0, 5.0, 5.0, 0)


def test_enable_is_optional_and_defaults_to_true():
    block = make("DATA_GENERATOR", {}, connected=[])
    assert evaluate(block, {}, now=0.0)[4] == 1


def test_outputs_are_floats_except_the_count():
    out = tick(generator(seed=1), 0.0)
    assert [type(x) for x in out] == [float, float, float, float, int]
    assert math.isfinite(out[3])


@pytest.mark.parametrize(
    ("params", "param"),
    [({"frequency": 0}, "frequency"), ({"amplitude": -1}, "amplitude"), ({"seed": 1.5}, "seed")],
)
def test_generator_params_are_checked(params, param):
    with pytest.raises(BlockParamError) as info:
        generator(**params)
    assert info.value.param == param
