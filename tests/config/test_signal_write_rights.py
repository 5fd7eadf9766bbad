"""`writable_by` on signals: the role a remote write needs, its defaults, and the rights it cannot grant."""

from __future__ import annotations

import pytest

from petra.security.roles import Role
from tests.config.support import load, problems

PLANT = """
    signals:
      - {name: setpoint, type: float}
      - {name: limit, type: float, writable_by: engineer}
      - {name: legacy, type: float, writable_by: Administrator}
      - {name: locked, type: float, writable: false}
      - {name: pressure, type: float}
      - {name: opened, type: float, writable_by: operator}
      - {name: high, type: bool}
    blocks:
      - {name: cmp, type: GT, inputs: {in1: setpoint, in2: limit}, outputs: {out: high}}
    mqtt:
      broker_host: 127.0.0.1
      subscriptions:
        - {topic: a, signal: pressure, data_type: float}
        - {topic: b, signal: opened, data_type: float}
        - {topic: c, signal: implicit_reading, data_type: float}
"""


def rights(text: str) -> dict[str, tuple[Role | None, str | None]]:
    return {s.name: (s.writable_by, s.written_by) for s in load(text).signals}


def test_each_signal_gets_the_role_its_remote_writes_need_and_what_writes_it():
    found = rights(PLANT)
    assert found["setpoint"] == (Role.OPERATOR, None)  # only people write it: operator, as `writable` was
    assert found["limit"] == (Role.ENGINEER, None)
    assert found["legacy"] == (Role.ADMIN, None)  # the original PETRA's name, any case
    assert found["locked"] == (None, None)  # writable: false
    assert found["high"] == (None, "block 'cmp'")  # computed every scan
    assert found["pressure"] == (None, "mqtt subscription 'a'")  # a driver writes it: closed unless opened
    assert found["opened"] == (Role.OPERATOR, "mqtt subscription 'b'")  # opened on purpose
    assert found["implicit_reading"] == (None, "mqtt subscription 'c'")


def test_a_signal_only_read_is_written_by_people_so_operators_may_write_it():
    found = rights("""
        signals: [{name: out, type: bool}]
        blocks: [{name: cmp, type: GT, inputs: {in1: undeclared, in2: 1.0}, outputs: {out: out}}]
    """)
    assert found["undeclared"] == (Role.OPERATOR, None)


@pytest.mark.parametrize(("line", "at", "expected"), [
    ("{name: s, type: float, writable_by: superuser}", "superuser",
     "unknown role 'superuser': expected one of viewer, operator, engineer, admin"),
    ("{name: s, type: float, writable_by: ''}", "''",
     "unknown role '': expected one of viewer, operator, engineer, admin"),
    ("{name: s, type: float, writable: false, writable_by: operator}", "operator",
     "set, but signal 's' is writable: false (remove one of the two)"),
])
def test_a_writable_by_that_cannot_mean_anything_is_a_located_error(line, at, expected):
    column = len("  - ") + line.index(at) + 1  # the value's column
    assert problems(f"""
        signals:
          - {line}
    """) == [f"plant.yaml:2:{column}: signals[0].writable_by: {expected}"]


def test_a_writable_by_that_is_not_a_string_is_the_schemas_error():
    assert problems("""
        signals:
          - {name: s, type: float, writable_by: 3}
    """) == ["plant.yaml:2:41: signals[0].writable_by: expected a string, got 3"]


def test_a_signal_a_block_computes_cannot_be_opened_to_remote_writes():
    assert problems("""
        signals:
          - {name: sp, type: float}
          - {name: out, type: bool, writable_by: operator}
        blocks:
          - {name: cmp, type: GT, inputs: {in1: sp, in2: 1.0}, outputs: {out: out}}
    """) == ["plant.yaml:3:42: signals[1].writable_by: signal 'out' is written by block 'cmp' (line 5): it cannot "
             "be written remotely; force it instead (engineer)"]


def test_a_signal_the_alarm_runtime_writes_cannot_be_opened_to_remote_writes():
    found = problems("""
        signals:
          - {name: temp, type: float}
          - {name: alarm.hot.active, type: bool, writable_by: admin}
        alarms:
          alarms:
            - {id: hot, condition: "temp > 80", priority: high, message: hot}
    """)
    assert [p for p in found if "writable_by" in p] == [
        "plant.yaml:3:55: signals[1].writable_by: signal 'alarm.hot.active' is written by alarm 'hot' (line 6): "
        "it cannot be written remotely"]
