"""The ISA-18.2 state machine, driven directly with an injected clock (no threads)."""

from __future__ import annotations

import pytest

from petra.alarms.config import AlarmSpec
from petra.alarms.states import AlarmMachine, CommandRefused, State

T0 = 1_700_000_000.0


def machine(**extra) -> AlarmMachine:
    fields = {"id": "hi", "signal": "t", "condition": "above", "setpoint": 80.0, "require_ack": True}
    fields.update(extra)
    return AlarmMachine(AlarmSpec(**fields))


def events(transitions) -> list[str]:
    return [t.event for t in transitions]


def test_an_alarm_that_requires_acknowledgement_walks_normal_active_acked_and_back_to_normal():
    m = machine()
    assert m.state is State.NORMAL
    assert events(m.evaluate(85.0, 80.0, False, T0)) == ["raised"]
    assert m.state is State.ACTIVE_UNACKED and m.needs_attention
    assert events(m.ack("uid:1000", T0 + 1)) == ["acked"]
    assert m.state is State.ACTIVE_ACKED and not m.needs_attention
    assert events(m.evaluate(70.0, 80.0, False, T0 + 2)) == ["cleared"]
    assert m.state is State.NORMAL


def test_clearing_before_acknowledgement_leaves_it_returned_to_normal_unacknowledged_until_acked():
    m = machine()
    m.evaluate(85.0, 80.0, False, T0)
    m.evaluate(70.0, 80.0, False, T0 + 1)
    assert m.state is State.RTN_UNACKED and m.needs_attention
    m.ack("sms:operator", T0 + 2)
    assert m.state is State.NORMAL and m.acked_by == "sms:operator"


def test_an_alarm_without_acknowledgement_returns_to_normal_by_itself():
    m = machine(require_ack=False)
    m.evaluate(85.0, 80.0, False, T0)
    assert m.state is State.ACTIVE_UNACKED
    m.evaluate(70.0, 80.0, False, T0 + 1)
    assert m.state is State.NORMAL


def test_a_latched_alarm_stays_in_alarm_after_clearing_until_reset_and_reset_is_refused_while_active():
    m = machine(auto_reset=False)
    m.evaluate(85.0, 80.0, False, T0)
    with pytest.raises(CommandRefused, match="still active"):
        m.reset("uid:0", T0 + 1)
    m.ack("uid:0", T0 + 1)
    m.evaluate(70.0, 80.0, False, T0 + 2)
    assert m.state is State.LATCHED and m.active
    assert events(m.reset("uid:0", T0 + 3)) == ["reset"]
    assert m.state is State.NORMAL


def test_deadband_keeps_the_alarm_active_until_the_value_is_back_beyond_the_band():
    m = machine(deadband=2.0, require_ack=False)
    m.evaluate(80.5, 80.0, False, T0)
    assert m.state is State.ACTIVE_UNACKED
    assert m.evaluate(79.0, 80.0, False, T0 + 1) == []  # inside the band: still active
    assert events(m.evaluate(77.9, 80.0, False, T0 + 2)) == ["cleared"]
    assert m.evaluate(79.5, 80.0, False, T0 + 3) == []  # below the limit: does not re-raise
    assert m.state is State.NORMAL


@pytest.mark.parametrize(("condition", "setpoint", "normal", "alarm", "extra"), [
    ("below", 10.0, 12.0, 9.0, {}),
    ("equal", 3.0, 2.0, 3.0, {}),
    ("not_equal", 3.0, 3.0, 4.0, {}),
    ("true", None, False, True, {}),
    ("false", None, True, False, {}),
    ("deviation", 50.0, 52.0, 56.0, {"max_deviation": 5.0}),
])
def test_every_condition_raises_and_clears(condition, setpoint, normal, alarm, extra):
    m = machine(condition=condition, setpoint=setpoint, require_ack=False, **extra)
    assert m.evaluate(normal, setpoint, False, T0) == []
    assert events(m.evaluate(alarm, setpoint, False, T0 + 1)) == ["raised"]
    assert events(m.evaluate(normal, setpoint, False, T0 + 2)) == ["cleared"]


def test_on_delay_raises_only_when_the_condition_held_for_the_whole_delay():
    m = machine(delay_s=10.0)
    assert m.evaluate(85.0, 80.0, False, T0) == []
    assert m.next_wake() == T0 + 10
    assert m.evaluate(70.0, 80.0, False, T0 + 5) == []  # dipped: the delay starts again
    assert m.next_wake() is None
    m.evaluate(85.0, 80.0, False, T0 + 6)
    assert m.wake(T0 + 15.9) == []
    assert events(m.wake(T0 + 16)) == ["raised"]


