"""Chaos: random faults across a running PETRA's whole tree, then poison, then a full disk.

For a bounded time a seeded driver injects faults through the control API into
random actors of a real `petra run` subprocess, keeping each supervisor's
expected restarts under its intensity. Three phases share one process:

1. faults alone;
2. "poison": faults go on while hostile MQTT payloads (numbers beyond any
   type, JSON nested thousands deep, garbage, a retained poisoned message) and
   hostile API requests (integers beyond 64 bits, infinity into a bool, deep
   JSON bodies, broken Content-Length) arrive;
3. "disk full then freed": the WAL's file system (a small tmpfs) is filled
   while faults go on, then space is freed.

After each phase the process must be alive, every actor running again, no
supervisor given up, the scan still going and storage recording again (the
WAL's head moves on). After all of them: threads bounded, no tick gap beyond
the restart budget, a clean exit.

PETRA_CHAOS_SECONDS (default 20, the first phase; the others take half) and
PETRA_CHAOS_SEED change the run.
"""

from __future__ import annotations

import collections
import json
import os
import random
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.control.test_control_server import UnixHTTPConnection
from tests.e2e.petra_process import PetraProcess
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer
from tests.peers.small_disk import SmallDisk, small_disk_fixture

SECONDS = float(os.environ.get("PETRA_CHAOS_SECONDS", "20"))
SEED = int(os.environ.get("PETRA_CHAOS_SEED", str(int(time.time()))))
RESTART_BUDGET_S = 6.0  # probe interval + probe timeout + back-off, with margin
WAL_DISK_BYTES = 24 << 20

