"""The sections' whole-plant checks find the same problems whatever order the registry lists them in.

Every section's `declare` runs before any `check`, and `CheckContext.declaring`
settles what they record in one fixed order, so which writer of a signal an
error names first, and which read a warning points at, do not depend on the
registry. Checked over every example config and over a crafted config whose
sections write each other's signals.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from petra.config.checks import BlockChecker, check_sections, check_signals, resolve_signals
from petra.config.context import CheckContext
from petra.config.schema import default_registry
from petra.config.yaml_source import parse_yaml
from petra.registry import SECTIONS
from petra.section import Section

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))

CROSS = textwrap.dedent("""\
    node_id: cross
    signals:
      - {name: declared_int, type: int}
    twilio:
      account_sid: ACtest00000000000000000000000000
      auth_token: t
      from_number: "+15005550006"
      actions:
        - {name: act, trigger_signal: unknown_read, action_type: sms, to_number: "+15005550006", content: x}
        - {name: act, trigger_signal: raed_only, action_type: sms, to_number: "+15005550006", content: x}
    modbus:
      - name: m1
        host: 127.0.0.1
        mappings:
          - {signal: shared, unit_id: 1, table: holding_register, address: 0, data_type: int16}
          - {signal: alarms.flood, unit_id: 1, table: coil, address: 1, data_type: bool}
          - {signal: storage.wal_full, unit_id: 1, table: coil, address: 2, data_type: bool}
          - {signal: read_only, unit_id: 1, table: holding_register, address: 3, data_type: int16, direction: write}
          - {signal: declared_int, unit_id: 1, table: holding_register, address: 4, data_type: float32}
          - {signal: by_drivers, unit_id: 1, table: holding_register, address: 5, data_type: int16}
      - name: m1
        host: 127.0.0.2
        mappings:
          - {signal: unknown_read, unit_id: 1, table: input_register, address: 0, data_type: int16, direction: write}
    s7:
      - name: plc
        ip: 127.0.0.1
        mappings:
          - {signal: shared, area: DB, db_number: 1, address: 0, data_type: int}
          - {signal: alarm.a1.active, area: DB, db_number: 1, address: 2, data_type: bool}
          - {signal: read_only, area: DB, db_number: 1, address: 4, data_type: int, direction: write}
          - {signal: by_drivers, area: DB, db_number: 1, address: 6, data_type: int}
          - {signal: flag, area: DB, db_number: 1, address: 8, bit: 3, data_type: int}
      - name: plc
        ip: 127.0.0.2
        mappings: []
    mqtt:
      broker_host: 127.0.0.1
      writable_signals: [read_only, unknown_read]
      publish_signals:
        - {signal: read_only}
      subscriptions:
        - {topic: a/b, signal: shared, data_type: int}
        - {topic: a/c, signal: alarm.a1.state, data_type: string}
        - {topic: a/d, signal: by_drivers}
        - {topic: a/e, signal: storage.wal_full, data_type: bool}
        - {topic: a/f}
    storage:
      wal: {wal_dir: /nonexistent/wal}
    blocks:
      - name: b1
        type: MOVE
        inputs: {in: read_only}
        outputs: {out: shared}
    alarms:
      alarms:
        - {id: a1, name: A1, signal: unknown_read, condition: above, setpoint: 1.0, severity: warning}
        - {id: a1, name: A1 again, signal: shared, condition: above, setpoint: 2.0, severity: warning}
      contacts:
        - {id: c1, name: C1, preferred_method: sms}
      escalation_chains:
        a1: [c2]
        a3: [c1]
    """)
"""Each section writes signals another section (or a block) writes too, and reads one nobody writes,
with the sections in the file in another order than the checks' (see `DECLARED_ORDER`)."""

BLOCK_SUMMARY = textwrap.dedent("""\
    node_id: summary
    mqtt:
      broker_host: 127.0.0.1
      subscriptions:
        - {topic: a/b, signal: alarms.flood, data_type: bool}
    blocks:
      - name: count
        type: MOVE
        inputs: {in: 3}
        outputs: {out: alarms.active_count}
    alarms:
      alarms:
        - {id: z1, name: Z1, signal: nowhere, condition: above, setpoint: 1.0, severity: warning}
    """)
"""A block writes one of the alarm summary signals, so the alarm runtime writes none of them."""

class _EveryVariableSet(dict[str, str]):
    """An environment in which every ${VAR} is set (the examples document theirs)."""

    def get(self, key: str, default: object = None) -> str:  # type: ignore[override]
        return "set"


