"""`petra s7 ...`, `petra modbus ...` and `petra simulate` against the real servers."""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import pytest

from petra.cli import build_parser
from petra.simulator import Simulator
from petra.simulator.servers import ModbusServer, S7Server
from tests.peers.modbus_server import modbus_server_fixture  # noqa: F401  (fixture modbus_server)
from tests.peers.snap7_server import s7_server_fixture  # noqa: F401  (fixture s7_server)


def petra(*argv: str) -> int:
    args = build_parser().parse_args([str(a) for a in argv])
    return int(args.handler(args))


def test_s7_tools_connect_read_and_write_every_area(s7_server: S7Server, capsys: pytest.CaptureFixture[str]) -> None:
    port = ("--ip", "127.0.0.1", "--port", s7_server.port)
    assert petra("s7", "connect", *port) == 0
    assert "PDU 480 bytes" in capsys.readouterr().out
    assert petra("s7", "write", *port, "--db", 10, "--address", 4, "--data-type", "real", "--value", "2.5") == 0
    assert struct.unpack_from(">f", s7_server.db(10), 4)[0] == 2.5
    assert petra("s7", "read", *port, "--db", 10, "--address", 4, "--data-type", "real") == 0
    assert "value = 2.5" in capsys.readouterr().out
    assert petra("s7", "write", *port, "--area", "MK", "--address", 1, "--bit", 6, "--data-type", "bool",
                 "--value", "true") == 0
    assert s7_server.areas[("MK", 0)][1] == 0b0100_0000
    assert petra("s7", "read", *port, "--area", "MK", "--address", 1, "--bit", 6, "--data-type", "bool") == 0
    assert "value = True" in capsys.readouterr().out
    assert petra("s7", "info", *port) == 0


