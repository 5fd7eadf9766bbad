"""Every case folder in tests/drivers/cases/ run through the drivers' real code (see the README there).

The config is parsed by the real loader (an error.txt may expect its message).
S7 and Modbus cases then run through the driver's own session (the plan of
coalesced reads, the decode and scaling, the writes) against the real
in-process peer: python-snap7's server, pymodbus' server. MQTT cases run
through the bridge's codec (topic match, payload decode, command, deadband and
publish encoding); the ones with a `peer` file also through a running plant
against a real Mosquitto.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.config.model import PlantConfig
from petra.drivers.driver_metrics import DriverMetrics
from petra.drivers.modbus.codec import ModbusEncodeError
from petra.drivers.modbus.config import connections_from_section
from petra.drivers.modbus.session import ModbusSession
from petra.drivers.mqtt import codec as mqtt_codec
from petra.drivers.mqtt.config import MqttConfig, build_config
from petra.drivers.polling import Reading, Session
from petra.drivers.s7.codec import S7EncodeError
from petra.drivers.s7.config import plcs_from_section
from petra.drivers.s7.session import S7Session
from petra.simulator.servers import ModbusServer, S7Server
from petra.values import Quality
from tests.drivers.case_folders import (
    CASES,
    Case,
    CaseFolderError,
    case_names,
    hex_bytes,
    hex_lines,
    outcome_in,
    payload,
    read_case,
)
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, mosquitto  # noqa: F401  (fixture)

DRIVERS = ("s7", "modbus", "mqtt")

S7_AREAS = {("DB", 1): 1024, ("DB", 2): 256, ("DB", 10): 1024, ("MK", 0): 256, ("PE", 0): 256, ("PA", 0): 256}
"""The peer PLC's memory; a case that maps another DB reads an error answer ("object does not exist")."""
MODBUS_UNITS = (1, 2)
MODBUS_TABLES = ("coil", "discrete_input", "holding_register", "input_register")
MODBUS_CLEARED = 256
"""Addresses of every table zeroed before each case (the cases use the first ones)."""


# --- shared steps ------------------------------------------------------------------------------


def load(case: Case) -> PlantConfig | None:
    """The case's config through the real loader; None when it was refused as its error.txt expects."""
    try:
        return load_config_text(case.config, str(case.path / "config.yaml"), env={})
    except ConfigError as exc:
        if not case.expects_error:
            raise
        assert_error(case, str(exc))
        return None


def assert_error(case: Case, message: str) -> None:
    missing = [line for line in case.error_lines() if line not in message]
    assert not missing, f"{case.name}: the error does not contain {missing}:\n{message}"


def no_error_came(case: Case) -> None:
    pytest.fail(f"{case.name}: error.txt expects an error containing {case.error_lines()}, but none came")


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same JSON type (a bool is not 1, 22 is not 22.0); NaN equals NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


def assert_signals(case: Case, results: dict[str, tuple[Any, Quality, str]]) -> None:
    """`results` (signal -> value, quality, why it is bad) against expected.json.

    A good entry compares value and type; a bad one only its quality and, when it
    gives "error", that this text is part of why (the plant keeps the last value).
    """
    expected: dict[str, dict[str, Any]] = case.expected_json()
    assert set(results) == set(expected), f"{case.name}: signals {sorted(results)}, expected {sorted(expected)}"
    for name, want in expected.items():
        value, quality, why = results[name]
        assert quality is Quality[want["quality"].upper()], f"{case.name}: {name} is {quality.name} ({why})"
        if quality is Quality.GOOD:
            assert same(value, want["value"]), f"{case.name}: {name} = {value!r}, expected {want['value']!r}"
        elif "error" in want:
            assert want["error"] in why, f"{case.name}: {name} is bad because {why!r}, not {want['error']!r}"


def from_readings(readings: list[Reading], records: list[logging.LogRecord]) -> dict[str, tuple[Any, Quality, str]]:
    """A poll's readings as signal results; why a signal is bad: the driver's log lines that name it."""
    lines = [record.getMessage() for record in records]
    return {r.signal: (r.value, Quality.GOOD if r.value is not None else Quality.BAD,
                       "\n".join(line for line in lines if r.signal in line)) for r in readings}


def only_one(case: Case, items: list[Any], what: str) -> Any:
    assert len(items) == 1, f"{case.name}: a case configures one {what}, this one {len(items)}"
    return items[0]


