"""The Modbus driver in a running plant against pymodbus' real server (TCP, and RTU over socat ptys)."""

from __future__ import annotations

import logging
import threading

import pytest

from petra.drivers.modbus.codec import encode
from petra.simulator.servers import ModbusServer
from tests.drivers.s7_support import assert_counted_and_never_connected, bad, good, metric, running_plant, write_signals
from tests.helpers import wait_until
from tests.peers.misbehaving_server import MisbehavingServer, misbehaving_server  # noqa: F401  (fixture)
from tests.peers.modbus_server import modbus_server_fixture, socat_pair_fixture  # noqa: F401  (fixtures)


def tcp(server: ModbusServer, mappings: list[dict], name: str = "dev", **extra: object) -> dict:
    return {"name": name, "transport": "tcp", "host": "127.0.0.1", "port": server.port, "timeout_ms": 500,
            "poll_interval_ms": 20, "mappings": mappings, **extra}


CASES = [  # signal, data_type, value, byte_order, word_order, length
    ("i16", "int16", -1234, "big", "big", 1),
    ("u16", "uint16", 65000, "little", "big", 1),
    ("i32", "int32", -2_000_000_000, "big", "little", 2),
    ("u32", "uint32", 4_000_000_000, "little", "little", 2),
    ("i64", "int64", -(2**62), "big", "little", 4),
    ("f32", "float32", 21.5, "big", "little", 2),
    ("f64", "float64", -1.0e100, "little", "big", 4),
    ("txt", "string", "PUMP-7", "big", "big", 4),
]


def register_mappings(table: str, base: int, direction: str = "read", unit: int = 1) -> list[dict]:
    mappings, address = [], base
    for signal, data_type, _value, byte_order, word_order, length in CASES:
        mappings.append({"signal": f"{table[0]}_{signal}", "unit_id": unit, "table": table, "address": address,
                         "data_type": data_type, "byte_order": byte_order, "word_order": word_order,
                         "length": length, "direction": direction})
        address += length
    return mappings


def test_every_data_type_and_table_is_read_with_its_byte_and_word_order(modbus_server: ModbusServer) -> None:
    address = 10
    for _signal, data_type, value, byte_order, word_order, length in CASES:
        registers = encode(data_type, value, byte_order, word_order, length)
        modbus_server.set(2, "input_register", address, registers)
        modbus_server.set(2, "holding_register", address + 100, registers)
        address += length
    modbus_server.set(2, "coil", 3, [True])
    modbus_server.set(2, "discrete_input", 5, [True])
    modbus_server.set(2, "holding_register", 300, [2500])
    mappings = [*register_mappings("input_register", 10, unit=2), *register_mappings("holding_register", 110, unit=2),
                {"signal": "coil", "unit_id": 2, "table": "coil", "address": 3, "data_type": "bool"},
                {"signal": "di", "unit_id": 2, "table": "discrete_input", "address": 5, "data_type": "bool"},
                {"signal": "di_off", "unit_id": 2, "table": "discrete_input", "address": 6, "data_type": "bool"},
                {"signal": "scaled", "unit_id": 2, "table": "holding_register", "address": 300,
                 "data_type": "uint16", "scale": 0.01, "offset": -5}]
    expected = {f"{t}_{s}": v for t in "ih" for s, _d, v, *_ in CASES}
    expected.update({"coil": True, "di": True, "di_off": False, "scaled": 20.0})
    with running_plant({"modbus": [tcp(modbus_server, mappings)]}) as runtime:
        table = runtime.plant.table
        wait_until(lambda: all(table.read(n).value == v and good(runtime, n) for n, v in expected.items()))
        modbus_server.set(2, "input_register", 10, [7])
        wait_until(lambda: table.read("i_i16").value == 7)


