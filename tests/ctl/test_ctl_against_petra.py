"""petra-ctl as a subprocess against a real running PETRA, observed only through its output and exit code."""

from __future__ import annotations

import json
import socket

from petra.ctl.top import SPARK_CHARS
from tests.helpers import wait_until


def find(tree: dict, path: str) -> dict | None:
    if tree["path"] == path:
        return tree
    for child in tree["children"]:
        found = find(child, path)
        if found is not None:
            return found
    return None


def test_status_json_reports_version_config_scan_statistics_and_actors(ctl):
    result = ctl("status", "--json")
    assert result.code == 0, result.err
    status = json.loads(result.out)
    assert status["node_id"] == "ctl-test"
    assert status["scan_time_ms"] == 20
    assert status["config"]["path"] == str(ctl.config)
    assert len(status["config"]["sha256"]) == 64
    assert status["scan"]["ticks"] > 0
    assert {"lateness_p50_ms", "lateness_p99_ms", "work_max_ms", "overruns"} <= status["scan"].keys()
    assert status["actors"]["total"] >= 8


def test_status_for_people_shows_the_node_the_config_and_scan_timing(ctl):
    result = ctl("status")
    assert result.code == 0, result.err
    assert "ctl-test" in result.out and str(ctl.config) in result.out
    assert "scan every 20 ms" in result.out and "lateness" in result.out and "unsigned" in result.out


def test_tree_shows_every_actor_path_with_its_state_restarts_uptime_and_mailbox(ctl):
    result = ctl("tree")
    assert result.code == 0, result.err
    for path in ("petra/core/clock", "petra/core/logic/gen", "petra/core/signals/default", "petra/services/control"):
        assert path in result.out
    line = next(line for line in result.out.splitlines() if "petra/core/clock" in line)
    assert "running" in line and "restarts 0" in line and "up " in line and "mailbox 0" in line


def test_tree_json_is_the_nested_node_snapshot(ctl):
    tree = json.loads(ctl("tree", "--json").out)
    assert tree["path"] == "petra" and tree["state"] == "running"
    assert find(tree, "petra/core/logic/gen")["kind"] == "worker"


def test_signals_lists_every_signal_with_value_type_quality_and_owner(ctl):
    result = ctl("signals")
    assert result.code == 0, result.err
    for name in ("enable", "threshold", "wave", "ticks", "wave_high", "victim_count"):
        assert name in result.out
    row = next(line for line in result.out.splitlines() if " threshold " in line)
    assert "V" in row and "float" in row and "good" in row and "default" in row


def test_signals_with_a_pattern_lists_only_the_matching_ones_and_json_is_a_list(ctl):
    result = ctl("signals", "wave*")
    assert "wave_high" in result.out and "threshold" not in result.out
    names = {s["name"] for s in json.loads(ctl("signals", "wave*", "--json").out)}
    assert names == {"wave", "wave_high"}
    assert "no signals match" in ctl("signals", "nothing*").out


def test_set_then_get_round_trips_a_writable_float(ctl):
    result = ctl("set", "threshold", "0.75")
    assert result.code == 0, result.err
    assert "threshold = 0.75" in result.out
    assert json.loads(ctl("get", "threshold", "--json").out)["value"] == 0.75
    shown = ctl("get", "threshold")
    assert "0.75 V" in shown.out and "trip level" in shown.out


def test_setting_a_computed_signal_is_refused_with_exit_1_and_the_reason(ctl):
    result = ctl("set", "wave", "3")
    assert result.code == 1
    assert "computed by logic/gen" in result.err and "Traceback" not in result.err


def test_getting_an_unknown_signal_is_refused_with_exit_1(ctl):
    result = ctl("get", "no_such_signal")
    assert result.code == 1
    assert "unknown signal 'no_such_signal'" in result.err


def test_force_needs_a_reason_and_unforce_releases_the_signal(ctl):
    refused = ctl("force", "wave_high", "true")
    assert refused.code == 1
    assert "reason" in refused.err and "--reason" in refused.err

    forced = ctl("force", "wave_high", "true", "--reason", "commissioning the trip")
    assert forced.code == 0, forced.err
    sample = json.loads(ctl("get", "wave_high", "--json").out)
    assert sample["forced"] is True and sample["value"] is True
    assert sample["force_reason"] == "commissioning the trip"
    row = next(line for line in ctl("signals", "wave_high").out.splitlines() if "wave_high" in line)
    assert " F " in row

    released = ctl("unforce", "wave_high", "--reason", "done")
    assert released.code == 0, released.err
    assert json.loads(ctl("get", "wave_high", "--json").out)["forced"] is False
    assert ctl("unforce", "wave_high").code == 1  # no longer forced


def test_watch_count_3_prints_the_changing_signals_then_exits(ctl):
    result = ctl("watch", "wave", "--count", "3", timeout=15)
    assert result.code == 0, result.err
    assert "wave" in result.out and "logic/gen" in result.out
    assert "ticks" not in result.out  # filtered out by the pattern


def test_watch_json_prints_one_change_per_line(ctl):
    result = ctl("watch", "ticks", "--count", "3", "--json", timeout=15)
    assert result.code == 0, result.err
    changes = [json.loads(line) for line in result.out.splitlines()]
    assert len(changes) == 3
    assert {c["name"] for c in changes} == {"ticks"}
    assert changes[0]["value"] < changes[1]["value"] < changes[2]["value"]
    assert changes[0]["owner"] == "logic/gen" and changes[0]["quality"] == "good"