def run_session(case: Case, session: Session, refused: type[Exception], memory_after: Callable[[Case], None],
                caplog: pytest.LogCaptureFixture) -> None:
    """A polling driver's case through its session, connected to the peer: input.json's writes (then
    `memory_after` checks expected.hex), or else one poll (then the signals against expected.json)."""
    writes = "input.json" in case.inputs
    outcome_in(case, *(("expected.hex", "error.txt") if writes else ("expected.json",)))
    session.connect()
    try:
        if writes:
            try:
                for signal, value in json.loads(case.inputs["input.json"].read_text("utf-8")).items():
                    session.write(signal, value)
            except refused as exc:
                assert case.expects_error, f"{case.name}: the write was refused: {exc}"
                assert_error(case, str(exc))
                return
            if case.expects_error:
                no_error_came(case)
            memory_after(case)
            return
        if case.expects_error:
            no_error_came(case)
        with caplog.at_level(logging.WARNING, logger="petra.drivers"):
            readings = session.poll()
        assert_signals(case, from_readings(readings, caplog.records))
    finally:
        session.close()


# --- S7: the session against python-snap7's server ------------------------------------------------


@pytest.fixture(scope="module")
def s7_peer() -> Iterator[S7Server]:
    server = S7Server()
    for (area, number), size in S7_AREAS.items():
        server.add_area(area, number, size)
    server.start()
    yield server
    server.stop()


def s7_area(server: S7Server, where: str, case: Case) -> bytearray:
    key = ("DB", int(where[2:])) if where.startswith("DB") and where[2:].isdigit() else (where, 0)
    if key not in server.areas:
        raise CaseFolderError(f"{case.name}: no area {where!r} in the peer PLC (it has {sorted(S7_AREAS)})")
    return server.areas[key]


@pytest.mark.parametrize("name", case_names("s7"))
def test_s7_case(name: str, s7_peer: S7Server, caplog: pytest.LogCaptureFixture) -> None:
    case = read_case(CASES / "s7" / name)
    config = load(case)
    if config is None:
        return
    plc = only_one(case, plcs_from_section(config.sections.get("s7")), "PLC")
    for data in s7_peer.areas.values():
        data[:] = bytes(len(data))
    if "input.hex" in case.inputs:
        for where, offset, tokens in hex_lines(case.inputs["input.hex"]):
            raw = hex_bytes(tokens, case.inputs["input.hex"])
            s7_area(s7_peer, where, case)[offset:offset + len(raw)] = raw
    plc = replace(plc, ip="127.0.0.1", port=s7_peer.port)
    session = S7Session(plc, DriverMetrics.for_driver(CollectorRegistry(), plc.driver_id))

    def memory_after(case: Case) -> None:
        for where, offset, tokens in hex_lines(case.outcome):
            want = hex_bytes(tokens, case.outcome)
            got = bytes(s7_area(s7_peer, where, case)[offset:offset + len(want)])
            assert got == want, f"{case.name}: {where} @{offset} holds {got.hex(' ')}, expected {want.hex(' ')}"

    run_session(case, session, S7EncodeError, memory_after, caplog)


# --- Modbus: the session against pymodbus' server -------------------------------------------------


@pytest.fixture(scope="module")
def modbus_peer() -> Iterator[ModbusServer]:
    server = ModbusServer(units=MODBUS_UNITS)
    server.start()
    yield server
    server.stop()


def modbus_where(where: str, case: Case) -> tuple[int, str]:
    unit, _, table = where.rpartition(":")
    if table not in MODBUS_TABLES or (unit and int(unit) not in MODBUS_UNITS):
        raise CaseFolderError(f"{case.name}: {where!r} is not [unit:]table of units {MODBUS_UNITS}, "
                              f"tables {MODBUS_TABLES}")
    return int(unit or 1), table


def modbus_values(table: str, tokens: list[str]) -> list[int] | list[bool]:
    words = [int(token, 16) for token in tokens]
    return [bool(w) for w in words] if table in ("coil", "discrete_input") else words


