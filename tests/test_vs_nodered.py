"""benchmarks/vs_nodered.py's own parts: how outputs are scored, both sides' flow files, the installer's skip.

The benchmark's numbers are printed by the script, never asserted here; these tests hold what the
comparison's fairness rests on: a T that does not come out is lost, a wrong alarm is counted, both
systems are given the issue's flow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from petra.config.loader import load_config
from petra.logic.graph import partition

ROOT = Path(__file__).resolve().parent.parent
FLOW_DIR = ROOT / "benchmarks" / "nodered"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/nodered/mqtt_harness.py, the clients and scoring vs_nodered.py drives every row with."""
    spec = importlib.util.spec_from_file_location("mqtt_harness", FLOW_DIR / "mqtt_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mqtt_harness"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def output(t: int, alarm: bool | None, at_us: int) -> tuple[int, bytes]:
    payload = json.dumps({"alarm": alarm, "t": t} if alarm is not None else t).encode()
    return at_us * 1000, payload


def test_a_message_whose_t_never_comes_out_is_lost_and_a_wrong_alarm_is_counted(bench: ModuleType) -> None:
    stamps = [1_000, 2_000, 3_000, 4_000]  # V = 70.5, 71.5, 72.5, 73.5: no alarm
    received = [output(1_000, False, 1_500), output(2_000, True, 2_400), output(4_000, False, 4_300)]
    phase = bench.score(stamps, 1.0, received)
    assert (phase.sent, phase.delivered, phase.lost, phase.wrong) == (4, 3, 1, 1)
    assert phase.max == pytest.approx(0.5)  # ms: receive - T
    assert phase.throughput == pytest.approx(3 / ((4_300 - 1_000) / 1e6))


def test_probes_stragglers_and_duplicates_earn_nothing(bench: ModuleType) -> None:
    stamps = [10_000, 11_000]
    received = [output(-3, False, 9_000), output(5_000, False, 10_100),  # a probe, an earlier phase's T
                output(10_000, False, 10_200), output(10_000, False, 10_900),  # the same T twice
                (10_950_000, b"not json")]
    phase = bench.score(stamps, 1.0, received)
    assert (phase.delivered, phase.lost, phase.wrong) == (1, 1, 1)


def test_alarm_is_checked_against_the_value_the_t_was_sent_with(bench: ModuleType) -> None:
    stamps = list(range(100, 110))  # message i carries V = 70.5 + i: alarm from i = 5 on
    received = [output(t, bench.value(i) > 75, t + 1) for i, t in enumerate(stamps)]
    assert bench.score(stamps, 1.0, received).wrong == 0
    assert [bench.value(i) > 75 for i in range(10)] == [False] * 5 + [True] * 5
    flipped = [output(t, not (bench.value(i) > 75), t + 1) for i, t in enumerate(stamps)]
    assert bench.score(stamps, 1.0, flipped).wrong == 10


def test_node_red_is_given_the_issues_flow_headless() -> None:
    nodes = {n["id"]: n for n in json.loads((FLOW_DIR / "flows.json").read_text())}
    mqtt_in, function, mqtt_out = nodes["in"], nodes["compare"], nodes["out"]
    assert (mqtt_in["type"], mqtt_in["datatype"], mqtt_in["topic"], mqtt_in["qos"]) == ("mqtt in", "json",
                                                                                       "bench/in", "0")
    assert mqtt_in["wires"] == [["compare"]] and function["wires"] == [["out"]]
    assert function["func"].startswith(
        "msg.payload = {alarm: msg.payload.temperature.value > 75, t: msg.payload.t};")
    assert (mqtt_out["type"], mqtt_out["topic"], mqtt_out["qos"]) == ("mqtt out", "bench/out", "0")
    settings = (FLOW_DIR / "settings.js").read_text()
    assert "httpAdminRoot: false" in settings and "httpNodeRoot: false" in settings
    assert json.loads((FLOW_DIR / "package.json").read_text())["dependencies"]["node-red"].startswith("4.1.")


def test_petras_side_is_one_event_task_chain_and_one_composed_message() -> None:
    env = {"PETRA_BENCH_MQTT_PORT": "1883", "PETRA_BENCH_MQTT_USER": "u", "PETRA_BENCH_MQTT_PASSWORD": "p"}
    config = load_config(FLOW_DIR / "petra.yaml", env=env)
    (chain,) = partition(config.blocks)
    assert chain.task == "on_message"
    assert [b.type for b in chain.blocks] == ["GT", "SELECT"]
    (task,) = [t for t in config.all_tasks if t.name == "on_message"]
    assert tuple(task.trigger) == ("t",)
    mqtt = config.sections["mqtt"]
    assert mqtt["publish_signals"] == []
    assert mqtt["publish_groups"] == [{"topic": "bench/out", "fields": {"alarm": "alarm", "t": "t_out"},
                                       "on": ["t_out"]}]


def test_without_npm_and_without_an_installed_copy_the_installer_says_so_and_exits_3(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cmp", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir), "PETRA_NODERED_DIR": str(tmp_path / "none")}
    done = subprocess.run([str(bin_dir / "bash"), str(ROOT / "tools" / "install-nodered.sh")], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 3
    assert "npm not found" in done.stderr
    assert not (tmp_path / "none").exists()
