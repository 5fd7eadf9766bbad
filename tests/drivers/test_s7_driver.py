"""The S7 driver in a running plant against python-snap7's real server on loopback."""

from __future__ import annotations

import logging
import struct
import threading

import pytest

from petra.simulator.servers import S7Server
from tests.drivers.s7_support import assert_counted_and_never_connected, bad, good, metric, running_plant, write_signals
from tests.helpers import wait_until
from tests.peers.misbehaving_server import MisbehavingServer, misbehaving_server  # noqa: F401  (fixture)
from tests.peers.snap7_server import s7_server_fixture  # noqa: F401  (fixture s7_server)


def plc(server: S7Server, mappings: list[dict], name: str = "plc1", **extra: object) -> dict:
    return {"name": name, "ip": "127.0.0.1", "port": server.port, "poll_interval_ms": 20, "timeout_ms": 1000,
            "mappings": mappings, **extra}


def test_every_data_type_is_read_from_every_area(s7_server: S7Server) -> None:
    db = s7_server.db(10)
    db[0] = 0b0000_1000
    db[1] = 200
    struct.pack_into(">H", db, 2, 65000)
    struct.pack_into(">h", db, 4, -1234)
    struct.pack_into(">I", db, 6, 4_000_000_000)
    struct.pack_into(">i", db, 10, -2_000_000_000)
    struct.pack_into(">f", db, 14, 21.5)
    struct.pack_into(">d", db, 18, -1.0e100)
    db[26:34] = bytes([6, 5]) + b"hello" + b"\x00"
    s7_server.areas[("MK", 0)][3] = 0b1000_0000
    struct.pack_into(">h", s7_server.areas[("PE", 0)], 0, 42)
    s7_server.areas[("PA", 0)][5] = 7
    mappings = [
        {"signal": "b", "area": "DB", "db_number": 10, "address": 0, "bit": 3, "data_type": "bool"},
        {"signal": "by", "area": "DB", "db_number": 10, "address": 1, "data_type": "byte"},
        {"signal": "w", "area": "DB", "db_number": 10, "address": 2, "data_type": "word"},
        {"signal": "i", "area": "DB", "db_number": 10, "address": 4, "data_type": "int"},
        {"signal": "dw", "area": "DB", "db_number": 10, "address": 6, "data_type": "dword"},
        {"signal": "di", "area": "DB", "db_number": 10, "address": 10, "data_type": "dint"},
        {"signal": "r", "area": "DB", "db_number": 10, "address": 14, "data_type": "real"},
        {"signal": "lr", "area": "DB", "db_number": 10, "address": 18, "data_type": "lreal"},
        {"signal": "s", "area": "DB", "db_number": 10, "address": 26, "data_type": "string", "length": 6},
        {"signal": "mk", "area": "MK", "address": 3, "bit": 7, "data_type": "bool"},
        {"signal": "pe", "area": "PE", "address": 0, "data_type": "int", "scale": {"factor": 0.5, "offset": 1}},
        {"signal": "pa", "area": "PA", "address": 5, "data_type": "byte"},
    ]
    expected = {"b": True, "by": 200, "w": 65000, "i": -1234, "dw": 4_000_000_000, "di": -2_000_000_000,
                "r": 21.5, "lr": -1.0e100, "s": "hello", "mk": True, "pe": 22.0, "pa": 7}
    with running_plant({"s7": plc(s7_server, mappings)}) as runtime:
        table = runtime.plant.table
        wait_until(lambda: all(table.read(n).value == v and good(runtime, n) for n, v in expected.items()))
        db[0] = 0
        wait_until(lambda: table.read("b").value is False)