@pytest.mark.parametrize("name", case_names("modbus"))
def test_modbus_case(name: str, modbus_peer: ModbusServer, caplog: pytest.LogCaptureFixture) -> None:
    case = read_case(CASES / "modbus" / name)
    config = load(case)
    if config is None:
        return
    conn = only_one(case, connections_from_section(config.sections.get("modbus")), "connection")
    for unit in MODBUS_UNITS:
        for table in MODBUS_TABLES:
            modbus_peer.set(unit, table, 0, modbus_values(table, ["0"] * MODBUS_CLEARED))
    if "input.hex" in case.inputs:
        for where, address, tokens in hex_lines(case.inputs["input.hex"]):
            unit, table = modbus_where(where, case)
            modbus_peer.set(unit, table, address, modbus_values(table, tokens))
    conn = replace(conn, transport="tcp", serial=None, host="127.0.0.1", port=modbus_peer.port)
    session = ModbusSession(conn, DriverMetrics.for_driver(CollectorRegistry(), conn.driver_id))

    def memory_after(case: Case) -> None:
        for where, address, tokens in hex_lines(case.outcome):
            unit, table = modbus_where(where, case)
            want = [int(v) for v in modbus_values(table, tokens)]
            got = [int(v) for v in modbus_peer.get(unit, table, address, len(want))]
            assert got == want, (f"{case.name}: unit {unit} {table} @{address} holds "
                                 f"{[f'{v:04x}' for v in got]}, expected {[f'{v:04x}' for v in want]}")

    run_session(case, session, ModbusEncodeError, memory_after, caplog)


# --- MQTT: the bridge's codec, and a few cases through Mosquitto ---------------------------------


def mqtt_topic(case: Case, mqtt: MqttConfig) -> str:
    topic = case.topic()
    if topic is not None:
        return topic
    topics = [s.topic for s in mqtt.subscriptions]
    if len(topics) != 1 or mqtt_codec.has_wildcard(topics[0]):
        raise CaseFolderError(f"{case.name}: give the message's topic in topic.txt (subscriptions {topics})")
    return topics[0]


def is_command(mqtt: MqttConfig, topic: str) -> bool:
    """The bridge's routing: a topic matching the command topic is a remote write (when any is allowed)."""
    return bool(mqtt.writable_signals) and mqtt_codec.topic_matches(mqtt.command_topic, topic)


def mqtt_received(config: PlantConfig, mqtt: MqttConfig, topic: str,
                  message: bytes) -> dict[str, tuple[Any, Quality, str]]:
    """What the signals show after one message on `topic`, as the bridge routes and decodes it."""
    if is_command(mqtt, topic):
        name, raw = mqtt_codec.command_target(mqtt.command_topic, topic, message)
        types = {s.name: s.type for s in config.signals}
        return {name: (mqtt_codec.to_value(raw, types[name]), Quality.GOOD, "")}
    results: dict[str, tuple[Any, Quality, str]] = {}
    for sub in mqtt.subscriptions:
        if not mqtt_codec.topic_matches(sub.topic, topic):
            continue
        try:
            name = sub.signal or mqtt_codec.segment(topic, sub.signal_from_topic_segment or 0)
        except mqtt_codec.TopicError:
            continue  # counted and ignored by the bridge: no signal is written
        try:
            results[name] = (mqtt_codec.decode(message, sub.data_type, sub.value_path), Quality.GOOD, "")
        except mqtt_codec.PayloadError as exc:
            results[name] = (None, Quality.BAD, str(exc))
    return results


def mqtt_published(case: Case, mqtt: MqttConfig) -> list[str]:
    """``<topic> <payload>`` of each change in input.json that the bridge publishes (deadband, then encode)."""
    last: dict[str, tuple[Any, int]] = {}
    lines = []
    for change in json.loads(case.inputs["input.json"].read_text("utf-8")):
        name, value, quality = change["signal"], change["value"], Quality[change["quality"].upper()]
        options = mqtt.published[name]
        if not mqtt_codec.passes_deadband(last.get(name), value, quality, options.deadband):
            continue
        last[name] = (value, quality)
        out = mqtt_codec.encode(value, quality, change["ts"], mqtt.payload_format)
        lines.append(f"{mqtt.topic_of(name)} {out.decode('utf-8')}")
    return lines


@pytest.mark.parametrize("name", case_names("mqtt"))
def test_mqtt_case(name: str) -> None:
    case = read_case(CASES / "mqtt" / name)
    config = load(case)
    if config is None:
        return
    mqtt = build_config(config)
    assert mqtt is not None, f"{case.name}: config.yaml has no mqtt section"
    if "input.json" in case.inputs:
        outcome_in(case, "expected.txt")
        expected = [line for line in case.outcome.read_text("utf-8").splitlines() if line.strip()]
        assert mqtt_published(case, mqtt) == expected
        return
    outcome_in(case, "expected.json", "error.txt")
    try:
        results = mqtt_received(config, mqtt, mqtt_topic(case, mqtt), payload(case))
    except mqtt_codec.PayloadError as exc:  # a command that cannot be read: nothing is written
        assert case.expects_error, f"{case.name}: the command was refused: {exc}"
        assert_error(case, str(exc))
        return
    if case.expects_error:
        no_error_came(case)
    assert_signals(case, results)


def peer_cases(driver: str) -> list[str]:
    return [name for name in case_names(driver) if (CASES / driver / name / "peer").exists()]