def test_every_data_type_is_written_to_coils_and_holding_registers(modbus_server: ModbusServer) -> None:
    signals = [{"name": f"h_{s}", "type": "string" if d == "string" else ("float" if d.startswith("f") else "int"),
                "initial": v} for s, d, v, *_ in CASES]
    signals += [{"name": "run", "type": "bool", "initial": True}, {"name": "hz", "type": "float", "initial": 25.0}]
    mappings = [*register_mappings("holding_register", 0, direction="write"),
                {"signal": "run", "table": "coil", "address": 7, "data_type": "bool", "direction": "write"},
                {"signal": "hz", "table": "holding_register", "address": 50, "data_type": "uint16", "scale": 0.01,
                 "direction": "write"}]
    with running_plant({"signals": signals, "modbus": [tcp(modbus_server, mappings)]}) as runtime:
        def device_has(values: dict[str, object], run: bool, hz: int) -> bool:
            address = 0
            for signal, data_type, _v, byte_order, word_order, length in CASES:
                want = encode(data_type, values.get(signal, _v), byte_order, word_order, length)
                if modbus_server.get(1, "holding_register", address, length) != want:
                    return False
                address += length
            return modbus_server.get(1, "coil", 7)[0] is run and modbus_server.get(1, "holding_register", 50) == [hz]
        wait_until(lambda: device_has({}, True, 2500))
        write_signals(runtime, {"h_i32": 5, "h_f64": 0.25, "h_txt": "OK", "run": False, "hz": 50.0})
        wait_until(lambda: device_has({"i32": 5, "f64": 0.25, "txt": "OK"}, False, 5000))


def test_a_hundred_item_mapping_takes_the_fewest_reads_per_poll(modbus_server: ModbusServer) -> None:
    mappings = [{"signal": f"r{i}", "table": "holding_register", "address": 2 * i, "data_type": "float32"}
                for i in range(50)]
    mappings += [{"signal": f"c{i}", "table": "coil", "address": i, "data_type": "bool"} for i in range(50)]
    with running_plant({"modbus": [tcp(modbus_server, mappings, poll_interval_ms=50)]}) as runtime:
        driver = "modbus:dev"
        wait_until(lambda: metric(runtime, "petra_driver_poll_duration_seconds_count", driver) >= 1)
        polls0 = metric(runtime, "petra_driver_poll_duration_seconds_count", driver)
        requests0, server0 = metric(runtime, "petra_driver_requests_total", driver), modbus_server.requests
        wait_until(lambda: metric(runtime, "petra_driver_poll_duration_seconds_count", driver) >= polls0 + 5)
        polls = metric(runtime, "petra_driver_poll_duration_seconds_count", driver) - polls0
        requests = metric(runtime, "petra_driver_requests_total", driver) - requests0
        served = modbus_server.requests - server0
    assert requests == 2 * polls  # 100 registers in one read, 50 coils in another
    assert 2 * polls <= served <= 2 * polls + 2


def test_a_device_that_restarts_turns_bad_then_good_without_restarting_the_actor(
        modbus_server: ModbusServer) -> None:
    modbus_server.set(1, "input_register", 0, [42])
    mappings = [{"signal": "v", "table": "input_register", "address": 0, "data_type": "uint16"}]
    threads_before = threading.active_count()
    with running_plant({"modbus": [tcp(modbus_server, mappings)]}) as runtime:
        wait_until(lambda: runtime.plant.table.read("v").value == 42 and good(runtime, "v"))
        modbus_server.stop()
        wait_until(lambda: bad(runtime, "v"))
        assert metric(runtime, "petra_driver_connected", "modbus:dev") == 0
        modbus_server.start()
        modbus_server.set(1, "input_register", 0, [43])
        wait_until(lambda: runtime.plant.table.read("v").value == 43 and good(runtime, "v"))
        assert metric(runtime, "petra_driver_reconnects_total", "modbus:dev") >= 1
        node = next(n for n in runtime.tree.tree().walk() if n.path == "petra/drivers/modbus:dev")
        assert node.state == "running" and node.restarts == 0
    wait_until(lambda: threading.active_count() <= threads_before, timeout=5)


def test_exception_answers_mark_only_their_mappings_bad_and_are_counted(
        modbus_server: ModbusServer, caplog: pytest.LogCaptureFixture) -> None:
    modbus_server.set(1, "holding_register", 0, [5])
    mappings = [{"signal": "ok", "table": "holding_register", "address": 0, "data_type": "uint16"},
                {"signal": "past_end", "table": "holding_register", "address": 999, "data_type": "uint32"},
                {"signal": "no_unit", "unit_id": 9, "table": "holding_register", "address": 0,
                 "data_type": "uint16"}]
    with caplog.at_level(logging.WARNING, logger="petra.drivers"), \
            running_plant({"modbus": [tcp(modbus_server, mappings)]}) as runtime:
        wait_until(lambda: runtime.plant.table.read("ok").value == 5 and good(runtime, "ok"))
        wait_until(lambda: bad(runtime, "past_end") and bad(runtime, "no_unit"))
        wait_until(lambda: metric(runtime, "petra_driver_errors_total", "modbus:dev") >= 6)
        assert good(runtime, "ok") and metric(runtime, "petra_driver_connected", "modbus:dev") == 1
        assert caplog.text.count("(past_end)") == 1  # rate-limited: one line, not one per poll