def test_every_data_type_is_written_at_connect_and_again_when_the_signal_changes(s7_server: S7Server) -> None:
    signals = [
        {"name": "b", "type": "bool", "initial": True},
        {"name": "by", "type": "int", "initial": 255},
        {"name": "w", "type": "int", "initial": 65535},
        {"name": "i", "type": "int", "initial": -32768},
        {"name": "dw", "type": "int", "initial": 123456789},
        {"name": "di", "type": "int", "initial": -7},
        {"name": "r", "type": "float", "initial": 3.25},
        {"name": "lr", "type": "float", "initial": 1.0e-300},
        {"name": "s", "type": "string", "initial": "abc"},
        {"name": "mk", "type": "bool", "initial": True},
        {"name": "pa", "type": "float", "initial": 50.0},
    ]
    where = [("b", "DB", 0, "bool"), ("by", "DB", 1, "byte"), ("w", "DB", 2, "word"), ("i", "DB", 4, "int"),
             ("dw", "DB", 6, "dword"), ("di", "DB", 10, "dint"), ("r", "DB", 14, "real"),
             ("lr", "DB", 18, "lreal"), ("s", "DB", 26, "string"), ("mk", "MK", 0, "bool"), ("pa", "PA", 2, "int")]
    mappings = [{"signal": n, "area": a, "address": addr, "data_type": t, "direction": "write",
                 **({"db_number": 1} if a == "DB" else {}), **({"bit": 5} if t == "bool" else {}),
                 **({"length": 8} if t == "string" else {}),
                 **({"scale": {"factor": 0.5}} if n == "pa" else {})} for n, a, addr, t in where]
    db = s7_server.db(1)
    db[0] = 0b0000_0001  # a neighbour bit that the bool write must keep
    with running_plant({"signals": signals, "s7": plc(s7_server, mappings)}) as runtime:
        def written() -> bool:
            return (db[0] == 0b0010_0001 and db[1] == 255 and struct.unpack_from(">H", db, 2)[0] == 65535
                    and struct.unpack_from(">h", db, 4)[0] == -32768
                    and struct.unpack_from(">I", db, 6)[0] == 123456789
                    and struct.unpack_from(">i", db, 10)[0] == -7 and struct.unpack_from(">f", db, 14)[0] == 3.25
                    and struct.unpack_from(">d", db, 18)[0] == 1.0e-300 and db[26:31] == bytes([8, 3]) + b"abc"
                    and s7_server.areas[("MK", 0)][0] == 0b0010_0000
                    and struct.unpack_from(">h", s7_server.areas[("PA", 0)], 2)[0] == 100)
        wait_until(written)
        write_signals(runtime, {"b": False, "i": 99, "r": -0.5, "s": "xy", "pa": 10.0})
        wait_until(lambda: db[0] == 1 and struct.unpack_from(">h", db, 4)[0] == 99
                   and struct.unpack_from(">f", db, 14)[0] == -0.5 and db[26:30] == bytes([8, 2]) + b"xy"
                   and struct.unpack_from(">h", s7_server.areas[("PA", 0)], 2)[0] == 20)


def test_a_read_write_signal_is_read_and_its_changes_are_written_back(s7_server: S7Server) -> None:
    db = s7_server.db(1)
    struct.pack_into(">h", db, 0, 5)
    mappings = [{"signal": "sp", "area": "DB", "db_number": 1, "address": 0, "data_type": "int",
                 "direction": "read_write"}]
    with running_plant({"s7": plc(s7_server, mappings)}) as runtime:
        wait_until(lambda: runtime.plant.table.read("sp").value == 5)
        struct.pack_into(">h", db, 0, 6)
        wait_until(lambda: runtime.plant.table.read("sp").value == 6)
        write_signals(runtime, {"sp": 41})
        wait_until(lambda: struct.unpack_from(">h", db, 0)[0] == 41)
        assert metric(runtime, "petra_driver_errors_total", "s7:plc1") == 0


def test_a_hundred_item_mapping_is_read_with_one_request_per_poll(s7_server: S7Server) -> None:
    mappings = [{"signal": f"v{i}", "area": "DB", "db_number": 10, "address": 4 * i, "data_type": "real"}
                for i in range(100)]
    for i in range(100):
        struct.pack_into(">f", s7_server.db(10), 4 * i, float(i))
    with running_plant({"s7": plc(s7_server, mappings, poll_interval_ms=50)}) as runtime:
        wait_until(lambda: runtime.plant.table.read("v99").value == 99.0)
        polls_before = metric(runtime, "petra_driver_poll_duration_seconds_count", "s7:plc1")
        requests_before = metric(runtime, "petra_driver_requests_total", "s7:plc1")
        reads_before = s7_server.reads
        wait_until(lambda: metric(runtime, "petra_driver_poll_duration_seconds_count", "s7:plc1")
                   >= polls_before + 5)
        polls = metric(runtime, "petra_driver_poll_duration_seconds_count", "s7:plc1") - polls_before
        requests = metric(runtime, "petra_driver_requests_total", "s7:plc1") - requests_before
        server_reads = s7_server.reads - reads_before
    assert requests == polls
    assert polls <= server_reads <= polls + 1  # the server may already have answered the next poll


def test_a_plc_that_goes_away_turns_its_signals_bad_and_good_again_after_it_returns(s7_server: S7Server) -> None:
    struct.pack_into(">f", s7_server.db(1), 0, 7.5)
    mappings = [{"signal": "t", "area": "DB", "db_number": 1, "address": 0, "data_type": "real"}]
    threads_before = threading.active_count()
    with running_plant({"s7": plc(s7_server, mappings)}) as runtime:
        wait_until(lambda: runtime.plant.table.read("t").value == 7.5 and good(runtime, "t"))
        threads_running = threading.active_count()
        last = 7.5
        for round_ in range(2):
            s7_server.stop()
            wait_until(lambda: bad(runtime, "t"))
            assert metric(runtime, "petra_driver_connected", "s7:plc1") == 0
            assert runtime.plant.table.read("t").value == last  # the last value is kept, flagged bad
            last = 8.5 + round_
            struct.pack_into(">f", s7_server.db(1), 0, 8.5 + round_)
            s7_server.start()
            wait_until(lambda r=round_: runtime.plant.table.read("t").value == 8.5 + r and good(runtime, "t"))
        assert metric(runtime, "petra_driver_reconnects_total", "s7:plc1") == 2
        assert metric(runtime, "petra_driver_connected", "s7:plc1") == 1
        node = runtime.tree.tree()
        driver = next(n for n in node.walk() if n.path == "petra/drivers/s7:plc1")
        assert driver.state == "running" and driver.restarts == 0
        wait_until(lambda: threading.active_count() <= threads_running, timeout=5)
    wait_until(lambda: threading.active_count() <= threads_before, timeout=5)


