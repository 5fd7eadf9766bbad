"""An option valid alone but without effect where it is given is a located warning, never silence."""

from __future__ import annotations

import pytest

from tests.config.support import load

SIGNALS = """\
signals:
  - {name: a, type: float}
  - {name: b, type: int}
"""

CASES = [
    ("s7: {ip: 127.0.0.1, mappings: [{signal: b, area: DB, db_number: 1, address: 0, data_type: int, length: 8}]}",
     "s7.mappings[0].length: has no effect: length is only used with data_type string"),
    ("modbus: [{name: m, host: 127.0.0.1, mappings: [{signal: b, table: holding_register, address: 0, "
     "data_type: int16, word_order: little}]}]",
     "modbus[0].mappings[0].word_order: has no effect with data_type int16"),
    ("modbus: [{name: m, host: 127.0.0.1, mappings: [{signal: b, table: holding_register, address: 0, "
     "data_type: int32, length: 2}]}]",
     "modbus[0].mappings[0].length: has no effect"),
    ("modbus: [{name: m, host: 127.0.0.1, serial: {port: /dev/ttyUSB0}, mappings: []}]",
     "modbus[0].serial: has no effect unless transport is rtu"),
    ("storage: {local: {compression: lz4, compression_level: 9}}",
     "storage.local.compression_level: has no effect with compression lz4"),
    ("storage: {remote: {host: ch1, url: 'http://ch2:8123'}}",
     "storage.remote.url: has no effect: storage.remote.host (and port) are given and win"),
    ("mqtt: {broker_host: 127.0.0.1, password: secret}",
     "mqtt.password: has no effect without mqtt.username"),
    ("alarms: {contacts: [{id: op, name: Op, phone: '+41791234567', priority: 2}]}",
     "alarms.contacts[0].priority: has no effect: the order of the contacts in alarms.escalation_chains"),
    ("alarms: {alarms: [{id: hi, signal: a, condition: above, setpoint: 1, description: too hot}]}",
     "alarms.alarms[0].description: is not shown anywhere yet"),
    ("control: {tcp: {port: 8443, cert_file: c.pem, key_file: k.pem, self_signed: true}}",
     "control.tcp.self_signed: has no effect with cert_file: the configured certificate is served"),
    ("control: {tcp: {port: 8443, cert_file: c.pem, key_file: k.pem, self_signed_dir: /var/lib/petra/tls}}",
     "control.tcp.self_signed_dir: has no effect with cert_file"),
]


@pytest.mark.parametrize(("section", "expected"), CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_an_option_without_effect_where_it_is_given_is_a_warning(section, expected):
    warnings = load(f"{SIGNALS}{section}\n").warnings
    assert any(expected in w for w in warnings), warnings


def test_history_options_without_a_storage_section_are_a_warning():
    text = "signals:\n  - {name: a, type: float, history: {deadband: 0.5}}\n"
    assert any("signals[0].history: has no effect: there is no storage section" in w for w in load(text).warnings)
    assert not load(f"{text}storage: {{local: {{data_dir: /tmp/x}}}}\n").warnings


def test_the_same_options_where_they_apply_say_nothing():
    text = (f"{SIGNALS}"
            "s7: {ip: 127.0.0.1, mappings: [{signal: s, area: DB, db_number: 1, address: 0, data_type: string, "
            "length: 8}]}\n"
            "modbus: [{name: m, host: 127.0.0.1, mappings: [{signal: b, table: holding_register, address: 0, "
            "data_type: int32, word_order: little}]}]\n"
            "storage: {local: {compression: zstd, compression_level: 9}}\n"
            "mqtt: {broker_host: 127.0.0.1, username: u, password: p}\n"
            "control: {tcp: {port: 8443, self_signed: true, self_signed_dir: /var/lib/petra/tls}}\n")
    assert load(text).warnings == ()