def test_rtu_over_a_serial_line_reads_and_writes_several_units(socat_pair: tuple[str, str]) -> None:
    server_tty, client_tty = socat_pair
    # A pty refuses parity E (EINVAL), so the line runs 8N1 here.
    server = ModbusServer(units=(3, 4), size=100, serial_port=server_tty, baudrate=19200)
    server.start()
    try:
        server.set(3, "discrete_input", 0, [True])
        server.set(4, "input_register", 20, [123])
        conn = {"name": "bus", "transport": "rtu", "timeout_ms": 300, "poll_interval_ms": 20,
                "serial": {"port": client_tty, "baudrate": 19200},
                "mappings": [
                    {"signal": "running", "unit_id": 3, "table": "discrete_input", "address": 0, "data_type": "bool"},
                    {"signal": "amps", "unit_id": 4, "table": "input_register", "address": 20,
                     "data_type": "uint16", "scale": 0.1},
                    {"signal": "cmd", "unit_id": 3, "table": "coil", "address": 0, "data_type": "bool",
                     "direction": "write"},
                ]}
        signals = [{"name": "cmd", "type": "bool", "initial": False}]
        with running_plant({"signals": signals, "modbus": [conn]}) as runtime:
            table = runtime.plant.table
            wait_until(lambda: table.read("running").value is True and table.read("amps").value == 12.3)
            write_signals(runtime, {"cmd": True})
            wait_until(lambda: server.get(3, "coil", 0) == [True])
    finally:
        server.stop()


def test_a_device_answering_garbage_or_nothing_counts_errors_and_is_not_connected(
        misbehaving_server: MisbehavingServer, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    mappings = [{"signal": "v", "table": "holding_register", "address": 0, "data_type": "uint16"}]
    conn = {"name": "dev", "transport": "tcp", "host": "127.0.0.1", "port": misbehaving_server.port,
            "timeout_ms": 200, "poll_interval_ms": 20, "mappings": mappings}
    with caplog.at_level(logging.INFO, logger="petra.drivers"), running_plant({"modbus": [conn]}) as runtime:
        assert_counted_and_never_connected(runtime, "modbus:dev", "v", caplog.records,
                                           lambda: misbehaving_server.accepted)


def test_an_rtu_bus_where_no_unit_answers_counts_errors_and_is_not_connected(
        socat_pair: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    _nobody, client_tty = socat_pair
    conn = {"name": "bus", "transport": "rtu", "timeout_ms": 100, "poll_interval_ms": 20,
            "serial": {"port": client_tty, "baudrate": 19200},
            "mappings": [{"signal": "amps", "unit_id": 4, "table": "input_register", "address": 20,
                          "data_type": "uint16"},
                         {"signal": "volts", "unit_id": 4, "table": "input_register", "address": 30,
                          "data_type": "uint16"}]}
    with caplog.at_level(logging.INFO, logger="petra.drivers"), running_plant({"modbus": [conn]}) as runtime:
        assert_counted_and_never_connected(runtime, "modbus:bus", "amps", caplog.records,
                                           lambda: int(metric(runtime, "petra_driver_errors_total", "modbus:bus")))


def test_refused_writes_are_counted_each_time_and_logged_rate_limited(
        modbus_server: ModbusServer, caplog: pytest.LogCaptureFixture) -> None:
    mappings = [{"signal": "sp", "table": "holding_register", "address": 5000, "data_type": "uint16",
                 "direction": "write"}]  # past the device's 1000 registers: an exception answer
    signals = [{"name": "sp", "type": "int", "initial": 1}]
    with caplog.at_level(logging.WARNING, logger="petra.drivers"), \
            running_plant({"signals": signals, "modbus": [tcp(modbus_server, mappings)]}) as runtime:
        wait_until(lambda: metric(runtime, "petra_driver_errors_total", "modbus:dev") >= 1)
        for value in (2, 3, 4):
            write_signals(runtime, {"sp": value})
            wait_until(lambda v=value: metric(runtime, "petra_driver_errors_total", "modbus:dev") >= v)
        assert metric(runtime, "petra_driver_connected", "modbus:dev") == 1
    assert sum("write of sp=" in r.getMessage() for r in caplog.records) == 1
