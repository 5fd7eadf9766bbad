"""Loading valid configurations: the original example, implicit signals,
literal inputs, section defaults and warnings."""

from __future__ import annotations

import hashlib
import shutil
import socket

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config
from petra.config.model import BlockInput
from petra.values import DataType
from tests.config.support import ORIGINAL_EXAMPLE, load

SECRETS = {"MQTT_USERNAME": "petra", "MQTT_PASSWORD": "secret", "CLICKHOUSE_PASSWORD": "secret"}


def test_the_original_example_loads_when_its_variables_are_set():
    config = load_config(ORIGINAL_EXAMPLE, SECRETS)
    assert config.scan_time_ms == 100
    assert [b.name for b in config.blocks] == ["temp_alarm", "data_gen"]
    assert config.sections["mqtt"]["username"] == "petra"
    assert config.sections["alarms"]["escalation_chains"] == {"temp_critical": ["operator", "supervisor",
                                                                                "manager"]}


def test_the_original_example_warns_about_undefined_contacts_and_the_unwritten_trigger():
    warnings = load_config(ORIGINAL_EXAMPLE, SECRETS).warnings
    assert any("contact 'supervisor' is not defined" in w for w in warnings)
    assert any("contact 'manager' is not defined" in w for w in warnings)
    assert any("signal 'emergency_stop' is read but never declared or written; it is created as float "
               "with bad quality" in w for w in warnings)


def test_the_original_example_without_its_variables_names_each_one_at_its_position(tmp_path):
    path = tmp_path / "original.yaml"
    shutil.copy(ORIGINAL_EXAMPLE, path)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    text = ORIGINAL_EXAMPLE.read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "${MQTT_USERNAME}" in t)
    first = info.value.problems[0]
    assert (first.file, first.line, first.column, first.path) == (str(path), line, 13, "mqtt.username")
    assert "MQTT_USERNAME not set" in first.message
    paths = {p.path for p in info.value.problems}
    assert paths == {"mqtt.username", "mqtt.password", "storage.remote.password"}


def test_signals_written_but_not_declared_take_their_writers_type_and_group():
    config = load_config(ORIGINAL_EXAMPLE, SECRETS)
    implicit = {s.name: (s.type, s.group) for s in config.signals if s.implicit}
    assert implicit == {
        "high_temp_alarm": (DataType.BOOL, "logic"),
        "sensor_simulation": (DataType.FLOAT, "logic"),
        "sample_count": (DataType.INT, "logic"),
        "external_pressure": (DataType.FLOAT, "mqtt"),
        "device_temp": (DataType.FLOAT, "mqtt"),
        "motor_running": (DataType.BOOL, "s7"),
        "emergency_stop": (DataType.FLOAT, "default"),
        # each alarm's state as signals, and the alarm runtime's summary signals
        "alarm.temp_critical.active": (DataType.BOOL, "alarms"),
        "alarm.temp_critical.acked": (DataType.BOOL, "alarms"),
        "alarm.temp_critical.state": (DataType.STRING, "alarms"),
        "alarms.flood": (DataType.BOOL, "alarms"),
        "storage.wal_full": (DataType.BOOL, "storage"),
        "alarms.active_count": (DataType.INT, "alarms"),
        "alarms.unacked_count": (DataType.INT, "alarms"),
    }


def test_implicit_block_output_types_follow_the_resolved_input_types():
    config = load("""
        signals:
          - {name: a, type: int}
        blocks:
          - {name: sum, type: ADD, inputs: {in1: a, in2: 2}, outputs: {out: total}}
          - {name: twice, type: MUL, inputs: {in1: total, in2: 2.5}, outputs: {out: scaled}}
          - {name: pick, type: MAX, inputs: {in1: total, in2: a}, outputs: {out: biggest}}
        """)
    assert config.signal("total").type is DataType.INT
    assert config.signal("scaled").type is DataType.FLOAT
    assert config.signal("biggest").type is DataType.INT