PLANT = {
    "scan_time_ms": 20,
    "signals": [
        {"name": "enable", "type": "bool", "initial": True},
        {"name": "setpoint", "type": "float", "initial": 50.0},
        {"name": "batch", "type": "int", "initial": 0},
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

    def call(self, method: str, path: str, body: object = None, raw: bytes | None = None) -> tuple[int, dict]:
        """One request; a connection error (e.g. control itself restarting) is (0, {})."""
        conn = UnixHTTPConnection(self.socket_path)
        try:
            payload = raw if raw is not None else (None if body is None else json.dumps(body))
            conn.request(method, path, body=payload)
            response = conn.getresponse()
            data = response.read()
            try:
                return response.status, json.loads(data)
            except ValueError:
                return response.status, {"raw": data[:200].decode(errors="replace")}
        except OSError:
            return 0, {}
        finally:
            conn.close()

    def raw_exchange(self, request: bytes) -> bytes:
        """Send bytes as they are (a malformed request) and read what comes back, bounded."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            try:
                sock.connect(str(self.socket_path))
                sock.sendall(request)
                return sock.recv(4096)
            except OSError:
                return b""

    def wal_head(self) -> int | None:
        status, body = self.call("GET", "/v1/status")
        if status != 200:
            return None
        return body["subsystems"].get("petra/storage/wal", {}).get("head")

    def value(self, name: str) -> object:
        status, body = self.call("GET", f"/v1/signals/{name}")
        return body.get("value") if status == 200 else None


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def walk(node: dict):
    yield node
    for child in node["children"]:
        yield from walk(child)


small_disk = small_disk_fixture(WAL_DISK_BYTES)


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    broker = Mosquitto(auth=True).start()
    try:
        yield broker
    finally:
        broker.close()


def chaos_plant(tmp_path: Path, wal_disk: SmallDisk, broker: Mosquitto) -> dict:
    """The logic above plus history, alarms and an MQTT bridge, so every subsystem takes faults."""
    plant = dict(PLANT)
    plant["storage"] = {"strategy": "local_first",
                        "local": {"data_dir": str(tmp_path / "history"), "flush_interval_seconds": 1},
                        "wal": {"wal_dir": str(wal_disk.path / "wal"), "sync_on_write": True}}
    plant["alarms"] = {
        "state_dir": str(tmp_path / "alarms"),
        "alarms": [
            {"id": "wave_high", "name": "Wave high", "signal": "wave0", "condition": "above", "setpoint": 0.8,
             "severity": "warning"},
            {"id": "valve_open", "name": "Valve open", "signal": "valve", "condition": "above", "setpoint": 50.0,
             "deadband": 1.0, "delay_seconds": 0.2, "severity": "critical", "require_acknowledgment": True},
        ],
    }
    plant["mqtt"] = {
        "broker_host": "127.0.0.1", "broker_port": broker.port, "client_id": "petra-chaos",
        "username": broker.username, "password": broker.password, "topic_prefix": "chaos/out",
        "command_topic": "chaos/cmd/+", "writable_signals": ["setpoint", "batch"], "reconnect_max_s": 0.5,
        "subscriptions": [
            {"topic": "chaos/json", "signal": "outdoor", "value_path": "a.b", "data_type": "float"},
            {"topic": "chaos/count", "signal": "pieces", "data_type": "int"},
        ],
    }
    return plant


def _huge(digits: int) -> str:
    return "1" + "0" * (digits - 1)


MQTT_POISON: list[tuple[str, bytes]] = [
    ("chaos/json", f'{{"a":{{"b":{_huge(400)}}}}}'.encode()),
    ("chaos/json", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
    ("chaos/json", b"\xff\xfe garbage \x00"),
    ("chaos/count", _huge(30).encode()),
    ("chaos/count", b"[" * 20_000),
    ("chaos/cmd/batch", _huge(400).encode()),
    ("chaos/cmd/setpoint", b"[" * 20_000),
]

API_POISON: list[tuple[str, str, object]] = [
    ("PUT", "/v1/signals/batch", {"value": 10**400}),
    ("PUT", "/v1/signals/batch", {"value": 2**64}),
    ("PUT", "/v1/signals/enable", {"value": float("inf")}),
    ("PUT", "/v1/signals/setpoint", {"value": float("nan")}),
    ("POST", "/v1/signals/setpoint/force", {"value": 10**400, "reason": "chaos"}),
    ("POST", "/v1/actors/inject", {"path": "petra/core/clock", "kind": "hang", "arg": 1e308}),
]

RAW_POISON = [
    b"PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"PUT /v1/signals/setpoint HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(300_000).encode() + b"\r\n\r\n"
    + b"[" * 300_000,
]


class FaultInjector:
    """Injects seeded faults, keeping each supervisor's expected restarts under its intensity."""

    LIMITS = {"petra": 10, "petra/core": 20, "petra/core/logic": 20, "petra/alarms/states": 50}

    def __init__(self, control: Control, rng: random.Random, workers: list[str], supervisors: list[str]) -> None:
        self.control, self.rng = control, rng
        self.workers, self.supervisors = workers, supervisors
        self.injected: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self.tick_log: list[tuple[float, int]] = []
        # across all phases: they run within one intensity period of PETRA's supervisors
        self.allowance: collections.Counter[str] = collections.Counter()

    def run(self, seconds: float, side_action: Callable[[], None] = lambda: None) -> None:
        allowance = self.allowance
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            status, body = self.control.call("GET", "/v1/status")
            if status == 200:
                self.tick_log.append((time.monotonic(), body["scan"]["ticks"]))
            side_action()
            path = self.rng.choice(self.workers + self.supervisors)
            parent = path.rsplit("/", 1)[0]
            if allowance[parent] >= self.LIMITS.get(parent, 10) // 2:
                time.sleep(0.05)
                continue
            if path in self.supervisors or path == "petra/services/control":
                kind, arg = "crash", None  # supervisors are not probed; a hung control would blind the test
            else:
                kind = self.rng.choice(["crash", "crash", "hang", "slow", "raise-on-next"])
                arg = {"hang": self.rng.uniform(0.5, 2.5), "slow": self.rng.uniform(2, 15)}.get(kind)
            status, _ = self.control.call("POST", "/v1/actors/inject", {"path": path, "kind": kind, "arg": arg})
            if status == 200:
                self.injected[kind] += 1
                allowance[parent] += 1
            else:
                self.refused += 1  # e.g. that actor was restarting at that moment
            time.sleep(self.rng.uniform(0.15, 0.4))

    def longest_tick_gap(self) -> float:
        longest, last_change = 0.0, self.tick_log[0]
        for at, ticks in self.tick_log[1:]:
            if ticks != last_change[1]:
                longest = max(longest, at - last_change[0])
                last_change = (at, ticks)
        return longest


def assert_recovered(process: PetraProcess, control: Control, expected: set[str], phase: str) -> None:
    """Alive, every actor running, nothing given up, the scan going, and the WAL recording again."""

    def all_running() -> bool:
        status, body = control.call("GET", "/v1/tree")
        return status == 200 and all(n["state"] == "running" for n in walk(body))

    wait_until(all_running, timeout=45)
    final = list(walk(control.call("GET", "/v1/tree")[1]))
    assert process.proc.poll() is None, f"PETRA died in the {phase} phase"
    assert {n["path"] for n in final} >= expected, phase
    assert not [n for n in final if n["state"] == "gave_up"], phase
    ticks_now = control.call("GET", "/v1/status")[1]["scan"]["ticks"]
    wait_until(lambda: control.call("GET", "/v1/status")[1]["scan"]["ticks"] > ticks_now + 10)
    head = wait_until(control.wal_head, timeout=15)
    wait_until(lambda: (control.wal_head() or 0) > head + 100, timeout=30)


def test_chaos_faults_poison_and_a_full_disk_leave_a_running_plant(tmp_path, small_disk, broker):
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(chaos_plant(tmp_path, small_disk, broker), sort_keys=False))
    sock = tmp_path / "c.sock"
    process = PetraProcess(["run", str(config), "--metrics-port", "0", "--control-socket", str(sock)],
                           tmp_path / "petra.log")
    control = Control(sock)
    sensor = MqttPeer(broker, client_id="chaos-sensor")
    try:
        wait_until(lambda: control.call("GET", "/v1/status")[0] == 200, timeout=30)
        nodes = list(walk(control.call("GET", "/v1/tree")[1]))
        workers = [n["path"] for n in nodes if n["kind"] == "worker"]
        supervisors = [n["path"] for n in nodes if n["kind"] == "supervisor" and n["path"] != "petra"]
        expected = set(workers) | set(supervisors)
        threads_before = threads_of(process.proc.pid)
        faults = FaultInjector(control, random.Random(SEED), workers, supervisors)

        faults.run(SECONDS)
        assert_recovered(process, control, expected, "faults")

        # --- poison: hostile payloads and values while faults go on
        sensor.publish("chaos/json", MQTT_POISON[0][1], retain=True)  # a poisoned retained message
        answers: list[tuple[str, int]] = []
        poison = iter(range(10**9))

        def one_poison() -> None:
            i = next(poison)
            topic, payload = MQTT_POISON[i % len(MQTT_POISON)]
            sensor.publish(topic, payload)
            method, path, body = API_POISON[i % len(API_POISON)]
            answers.append((f"{method} {path} {str(body)[:40]}", control.call(method, path, body)[0]))
            control.raw_exchange(RAW_POISON[i % len(RAW_POISON)])
            deep = b'{"value":' * 100_000 + b"1" + b"}" * 100_000
            answers.append(("deep json body", control.call("PUT", "/v1/signals/setpoint", raw=deep)[0]))

        faults.run(SECONDS / 2, one_poison)
        assert_recovered(process, control, expected, "poison")
        served = [(what, status) for what, status in answers if status != 0]  # 0: control was restarting
        assert served and all(400 <= status < 500 for _, status in served), served
        sensor.publish("chaos/json", b'{"a":{"b":21.5}}', retain=True)  # good values are applied after it
        wait_until(lambda: control.value("outdoor") == 21.5, timeout=15)
        sensor.publish("chaos/cmd/batch", b"7")
        wait_until(lambda: control.value("batch") == 7, timeout=15)

        # --- disk full then freed, while faults go on
        small_disk.fill()
        wait_until(lambda: control.value("storage.wal_full") is True, timeout=30)
        faults.run(SECONDS / 4)
        small_disk.free()
        faults.run(SECONDS / 4)
        assert_recovered(process, control, expected, "disk full then freed")
        wait_until(lambda: control.value("storage.wal_full") is False, timeout=30)

        threads_after = threads_of(process.proc.pid)
        wait_until(lambda: threads_of(process.proc.pid) <= threads_before + 12, timeout=15)
        longest = faults.longest_tick_gap()
        assert longest < RESTART_BUDGET_S, f"the scan stalled for {longest:.1f} s"
        final = list(walk(control.call("GET", "/v1/tree")[1]))
        restarts = sum(n["restarts"] for n in final)
        print(
            f"\nchaos (seed {SEED}, {SECONDS:.0f}+{SECONDS / 2:.0f}+{SECONDS / 2:.0f} s): injected "
            f"{dict(faults.injected)} ({sum(faults.injected.values())} faults, {faults.refused} refused while "
            f"restarting); poison: {len(served)} hostile API requests answered 4xx, {len(MQTT_POISON)} kinds of "
            f"MQTT poison; disk filled and freed; {restarts} restarts, all {len(final)} actors running again; "
            f"longest tick gap {longest:.2f} s; threads {threads_before} -> {threads_after} "
            f"-> {threads_of(process.proc.pid)}"
        )
        assert process.terminate() == 0
    finally:
        sensor.close()
        process.kill()
    assert "gave up" not in process.log