def test_a_plc_that_is_down_at_start_gives_bad_quality_until_it_comes_up() -> None:
    server = S7Server()
    server.add_area("DB", 1, 8)
    struct.pack_into(">h", server.db(1), 0, 3)
    mappings = [{"signal": "n", "area": "DB", "db_number": 1, "address": 0, "data_type": "int"}]
    with running_plant({"s7": plc(server, mappings)}) as runtime:
        wait_until(lambda: bad(runtime, "n"))
        server.start()
        try:
            wait_until(lambda: runtime.plant.table.read("n").value == 3 and good(runtime, "n"))
        finally:
            server.stop()


def test_error_answers_and_malformed_data_mark_only_their_mappings_bad_and_are_counted(
        s7_server: S7Server, caplog: pytest.LogCaptureFixture) -> None:
    db = s7_server.db(1)  # 256 bytes
    struct.pack_into(">h", db, 0, 11)
    db[10:14] = bytes([2, 9]) + b"ab"  # a STRING[2] claiming 9 characters
    mappings = [
        {"signal": "ok", "area": "DB", "db_number": 1, "address": 0, "data_type": "int"},
        {"signal": "text", "area": "DB", "db_number": 1, "address": 10, "data_type": "string", "length": 2},
        {"signal": "past_end", "area": "DB", "db_number": 1, "address": 254, "data_type": "real"},
        {"signal": "no_db", "area": "DB", "db_number": 99, "address": 0, "data_type": "int"},
    ]
    with caplog.at_level(logging.WARNING, logger="petra.drivers"), \
            running_plant({"s7": plc(s7_server, mappings, poll_interval_ms=30)}) as runtime:
        wait_until(lambda: runtime.plant.table.read("ok").value == 11 and good(runtime, "ok"))
        wait_until(lambda: bad(runtime, "text") and bad(runtime, "past_end") and bad(runtime, "no_db"))
        wait_until(lambda: metric(runtime, "petra_driver_errors_total", "s7:plc1") >= 9)  # 3 bad mappings per poll
        assert metric(runtime, "petra_driver_connected", "s7:plc1") == 1
        assert caplog.text.count("past_end@") == 1  # rate-limited: one line, not one per poll
        db[11] = 2
        wait_until(lambda: runtime.plant.table.read("text").value == "ab" and good(runtime, "text"))
        assert good(runtime, "ok")


def test_several_plcs_each_get_their_own_supervised_connection(s7_server: S7Server) -> None:
    other = S7Server()
    other.add_area("DB", 1, 8)
    struct.pack_into(">h", other.db(1), 0, 2)
    struct.pack_into(">h", s7_server.db(1), 0, 1)
    mapping = {"area": "DB", "db_number": 1, "address": 0, "data_type": "int"}
    with other, running_plant({"s7": [plc(s7_server, [{"signal": "a", **mapping}], name="one"),
                                      plc(other, [{"signal": "b", **mapping}], name="two")]}) as runtime:
        wait_until(lambda: runtime.plant.table.read("a").value == 1 and runtime.plant.table.read("b").value == 2)
        other.stop()
        wait_until(lambda: bad(runtime, "b"))
        assert good(runtime, "a")
        paths = {n.path for n in runtime.tree.tree().walk()}
        assert {"petra/drivers/s7:one", "petra/drivers/s7:two"} <= paths


# python-snap7 connects with a fixed 5 s timeout (timeout_ms applies from then on), so silence and a bad length
# take 5 s an attempt here; garbage is answered at once.
@pytest.mark.parametrize("misbehaving_server", ["random"], indirect=True)
def test_a_plc_answering_garbage_counts_errors_and_is_not_connected(
        misbehaving_server: MisbehavingServer, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    conn = {"name": "plc1", "ip": "127.0.0.1", "port": misbehaving_server.port, "poll_interval_ms": 20,
            "timeout_ms": 200, "mappings": [{"signal": "t", "area": "DB", "db_number": 1, "address": 0,
                                             "data_type": "real"}]}
    with caplog.at_level(logging.INFO, logger="petra.drivers"), running_plant({"s7": conn}) as runtime:
        assert_counted_and_never_connected(runtime, "s7:plc1", "t", caplog.records,
                                           lambda: misbehaving_server.accepted)