def test_driver_mappings_define_the_types_of_the_signals_they_read():
    config = load("""
        s7:
          - name: press
            ip: 127.0.0.1
            mappings:
              - {signal: s7_count, area: DB, db_number: 1, address: 0, data_type: dint}
              - {signal: s7_temp, area: DB, db_number: 1, address: 4, data_type: real}
              - {signal: s7_scaled, area: DB, db_number: 1, address: 8, data_type: int,
                 scale: {factor: 0.1}}
              - {signal: s7_setpoint, area: DB, db_number: 1, address: 12, data_type: real,
                 direction: write}
        modbus:
          - name: meter
            host: 127.0.0.1
            mappings:
              - {signal: mb_on, table: coil, address: 0, data_type: bool}
              - {signal: mb_raw, table: input_register, address: 0, data_type: uint16}
              - {signal: mb_kw, table: input_register, address: 1, data_type: uint16, scale: 0.01}
        """)
    types = {s.name: (s.type.value, s.group) for s in config.signals}
    assert types == {
        "s7_count": ("int", "s7"), "s7_temp": ("float", "s7"), "s7_scaled": ("float", "s7"),
        "mb_on": ("bool", "modbus"), "mb_raw": ("int", "modbus"), "mb_kw": ("float", "modbus"),
        "s7_setpoint": ("float", "default"),
    }
    assert any("signal 's7_setpoint' is read but never declared" in w for w in config.warnings)


def test_inputs_are_literals_when_they_parse_as_one_and_signal_names_otherwise():
    config = load("""
        signals:
          - {name: temperature, type: float}
        blocks:
          - {name: a, type: GT, inputs: {in1: temperature, in2: "75.0"}, outputs: {out: x}}
          - {name: b, type: GT, inputs: {in1: 75.0, in2: "10"}, outputs: {out: y}}
          - {name: c, type: AND, inputs: {in1: "true", in2: x}, outputs: {out: z}}
        """)
    a, b, c = config.blocks
    assert a.inputs == (BlockInput("in1", signal="temperature"), BlockInput("in2", literal=75.0))
    assert b.inputs == (BlockInput("in1", literal=75.0), BlockInput("in2", literal=10))
    assert c.inputs == (BlockInput("in1", literal=True), BlockInput("in2", signal="x"))


def test_unconnected_optional_inputs_get_their_default_in_step_order():
    config = load("""
        blocks:
          - {name: t, type: TON, inputs: {in: start}, outputs: {q: done}, params: {preset_ms: 100}}
        """)
    assert [(i.port, i.signal, i.literal) for i in config.blocks[0].inputs] == [
        ("in", "start", None), ("pt_ms", None, -1.0)
    ]


def test_an_at_prev_input_reads_last_scans_value_and_breaks_a_loop():
    config = load("""
        blocks:
          - {name: a, type: NOT, inputs: {in: y@prev}, outputs: {out: x}}
          - {name: b, type: NOT, inputs: {in: x}, outputs: {out: y}}
        """)
    assert config.blocks[0].inputs == (BlockInput("in", signal="y", previous=True),)
    assert config.signal("y").type is DataType.BOOL
    assert config.warnings == ()


def test_declared_signals_keep_their_settings_and_coerce_their_initial_value():
    config = load("""
        signals:
          - {name: count, type: int, initial: "7", unit: pcs, description: Parts, group: line1,
             writable: false}
          - {name: run, type: bool, initial: "on"}
        """)
    count = config.signal("count")
    assert (count.initial, count.unit, count.description, count.group, count.writable) == (7, "pcs", "Parts",
                                                                                             "line1", False)
    assert config.signal("run").initial is True


def test_defaults_are_filled_into_sections_and_top_level_values():
    config = load("""
        mqtt:
          broker_host: 127.0.0.1
          subscriptions:
            - {topic: a/b, signal: ab}
        s7:
          ip: 127.0.0.1
        """)
    assert config.scan_time_ms == 100
    assert config.node_id == socket.gethostname()
    mqtt = config.sections["mqtt"]
    assert (mqtt["broker_port"], mqtt["qos"], mqtt["subscriptions"][0]["data_type"]) == (1883, 1, "float")
    assert config.sections["s7"] == {"ip": "127.0.0.1", "rack": 0, "slot": 1, "port": 102,
                                     "poll_interval_ms": 100, "timeout_ms": 5000, "mappings": []}
    assert "signals" not in config.sections and "blocks" not in config.sections


def test_the_text_hash_is_of_the_file_bytes(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_bytes(b"scan_time_ms: 50\n")
    config = load_config(path, {})
    assert config.text_sha256 == hashlib.sha256(b"scan_time_ms: 50\n").hexdigest()
    assert config.source == path


def test_a_missing_file_is_a_config_error_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read the file"):
        load_config(tmp_path / "nope.yaml", {})


def test_warnings_carry_file_line_and_column():
    config = load("""
        blocks:
          - {name: inv, type: NOT, inputs: {in: door_open}, outputs: {out: door_closed}}
        """)
    assert config.warnings == (
        "plant.yaml:2:41: blocks[0].inputs.in: signal 'door_open' is read but never declared or written; "
        "it is created as float with bad quality until something writes it",
    )
    assert config.signal("door_open").implicit and config.signal("door_open").group == "default"