Outcome = tuple[list[str], list[str], list[tuple[str, str, str]]]


def _outcome(text: str, filename: str, sections: Sequence[Section]) -> Outcome:
    """Errors and warnings as `petra check` sorts them, and the resolved signals in order."""
    ctx = CheckContext(parse_yaml(text, filename, _EveryVariableSet()))
    check_signals(ctx)
    BlockChecker(ctx, default_registry()).run()
    check_sections(ctx, sections)
    signals = [(s.name, s.type.value, s.group) for s in resolve_signals(ctx)]
    return sorted(map(str, dict.fromkeys(ctx.errors))), sorted(map(str, dict.fromkeys(ctx.warnings))), signals


def _orders() -> list[tuple[Section, ...]]:
    shuffled = []
    for seed in range(4):
        order = list(SECTIONS)
        random.Random(seed).shuffle(order)
        shuffled.append(tuple(order))
    return [tuple(reversed(SECTIONS)), *shuffled]


CASES = [(path.name, path.read_text()) for path in CONFIGS] + [("cross.yaml", CROSS),
                                                               ("block_summary.yaml", BLOCK_SUMMARY)]


@pytest.mark.parametrize(("name", "text"), CASES, ids=[name for name, _ in CASES])
def test_reversed_and_shuffled_registry_orders_find_exactly_the_same_problems(name: str, text: str) -> None:
    expected = _outcome(text, name, SECTIONS)
    for order in _orders():
        assert _outcome(text, name, order) == expected, [s.name for s in order]


def test_a_signal_written_twice_is_reported_where_the_later_check_found_it() -> None:
    """Blocks, then alarms, storage, MQTT, S7, Modbus: the first of these writers is the one named."""
    errors, _, _ = _outcome(CROSS, "cross.yaml", tuple(reversed(SECTIONS)))
    one_writer = "; a signal can have only one writer"
    for message in (
        "cross.yaml:15:18: modbus[0].mappings[0].signal: signal 'shared' is written by block 'b1' (line 54) "
        "and by modbus mapping of connection 'm1'",
        "cross.yaml:16:18: modbus[0].mappings[1].signal: signal 'alarms.flood' is written by the alarm runtime "
        "(line 56) and by modbus mapping of connection 'm1'",
        "cross.yaml:17:18: modbus[0].mappings[2].signal: signal 'storage.wal_full' is written by the storage "
        "subsystem (line 49) and by modbus mapping of connection 'm1'",
        "cross.yaml:20:18: modbus[0].mappings[5].signal: signal 'by_drivers' is written by mqtt subscription "
        "'a/d' (line 45) and by modbus mapping of connection 'm1'",
        "cross.yaml:30:18: s7[0].mappings[1].signal: signal 'alarm.a1.active' is written by alarm 'a1' "
        "(line 57) and by s7 mapping of PLC 'plc'",
        "cross.yaml:32:18: s7[0].mappings[3].signal: signal 'by_drivers' is written by mqtt subscription "
        "'a/d' (line 45) and by s7 mapping of PLC 'plc'",
        "cross.yaml:46:28: mqtt.subscriptions[3].signal: signal 'storage.wal_full' is written by the storage "
        "subsystem (line 49) and by mqtt subscription 'a/e'",
    ):
        assert message + one_writer in errors


def test_a_signal_nobody_writes_is_reported_at_the_read_the_earlier_check_found() -> None:
    """Read by a Twilio action (line 9), a Modbus write (24), MQTT (39) and an alarm (57): the alarm's is named."""
    _, warnings, signals = _outcome(CROSS, "cross.yaml", tuple(reversed(SECTIONS)))
    assert [w for w in warnings if "'unknown_read'" in w] == [
        "cross.yaml:57:34: alarms.alarms[0].signal: signal 'unknown_read' is read but never declared or "
        "written; it is created as float with bad quality until something writes it"]
    assert ("unknown_read", "float", "default") in signals


def test_a_block_writing_an_alarm_summary_signal_keeps_the_alarm_runtime_from_writing_any() -> None:
    errors, _, signals = _outcome(BLOCK_SUMMARY, "summary.yaml", tuple(reversed(SECTIONS)))
    assert errors == []
    assert ("alarms.active_count", "int", "logic") in signals
    assert ("alarms.flood", "bool", "mqtt") in signals
    assert not [name for name, _, _ in signals if name == "alarms.unacked_count"]
