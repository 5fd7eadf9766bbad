"""Chaos: random crashes, hangs and slow-downs across a running PETRA's whole tree.

For a bounded time a seeded driver injects faults through the control API into
random actors of a real `petra run` subprocess, keeping each supervisor's
expected restarts under its intensity. Afterwards the process must be alive,
every actor running again, no supervisor given up, the thread count bounded,
and the scan must have kept going (no tick gap longer than the restart budget).

PETRA_CHAOS_SECONDS (default 20) and PETRA_CHAOS_SEED change the run.
"""

from __future__ import annotations

import collections
import json
import os
import random
import time
from pathlib import Path

import yaml

from tests.control.test_control_server import UnixHTTPConnection
from tests.e2e.petra_process import PetraProcess
from tests.helpers import wait_until

SECONDS = float(os.environ.get("PETRA_CHAOS_SECONDS", "20"))
SEED = int(os.environ.get("PETRA_CHAOS_SEED", str(int(time.time()))))
RESTART_BUDGET_S = 6.0  # probe interval + probe timeout + back-off, with margin

PLANT = {
    "scan_time_ms": 20,
    "signals": [
        {"name": "enable", "type": "bool", "initial": True},
        {"name": "setpoint", "type": "float", "initial": 50.0},
        {"name": "pressure", "type": "float", "initial": 1.0, "group": "field"},
    ],
    "blocks": [
        *({"name": f"gen{i}", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
           "outputs": {"sine_out": f"wave{i}", "count_out": f"count{i}"}} for i in range(6)),
        *({"name": f"cmp{i}", "type": "GT", "inputs": {"in1": f"wave{i}", "in2": "0.2"},
           "outputs": {"out": f"high{i}"}} for i in range(6)),
        {"name": "delay", "type": "TON", "inputs": {"in": "high0"}, "outputs": {"q": "alarm"},
         "params": {"preset_ms": 100}},
        {"name": "pid", "type": "PID", "inputs": {"pv": "pressure", "sp": "setpoint"}, "outputs": {"out": "valve"},
         "params": {"kp": 1.0, "ki": 0.1}},
    ],
}


class Control:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        """One request; a connection error (e.g. control itself restarting) is (0, {})."""
        conn = UnixHTTPConnection(self.socket_path)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        except OSError:
            return 0, {}
        finally:
            conn.close()


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def walk(node: dict):
    yield node
    for child in node["children"]:
        yield from walk(child)


def chaos_plant(tmp_path: Path) -> dict:
    """The logic above plus history (WAL + Parquet) and alarms, so every subsystem takes faults."""
    plant = dict(PLANT)
    plant["storage"] = {"strategy": "local_first",
                        "local": {"data_dir": str(tmp_path / "history"), "flush_interval_seconds": 1},
                        "wal": {"wal_dir": str(tmp_path / "wal"), "sync_on_write": True}}
    plant["alarms"] = {
        "state_dir": str(tmp_path / "alarms"),
        "alarms": [
            {"id": "wave_high", "name": "Wave high", "signal": "wave0", "condition": "above", "setpoint": 0.8,
             "severity": "warning"},
            {"id": "valve_open", "name": "Valve open", "signal": "valve", "condition": "above", "setpoint": 50.0,
             "deadband": 1.0, "delay_seconds": 0.2, "severity": "critical", "require_acknowledgment": True},
        ],
    }
    return plant


def test_chaos_across_the_whole_tree_leaves_a_running_plant(tmp_path):
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(chaos_plant(tmp_path), sort_keys=False))
    sock = tmp_path / "c.sock"
    process = PetraProcess(["run", str(config), "--metrics-port", "0", "--control-socket", str(sock)],
                           tmp_path / "petra.log")
    control = Control(sock)
    rng = random.Random(SEED)
    try:
        wait_until(lambda: control.call("GET", "/v1/status")[0] == 200, timeout=30)
        tree = control.call("GET", "/v1/tree")[1]
        nodes = list(walk(tree))
        workers = [n["path"] for n in nodes if n["kind"] == "worker"]
        supervisors = [n["path"] for n in nodes if n["kind"] == "supervisor" and n["path"] != "petra"]
        threads_before = threads_of(process.proc.pid)
        # (max_restarts, period) of PETRA's supervisors: keep each parent's expected restarts well under it
        allowance = collections.Counter()
        limits = {"petra": 10, "petra/core": 20, "petra/core/logic": 20, "petra/alarms/states": 50}
        injected = collections.Counter()
        refused = 0
        tick_log: list[tuple[float, int]] = []
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            status, body = control.call("GET", "/v1/status")
            if status == 200:
                tick_log.append((time.monotonic(), body["scan"]["ticks"]))
            path = rng.choice(workers + supervisors)
            parent = path.rsplit("/", 1)[0]
            if allowance[parent] >= limits.get(parent, 10) // 2:
                time.sleep(0.05)
                continue
            if path in supervisors or path == "petra/services/control":
                kind, arg = "crash", None  # supervisors are not probed; a hung control would blind the test
            else:
                kind = rng.choice(["crash", "crash", "hang", "slow", "raise-on-next"])
                arg = {"hang": rng.uniform(0.5, 2.5), "slow": rng.uniform(2, 15)}.get(kind)
            status, _ = control.call("POST", "/v1/actors/inject", {"path": path, "kind": kind, "arg": arg})
            if status == 200:
                injected[kind] += 1
                allowance[parent] += 1
            else:
                refused += 1  # e.g. that actor was restarting at that moment
            time.sleep(rng.uniform(0.15, 0.4))

        def all_running() -> bool:
            status, body = control.call("GET", "/v1/tree")
            return status == 200 and all(n["state"] == "running" for n in walk(body))

        wait_until(all_running, timeout=45)
        final = list(walk(control.call("GET", "/v1/tree")[1]))
        assert process.proc.poll() is None, "PETRA died"
        assert {n["path"] for n in final} >= set(workers) | set(supervisors)
        assert not [n for n in final if n["state"] == "gave_up"]
        threads_after = threads_of(process.proc.pid)
        wait_until(lambda: threads_of(process.proc.pid) <= threads_before + 12, timeout=15)
        ticks_now = control.call("GET", "/v1/status")[1]["scan"]["ticks"]
        wait_until(lambda: control.call("GET", "/v1/status")[1]["scan"]["ticks"] > ticks_now + 10)
        longest = 0.0
        last_change = tick_log[0]
        for at, ticks in tick_log[1:]:
            if ticks != last_change[1]:
                longest = max(longest, at - last_change[0])
                last_change = (at, ticks)
        assert longest < RESTART_BUDGET_S, f"the scan stalled for {longest:.1f} s"
        restarts = sum(n["restarts"] for n in final)
        print(
            f"\nchaos (seed {SEED}, {SECONDS:.0f} s): injected {dict(injected)} ({sum(injected.values())} faults, "
            f"{refused} refused while restarting); {restarts} restarts, all {len(final)} actors running again; "
            f"longest tick gap {longest:.2f} s; threads {threads_before} -> {threads_after} "
            f"-> {threads_of(process.proc.pid)}"
        )
        assert process.terminate() == 0
    finally:
        process.kill()
    assert "gave up" not in process.log
