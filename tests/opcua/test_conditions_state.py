"""The ISA-18.2 -> OPC-UA condition mapping, driven by PETRA's real alarm state machine."""

from __future__ import annotations

from typing import Any

import pytest

from petra.alarms.config import AlarmSpec
from petra.alarms.states import AlarmMachine
from petra.opcua.condition_state import (
    EXCLUSIVE_LIMIT,
    NON_EXCLUSIVE_LIMIT,
    OFF_NORMAL,
    ONE_SHOT_SHELVED,
    TIMED_SHELVED,
    UNSHELVED,
    ConditionFields,
    condition_fields,
    condition_type,
    severity_of,
)

T0 = 1_000_000.0


def machine(**fields: Any) -> AlarmMachine:
    spec = {"id": "hi", "signal": "tank.level", "condition": "above", "setpoint": 80.0, "require_ack": True, **fields}
    return AlarmMachine(AlarmSpec(**spec))


def opc(m: AlarmMachine, now: float = T0) -> ConditionFields:
    return condition_fields(m.view(now), m.spec.condition, m.spec.severity, "msg", now)


def test_types_by_condition() -> None:
    assert [condition_type(c) for c in ("true", "false", "equal", "not_equal")] == [OFF_NORMAL] * 4
    assert condition_type("above") == condition_type("below") == EXCLUSIVE_LIMIT
    assert condition_type("deviation") == NON_EXCLUSIVE_LIMIT


def test_severity_falls_in_part_9_bands_and_keeps_the_order() -> None:
    values = [severity_of(s) for s in ("info", "warning", "critical", "emergency")]
    assert values == sorted(values) and len(set(values)) == 4
    assert 1 <= values[0] <= 200 and 201 <= values[1] <= 400 and 601 <= values[2] <= 800
    assert 801 <= values[3] <= 1000


def test_normal_is_not_retained() -> None:
    f = opc(machine())
    assert (f.active, f.acked, f.confirmed, f.enabled, f.retain) == (False, True, True, True, False)
    assert f.shelving == UNSHELVED and not f.suppressed_or_shelved and f.limit_state is None
    assert f.text("ActiveState") == "Inactive" and f.text("AckedState") == "Acknowledged"


def test_the_life_of_an_alarm_that_needs_acknowledging() -> None:
    m = machine(severity="critical")
    m.evaluate(90.0, 80.0, False, T0)
    f = opc(m)
    assert (f.active, f.acked, f.retain, f.limit_state, f.severity) == (True, False, True, "High", 700)
    assert f.message == "msg"
    m.ack("user:alice", T0 + 1)
    f = opc(m)
    assert (f.active, f.acked, f.retain) == (True, True, True)
    m.evaluate(70.0, 80.0, False, T0 + 2)
    f = opc(m)
    assert (f.active, f.acked, f.retain, f.limit_state) == (False, True, False, None)


def test_return_to_normal_unacknowledged_is_retained() -> None:
    m = machine()
    m.evaluate(90.0, 80.0, False, T0)
    m.evaluate(70.0, 80.0, False, T0 + 1)
    assert m.view(T0)["state"] == "rtn_unacked"
    f = opc(m)
    assert (f.active, f.acked, f.retain) == (False, False, True)


def test_a_latched_alarm_is_unconfirmed_until_reset() -> None:
    m = machine(auto_reset=False)
    m.evaluate(90.0, 80.0, False, T0)
    m.ack("user:alice", T0 + 1)
    m.evaluate(70.0, 80.0, False, T0 + 2)
    f = opc(m)
    assert (f.confirmed, f.latched, f.retain) == (False, True, True)
    m.reset("user:alice", T0 + 3)
    f = opc(m)
    assert (f.confirmed, f.retain) == (True, False)


@pytest.mark.parametrize("duration, shelving", [(600.0, TIMED_SHELVED), (None, ONE_SHOT_SHELVED)])
def test_shelved_is_shelved_and_retained(duration: float | None, shelving: str) -> None:
    m = machine()
    m.evaluate(90.0, 80.0, False, T0)
    m.shelve_for("user:bob", "sensor being replaced", T0 + 1, duration)
    f = opc(m, T0 + 100)
    assert f.shelving == shelving and f.suppressed_or_shelved and f.retain
    assert f.unshelve_in_ms == (pytest.approx(501_000.0) if duration else 0.0)
    m.unshelve("user:bob", T0 + 200)
    f = opc(m, T0 + 200)
    assert f.shelving == UNSHELVED and not f.suppressed_or_shelved
    assert (f.active, f.acked) == (True, False)  # still in alarm: annunciated again


def test_suppressed_by_design_is_not_retained() -> None:
    m = machine(suppress_when="tank.maintenance")
    m.evaluate(90.0, 80.0, True, T0)
    f = opc(m)
    assert (f.suppressed, f.suppressed_or_shelved, f.retain, f.shelving) == (True, True, False, UNSHELVED)
    assert f.text("SuppressedState") == "Suppressed"


def test_out_of_service_is_disabled() -> None:
    m = machine()
    m.set_enabled(False, "user:eve", "decommissioned", T0)
    f = opc(m)
    assert (f.enabled, f.out_of_service, f.retain) == (False, True, False)
    assert f.text("EnabledState") == "Disabled"


def test_low_limit_and_deviation_sides() -> None:
    m = machine(condition="below", setpoint=10.0)
    m.evaluate(5.0, 10.0, False, T0)
    assert opc(m).limit_state == "Low"
    m = machine(condition="deviation", setpoint=50.0, max_deviation=5.0)
    m.evaluate(40.0, 50.0, False, T0)
    f = opc(m)
    assert (f.high, f.low, f.limit_state) == (False, True, None)
    assert f.text("LowState") == "Low active"
    m.evaluate(60.0, 50.0, False, T0 + 1)
    assert (opc(m).high, opc(m).low) == (True, False)


def test_a_boolean_alarm_has_no_limit_state() -> None:
    m = machine(condition="true", setpoint=None, signal="pump.tripped")
    m.evaluate(True, None, False, T0)
    f = opc(m)
    assert (f.active, f.limit_state, f.high, f.low) == (True, None, False, False)
