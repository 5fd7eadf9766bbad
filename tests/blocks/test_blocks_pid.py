import math

import pytest

from petra.blocks import BlockParamError
from tests.blocks.conftest import evaluate, make

NAN = math.nan


def pid(**params):
    return make("PID", params, connected=["pv", "sp", "manual", "manual_value"])


def tick(block, t, pv, sp, manual=False, manual_value=0.0):
    return evaluate(block, {"pv": pv, "sp": sp, "manual": manual, "manual_value": manual_value}, now=t)


def test_proportional_output_is_kp_times_error():
    assert tick(pid(kp=2.0), 0.0, pv=40, sp=50) == 20.0


def test_direct_action_reverses_the_error():
    assert tick(pid(kp=2.0, action="direct"), 0.0, pv=60, sp=50) == 20.0
    assert tick(pid(kp=2.0, action="direct"), 0.0, pv=40, sp=50) == 0.0


def test_output_is_limited_to_out_min_and_out_max():
    block = pid(kp=10.0, out_min=-5.0, out_max=5.0)
    assert tick(block, 0.0, pv=0, sp=100) == 5.0
    assert tick(block, 1.0, pv=100, sp=0) == -5.0


def test_integral_accumulates_error_times_dt_from_now():
    block = pid(kp=0.0, ki=0.5)
    assert tick(block, 10.0, pv=0, sp=10) == 0.0
    assert tick(block, 11.0, pv=0, sp=10) == pytest.approx(5.0)
    assert tick(block, 13.0, pv=0, sp=10) == pytest.approx(15.0)


def test_no_integration_when_time_does_not_advance():
    block = pid(kp=0.0, ki=1.0)
    tick(block, 1.0, pv=0, sp=10)
    assert tick(block, 2.0, pv=0, sp=10) == pytest.approx(10.0)
    assert tick(block, 2.0, pv=0, sp=10) == pytest.approx(10.0)
    assert tick(block, 1.5, pv=0, sp=10) == pytest.approx(10.0)


def test_set_point_step_gives_no_derivative_kick():
    block = pid(kp=0.0, kd=5.0, out_min=-100.0)
    tick(block, 0.0, pv=10, sp=10)
    assert tick(block, 0.1, pv=10, sp=50) == 0.0


def test_derivative_acts_on_the_measurement():
    block = pid(kp=0.0, kd=2.0, out_min=-100.0)
    tick(block, 0.0, pv=10, sp=10)
    assert tick(block, 0.5, pv=11, sp=10) == pytest.approx(-4.0)
    direct = pid(kp=0.0, kd=2.0, out_min=-100.0, action="direct")
    tick(direct, 0.0, pv=10, sp=10)
    assert tick(direct, 0.5, pv=11, sp=10) == pytest.approx(4.0)


def test_derivative_filter_softens_a_measurement_step():
    raw = pid(kp=0.0, kd=2.0, out_min=-100.0)
    filtered = pid(kp=0.0, kd=2.0, out_min=-100.0, derivative_filter_s=1.0)
    for block in (raw, filtered):
        tick(block, 0.0, pv=10, sp=10)
    assert tick(raw, 0.5, pv=11, sp=10) == pytest.approx(-4.0)
    assert tick(filtered, 0.5, pv=11, sp=10) == pytest.approx(-2.0 / 1.5)
    assert -4.0 < tick(filtered, 1.0, pv=11, sp=10) < 0.0


def test_anti_windup_leaves_saturation_as_soon_as_the_error_reverses():
    block = pid(kp=1.0, ki=0.5)
    t = 0.0
    for _ in range(3600):
        out = tick(block, t, pv=50, sp=60)
        t += 1.0
    assert out == 100.0
    out = tick(block, t, pv=70, sp=60)
    assert out < 100.0
    assert tick(block, t + 1.0, pv=70, sp=60) < out


def test_anti_windup_at_the_lower_limit_too():
    block = pid(kp=1.0, ki=0.5, action="direct")
    for i in range(1000):
        out = tick(block, float(i), pv=50, sp=60)
    assert out == 0.0
    assert tick(block, 1000.0, pv=70, sp=60) > 0.0


def test_manual_mode_outputs_manual_value_clamped():
    block = pid(kp=1.0, ki=1.0)
    assert tick(block, 0.0, pv=0, sp=50, manual=True, manual_value=42.0) == 42.0
    assert tick(block, 1.0, pv=0, sp=50, manual=True, manual_value=150.0) == 100.0


def test_switching_from_manual_to_auto_is_bumpless():
    block = pid(kp=2.0, ki=0.1, kd=1.0)
    t = 0.0
    for _ in range(50):
        tick(block, t, pv=30, sp=40, manual=True, manual_value=42.0)
        t += 0.1
    first_auto = tick(block, t, pv=30, sp=40)
    assert first_auto == pytest.approx(42.0 + 0.1 * 10 * 0.1)


def test_nan_pv_holds_the_last_output_and_recovers_without_a_kick():
    block = pid(kp=1.0, kd=10.0)
    tick(block, 0.0, pv=40, sp=50)
    assert tick(block, 1.0, pv=40, sp=50) == 10.0
    assert tick(block, 2.0, pv=NAN, sp=50) == 10.0
    assert tick(block, 3.0, pv=NAN, sp=50) == 10.0
    assert tick(block, 4.0, pv=45, sp=50) == 5.0


def test_nan_pv_in_manual_still_follows_manual_value():
    block = pid(kp=1.0)
    assert tick(block, 0.0, pv=NAN, sp=50, manual=True, manual_value=33.0) == 33.0


def test_first_output_before_any_valid_sample_is_zero_within_limits():
    assert tick(pid(kp=1.0, out_min=10.0), 0.0, pv=NAN, sp=0) == 10.0


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "kp"),
        ({"kp": 1, "out_min": 5, "out_max": 5}, "out_max"),
        ({"kp": 1, "action": "sideways"}, "action"),
        ({"kp": -1}, "kp"),
        ({"kp": 1, "ki": -0.1}, "ki"),
        ({"kp": 1, "derivative_filter_s": -1}, "derivative_filter_s"),
        ({"kp": 1, "gain": 2}, "gain"),
    ],
)
def test_pid_params_are_checked(params, param):
    with pytest.raises(BlockParamError) as info:
        make("PID", params)
    assert info.value.param == param


def test_nan_manual_value_holds_the_output_and_keeps_the_transfer_bumpless():
    block = pid(kp=1.0, ki=0.1)
    tick(block, 0.0, pv=40, sp=50, manual=True, manual_value=30.0)
    assert tick(block, 1.0, pv=45, sp=50, manual=True, manual_value=NAN) == 30.0
    assert tick(block, 2.0, pv=45, sp=50) == pytest.approx(30.0 + 0.1 * 5 * 1.0)