def test_clear_delay_keeps_the_alarm_active_until_the_condition_stayed_gone():
    m = machine(clear_delay_s=5.0, require_ack=False)
    m.evaluate(85.0, 80.0, False, T0)
    assert m.evaluate(70.0, 80.0, False, T0 + 1) == []
    assert m.evaluate(85.0, 80.0, False, T0 + 2) == []  # back before the delay ran out: stays active, no new raise
    m.evaluate(70.0, 80.0, False, T0 + 3)
    assert m.wake(T0 + 7.9) == []
    assert events(m.wake(T0 + 8)) == ["cleared"]
    assert m.occurrences == 1


def test_a_timed_shelve_hides_the_alarm_records_who_and_why_and_expires_raising_it_again():
    m = machine()
    m.evaluate(85.0, 80.0, False, T0)
    [t] = m.shelve_for("token:ops", "sensor being replaced", T0 + 1, 3600)
    assert t.event == "shelved" and t.who == "token:ops" and t.details["reason"] == "sensor being replaced"
    assert m.state is State.SHELVED and not m.needs_attention
    assert m.shelve["by"] == "token:ops" and m.next_wake() == T0 + 3601
    assert m.wake(T0 + 3600) == []
    [expired] = m.wake(T0 + 3601)
    assert expired.event == "shelve_expired" and expired.details["raised"] is True
    assert m.state is State.ACTIVE_UNACKED and m.occurrences == 2


def test_a_one_shot_shelve_ends_when_the_alarm_clears_and_unshelve_works_any_time():
    m = machine()
    m.evaluate(85.0, 80.0, False, T0)
    m.shelve_for("uid:1000", "known issue", T0 + 1, None)
    assert m.shelve["kind"] == "oneshot"
    assert events(m.evaluate(70.0, 80.0, False, T0 + 2)) == ["shelve_ended"]
    assert m.state is State.NORMAL
    m.shelve_for("uid:1000", "again", T0 + 3, 60)
    assert events(m.unshelve("uid:1000", T0 + 4)) == ["unshelved"]
    with pytest.raises(CommandRefused):
        m.unshelve("uid:1000", T0 + 5)
    with pytest.raises(CommandRefused, match="reason"):
        m.shelve_for("uid:1000", " ", T0 + 5, 60)


def test_suppression_by_design_masks_the_alarm_and_an_alarm_still_active_afterwards_is_annunciated():
    m = machine()
    assert events(m.evaluate(85.0, 80.0, True, T0)) == ["suppressed"]
    assert m.state is State.SUPPRESSED and not m.needs_attention
    [t] = m.evaluate(85.0, 80.0, False, T0 + 1)
    assert t.event == "unsuppressed" and t.details["raised"] is True
    assert m.state is State.ACTIVE_UNACKED


def test_out_of_service_masks_everything_and_commands_are_refused():
    m = machine(enabled=False)
    assert m.state is State.OUT_OF_SERVICE
    m.evaluate(85.0, 80.0, False, T0)
    assert m.state is State.OUT_OF_SERVICE
    with pytest.raises(CommandRefused):
        m.ack("uid:0", T0)
    m2 = machine()
    m2.set_enabled(False, "uid:0", "maintenance", T0)
    m2.evaluate(85.0, 80.0, False, T0 + 1)
    assert m2.state is State.OUT_OF_SERVICE
    [t] = m2.set_enabled(True, "uid:0", "", T0 + 2)
    assert t.details["raised"] is True and m2.state is State.ACTIVE_UNACKED


def test_three_activations_within_a_minute_flag_chattering():
    m = machine(require_ack=False)
    for i in range(3):
        m.evaluate(85.0, 80.0, False, T0 + 10 * i)
        m.evaluate(70.0, 80.0, False, T0 + 10 * i + 1)
    assert m.chattering(T0 + 25)
    assert not m.chattering(T0 + 75)


def test_double_ack_is_refused():
    m = machine()
    m.evaluate(85.0, 80.0, False, T0)
    m.ack("a", T0)
    with pytest.raises(CommandRefused, match="already"):
        m.ack("b", T0)


def test_a_snapshot_restores_pending_delays_shelves_and_ack_state():
    m = machine(delay_s=30.0)
    m.evaluate(85.0, 80.0, False, T0)
    restored = machine(delay_s=30.0)
    restored.restore(m.snapshot())
    assert restored.next_wake() == T0 + 30
    assert events(restored.wake(T0 + 30)) == ["raised"]
    again = machine(delay_s=30.0)
    again.restore(restored.snapshot())
    assert again.state is State.ACTIVE_UNACKED and again.occurrences == 1


def test_a_delay_starting_or_cancelled_changes_what_must_be_stored_but_a_new_value_alone_does_not():
    m = machine(delay_s=30.0)
    stored = m.durable_key()
    assert m.evaluate(85.0, 80.0, False, T0) == []  # the on-delay starts: no transition
    assert m.durable_key() != stored and m.pending_deadline() == T0 + 30
    stored = m.durable_key()
    m.evaluate(86.0, 80.0, False, T0 + 1)
    assert m.durable_key() == stored
    m.evaluate(70.0, 80.0, False, T0 + 2)  # cancelled before it ran out
    assert m.durable_key() != stored and m.pending_deadline() is None