@pytest.mark.parametrize("name", peer_cases("mqtt"))
def test_mqtt_case_through_mosquitto(name: str, mosquitto: Mosquitto) -> None:  # noqa: F811
    """The case's message published on a real broker to a running plant: the signals show what expected.json says."""
    case = read_case(CASES / "mqtt" / name)
    assert case.outcome.name == "expected.json", f"{case.name}: only message cases with expected.json run via the peer"
    data = yaml.safe_load(case.config)
    data["mqtt"].update({"broker_host": "127.0.0.1", "broker_port": mosquitto.port, "client_id": f"case-{name}",
                         "username": mosquitto.username, "password": mosquitto.password,
                         "reconnect_max_s": 0.5})
    expected: dict[str, dict[str, Any]] = case.expected_json()
    assert expected, f"{case.name}: nothing to wait for (a case where no signal changes cannot run via the peer)"
    client: MqttPeer | None = None
    try:
        with RunningPlant(data) as plant:
            mqtt = build_config(plant.config)
            assert mqtt is not None
            # The bridge subscribes, then publishes "online" on its connection: once the broker has
            # passed that on, it has taken the subscription, and a message published now reaches it.
            client = MqttPeer(mosquitto, topics=(mqtt.status_topic,))
            wait_until(lambda: client is not None and client.payloads(mqtt.status_topic)[-1:] == [b"online"])
            client.publish(mqtt_topic(case, mqtt), payload(case))

            def shown() -> bool:
                for signal, want in expected.items():
                    quality = Quality[want["quality"].upper()]
                    if plant.quality(signal) is not quality:
                        return False
                    if quality is Quality.GOOD and not same(plant.value(signal), want["value"]):
                        return False
                return True

            wait_until(shown, timeout=10)
    finally:
        if client is not None:
            client.close()


# --- the folders themselves ------------------------------------------------------------------------


def test_every_case_folder_belongs_to_a_driver_with_a_runner_and_every_driver_has_cases() -> None:
    folders = sorted(p.name for p in CASES.iterdir() if p.is_dir())
    assert folders == sorted(DRIVERS)
    for driver in DRIVERS:
        assert case_names(driver), f"no cases for {driver}"


def test_a_malformed_case_folder_fails_naming_the_folder_and_the_fix(tmp_path: Path) -> None:
    case = tmp_path / "no-outcome"
    case.mkdir()
    (case / "config.yaml").write_text("s7: {ip: 10.0.0.1}\n")
    with pytest.raises(CaseFolderError, match=r"no-outcome: neither an expected\.\* file nor error\.txt"):
        read_case(case)
    (case / "expected.json").write_text("{}")
    (case / "error.txt").write_text("refused")
    with pytest.raises(CaseFolderError, match=r"both expected\.json and error\.txt"):
        read_case(case)
    (case / "error.txt").unlink()
    (case / "expect.json").write_text("{}")
    with pytest.raises(CaseFolderError, match=re.escape("unknown file(s) ['expect.json']")):
        read_case(case)
    (case / "expect.json").unlink()
    assert read_case(case).outcome.name == "expected.json"
    (case / "expected.json").unlink()
    (case / "error.txt").write_text("# only a comment\n")
    with pytest.raises(CaseFolderError, match=r"error\.txt says nothing"):
        read_case(case)
    (case / "error.txt").unlink()
    (case / "input.hex").write_text("DB1 0 00\n")
    (case / "expected.hex").write_text("DB1 0 01\n")
    with pytest.raises(CaseFolderError, match=r"a case with input\.hex has expected\.json, not expected\.hex"):
        outcome_in(read_case(case), "expected.json")


def test_the_readme_tree_shows_case_folders_and_files_that_exist() -> None:
    """The README's example tree names real folders and files (it drifts otherwise)."""
    lines = (CASES / "README.md").read_text("utf-8").split("```")[1].splitlines()
    driver = case = None
    shown = 0
    for line in lines:
        depth, name = (len(line) - len(line.lstrip("│├└─ "))) // 4, line.lstrip("│├└─ ").split(" ")[0]
        if depth == 1 and name.endswith("/"):
            driver, case = name.rstrip("/"), None
        elif depth == 2 and name.endswith("/"):
            case = name.rstrip("/")
            assert (CASES / str(driver) / case).is_dir(), f"README shows {driver}/{case}, which does not exist"
        elif depth == 3 and case is not None:
            assert (CASES / str(driver) / case / name).is_file(), f"README shows {driver}/{case}/{name}, not there"
            shown += 1
    assert shown >= 10