def test_s7_tools_report_errors_with_exit_code_1(s7_server: S7Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert petra("s7", "read", "--ip", "127.0.0.1", "--port", s7_server.port, "--db", 77) == 1
    assert "value = BAD" in capsys.readouterr().out
    s7_server.stop()
    assert petra("s7", "connect", "--ip", "127.0.0.1", "--port", s7_server.port, "--timeout", 0.5) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_s7_monitor_polls_the_mappings_of_a_config(s7_server: S7Server, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    struct.pack_into(">h", s7_server.db(1), 2, 321)
    config = tmp_path / "plant.yaml"
    config.write_text(f"""
s7:
  ip: 127.0.0.1
  port: {s7_server.port}
  mappings:
    - {{signal: count, area: DB, db_number: 1, address: 2, data_type: int}}
""")
    assert petra("s7", "monitor", "--config", config, "--interval", 0.01, "--count", 2) == 0
    assert capsys.readouterr().out.count("count = 321") == 2


def test_modbus_tools_write_and_read_registers_and_coils(modbus_server: ModbusServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    where = ("--host", "127.0.0.1", "--port", modbus_server.port, "--unit", 2)
    assert petra("modbus", "write", *where, "--address", 10, "--data-type", "float32", "--word-order", "little",
                 "--value", "-3.5") == 0
    assert petra("modbus", "read", *where, "--address", 10, "--data-type", "float32", "--word-order",
                 "little") == 0
    assert "holding_register[10] = -3.5" in capsys.readouterr().out
    assert petra("modbus", "write", *where, "--table", "coil", "--address", 4, "--value", "on") == 0
    assert modbus_server.get(2, "coil", 4) == [True]
    assert petra("modbus", "read", *where, "--table", "coil", "--address", 3, "--count", 2) == 0
    out = capsys.readouterr().out
    assert "coil[3] = False" in out and "coil[4] = True" in out
    assert petra("modbus", "write", *where, "--table", "input_register", "--value", "1") == 2
    assert petra("modbus", "monitor", *where, "--address", 10, "--polls", 2, "--interval", 0.01) == 0


def test_simulate_prints_a_config_that_petra_accepts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert petra("simulate", "--s7-port", 0, "--modbus-port", 0, "--duration", 0.3) == 0
    snippet = capsys.readouterr().out
    config = tmp_path / "sim.yaml"
    config.write_text(snippet)
    from petra.commands.config_cmds import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["check", str(config)])
    assert args.handler(args) == 0
    assert petra("simulate", "--print-config", "--s7-port", 1234) == 0
    assert "port: 1234" in capsys.readouterr().out


def test_a_simulator_can_be_monitored_with_the_tools(capsys: pytest.CaptureFixture[str]) -> None:
    with Simulator() as sim:
        assert petra("modbus", "read", "--port", sim.modbus_port, "--table", "input_register",
                     "--data-type", "float32") == 0
        assert "input_register[0] = 20.0" in capsys.readouterr().out


@pytest.mark.parametrize("to_file", [True, False], ids=["config-out", "stdout"])
def test_simulate_keeps_its_config_apart_from_the_servers_log_after_a_bad_read(tmp_path: Path, to_file: bool) -> None:
    import signal
    import subprocess
    import sys

    import snap7

    from petra.config.loader import load_config_text
    from tests.helpers import wait_until

    out, err = tmp_path / "stdout", tmp_path / "stderr"
    saved = tmp_path / "sim.yaml"
    argv = [sys.executable, "-m", "petra.cli", "simulate", "--s7-port", "0", "--modbus-port", "0"]
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(argv + (["--config-out", str(saved)] if to_file else []), stdout=stdout,
                                stderr=stderr, cwd=Path(__file__).resolve().parents[2])
        try:
            wait_until(lambda: "Ctrl-C stops" in err.read_text() or proc.poll() is not None, timeout=20)
            config = load_config_text((saved if to_file else out).read_text(), "sim.yaml", env={})
            client = snap7.Client()
            client.connect("127.0.0.1", 0, 1, tcp_port=config.sections["s7"][0]["port"])
            for _ in range(3):
                with pytest.raises(Exception, match="does not exist"):
                    client.db_read(100, 0, 4)  # the server complains in its log
            client.disconnect()
            wait_until(lambda: "not registered" in err.read_text())
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
    log = err.read_text()
    assert "level=warning logger=snap7" in log  # the library's complaint is a PETRA log line on stderr
    assert log.count("not registered") == 1  # rate-limited: one line for three bad reads
    if to_file:
        assert out.read_text() == ""
    load_config_text((saved if to_file else out).read_text(), "sim.yaml", env={})  # still parses afterwards


def test_the_tools_take_connection_options_before_the_action_as_the_originals_did(
        s7_server: S7Server, modbus_server: ModbusServer, capsys: pytest.CaptureFixture[str]) -> None:
    before = ("--ip", "127.0.0.1", "--port", s7_server.port)
    assert petra("s7", *before, "connect") == 0
    assert "PDU 480 bytes" in capsys.readouterr().out
    assert petra("s7", *before, "write", "--area", "DB", "--db", 10, "--address", 16, "--data-type", "real",
                 "--value", "25.5") == 0
    assert "wrote 25.5 to DB10.DBD16" in capsys.readouterr().out  # a REAL is a double word
    assert petra("s7", "--port", 1, "read", "--port", s7_server.port, "--db", 10, "--address", 16,
                 "--data-type", "real") == 0  # given after the action, an option wins
    assert "value = 25.5" in capsys.readouterr().out
    assert petra("modbus", "--host", "127.0.0.1", "--port", modbus_server.port, "--unit", 2, "write",
                 "--address", 3, "--value", "77") == 0
    assert modbus_server.get(2, "holding_register", 3) == [77]


def test_s7_info_prints_what_the_plc_says_as_text_not_python_objects(
        s7_server: S7Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert petra("s7", "info", "--ip", "127.0.0.1", "--port", s7_server.port) == 0
    out = capsys.readouterr().out
    assert "object at 0x" not in out and "b'" not in out
    assert "CPU state: RUN" in out
    assert "ModuleTypeName: CPU 315-2 PN/DP" in out