def test_top_once_shows_scan_timing_busy_chains_restarts_and_a_sparkline(ctl):
    result = ctl("top", "--once", timeout=15)
    assert result.code == 0, result.err
    out = result.out
    assert "scan timing" in out and "lateness" in out and "work" in out and "ticks" in out
    assert "busiest chains" in out and "gen" in out
    assert "recent restarts" in out
    wave = next(line for line in out.splitlines() if "│ wave " in line)
    assert sum(ch in SPARK_CHARS for ch in wave) >= 10
    assert len({ch for ch in wave if ch in SPARK_CHARS}) >= 3


def test_injecting_a_crash_into_a_chain_shows_one_restart_in_the_tree(ctl):
    result = ctl("inject", "petra/core/logic/victim", "crash")
    assert result.code == 0, result.err
    assert "injected crash into petra/core/logic/victim" in result.out

    def restarted_and_running() -> bool:
        node = find(json.loads(ctl("tree", "--json").out), "petra/core/logic/victim")
        return node["restarts"] == 1 and node["state"] == "running"

    wait_until(restarted_and_running, timeout=10, interval=0.2)
    line = next(line for line in ctl("tree").out.splitlines() if "petra/core/logic/victim" in line)
    assert "restarts 1" in line and "injected crash" in line
    assert "petra/core/logic/victim" in ctl("top", "--once", timeout=15).out


def test_inject_slow_without_milliseconds_is_a_usage_error(ctl):
    result = ctl("inject", "petra/core/logic/spare", "slow")
    assert result.code == 2
    assert "slow needs MS" in result.err


def test_restart_of_an_actor_path_gives_it_a_fresh_uptime(ctl):
    before = find(json.loads(ctl("tree", "--json").out), "petra/core/logic/spare")["uptime_s"]
    result = ctl("restart", "petra/core/logic/spare")
    assert result.code == 0, result.err
    assert "restarted petra/core/logic/spare" in result.out
    after = find(json.loads(ctl("tree", "--json").out), "petra/core/logic/spare")
    assert after["state"] == "running" and after["uptime_s"] < before


def test_restarting_the_control_actor_itself_is_answered_and_the_plant_uptime_keeps_counting(ctl):
    uptime = json.loads(ctl("status", "--json").out)["uptime_s"]
    result = ctl("restart", "petra/services/control")
    assert result.code == 0, result.err
    assert "restarted petra/services/control" in result.out
    status = wait_until(lambda: (r := ctl("status", "--json")).code == 0 and json.loads(r.out))
    assert status["uptime_s"] > uptime  # PETRA's uptime, not the control actor's


def test_restart_of_an_unknown_path_is_refused(ctl):
    result = ctl("restart", "petra/core/logic/nobody")
    assert result.code == 1
    assert "no actor at 'petra/core/logic/nobody'" in result.err


def test_reload_of_the_unchanged_file_is_accepted_and_keeps_everything(ctl):
    result = ctl("reload")
    assert result.code == 0, result.err
    assert "reload accepted" in result.out and "unchanged" in result.out
    data = json.loads(ctl("reload", "--json").out)
    assert data["accepted"] is True and data["changes"]["restarted"] == []


def test_a_socket_nobody_listens_on_exits_3_with_the_not_running_message(tmp_path, ctl):
    missing = tmp_path / "nobody.sock"
    result = ctl("status", socket=missing)
    assert result.code == 3
    assert result.err.strip() == (
        f"petra-ctl: no PETRA control socket at {missing}: is PETRA running? (set --socket or PETRA_SOCKET)"
    )
    assert result.out == ""


def test_a_stale_socket_file_exits_3_and_says_nothing_is_listening(tmp_path, ctl):
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(stale))  # bound, never listening: what a crashed PETRA leaves behind
        result = ctl("tree", socket=stale)
    assert result.code == 3
    assert "nothing is listening" in result.err and "is PETRA running?" in result.err


def test_top_fits_an_80_by_24_terminal_shows_its_quit_key_and_quits_on_q(ctl):
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    from pathlib import Path

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PETRA_SOCKET")}
    proc = subprocess.Popen([sys.executable, "-m", "petra.ctl", "--socket", str(ctl.socket), "top"],
                            stdin=follower, stdout=follower, stderr=follower, env={**env, "TERM": "xterm"},
                            cwd=Path(__file__).resolve().parents[2])
    os.close(follower)
    screen = b""
    try:
        def drawn() -> bool:
            nonlocal screen
            while select.select([leader], [], [], 0.05)[0]:
                screen += os.read(leader, 65536)
            return b"changing signals" in screen and b"q quit" in screen

        wait_until(drawn, timeout=20)
        assert b"..." not in screen.split(b"changing signals", 1)[1]  # rich marks a cut-off frame with ...
        os.write(leader, b"q")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)


def test_status_of_the_embedded_demo_names_it_instead_of_none(tmp_path):
    from tests.e2e.petra_process import PetraProcess

    sock = tmp_path / "demo.sock"
    demo = PetraProcess(["run", "--metrics-port", "0", "--control-socket", str(sock)], tmp_path / "demo.log")
    try:
        wait_until(lambda: sock.exists() or demo.proc.poll() is not None, timeout=20)
        from tests.ctl.conftest import Ctl

        result = wait_until(lambda: (r := Ctl(sock, tmp_path / "none.yaml")("status")).code == 0 and r, timeout=10)
        config_line = next(line for line in result.out.splitlines() if line.startswith("config"))
        assert "None" not in config_line and "embedded demo" in config_line
    finally:
        assert demo.terminate() == 0
