"""Hot reload as a tree diff, proved on a running plant."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from petra.config.loader import load_config
from petra.runtime import Runtime, RuntimeOptions
from petra.security import generate_keypair, sign_file
from tests.control.conftest import PLANT, write_config
from tests.helpers import wait_until


def nodes(runtime: Runtime) -> dict:
    return {n.path: n for n in runtime.tree.tree().walk()}


def refs(runtime: Runtime) -> dict:
    return {path: runtime.tree.lookup(path) for path in nodes(runtime)}


def edited(**changes) -> dict:
    plant = copy.deepcopy(PLANT)
    for key, value in changes.items():
        plant[key] = value
    return plant


def test_a_reload_restarts_only_what_changed_and_keeps_signal_values(running, tmp_path):
    wait_until(lambda: running.plant.stats.completed_scans > 5)
    running.plant.table.values[running.plant.table.slot("setpoint")] = 61.5  # as an operator write would
    before_refs, before_nodes = refs(running), nodes(running)

    plant = edited()
    plant["blocks"] = [b for b in plant["blocks"] if b["name"] != "sp_check"]  # removed chain
    plant["blocks"][1] = dict(plant["blocks"][1], inputs={"in1": "wave", "in2": "0.25"})  # changed chain "gen"
    plant["blocks"].append({"name": "sp_low", "type": "LT", "inputs": {"in1": "setpoint", "in2": "40.0"},
                            "outputs": {"out": "sp_low_flag"}})  # new chain
    write_config(tmp_path / "plant.yaml", plant)
    lateness_before = len(running.plant.stats.lateness_samples())
    missed_before = running.plant.stats.missed_ticks

    result = running.reload(caller="test")

    assert result.accepted, result
    assert result.changes["restarted"] == ["logic/gen"]
    assert result.changes["stopped"] == ["logic/sp_check"]
    assert result.changes["started"] == ["logic/sp_low"]
    after_refs, after_nodes = refs(running), nodes(running)
    for path in ("petra/core/clock", "petra/core/signals/default", "petra/services/control"):
        assert after_refs[path] == before_refs[path], f"{path} was restarted"
        assert after_nodes[path].uptime_s >= before_nodes[path].uptime_s
    assert after_refs["petra/core/logic/gen"] != before_refs["petra/core/logic/gen"]
    assert "petra/core/logic/sp_check" not in after_nodes
    assert after_nodes["petra/core/logic/sp_low"].state == "running"
    table = running.plant.table
    assert table.read("setpoint").value == 61.5  # survived
    assert "sp_high" not in table.index  # its chain is gone
    wait_until(lambda: table.read("sp_low_flag").value is False and table.read("wave_high").quality == 0)
    # the scan was never interrupted for longer than a tick
    wait_until(lambda: len(running.plant.stats.lateness_samples()) > lateness_before + 10)
    during = running.plant.stats.lateness_samples()[lateness_before:]
    assert max(during) < running.plant.scan_time_s
    assert running.plant.stats.missed_ticks == missed_before


def test_an_invalid_config_is_refused_and_the_plant_keeps_running_its_config(running, tmp_path):
    old_hash = running.plant.config.text_sha256
    (tmp_path / "plant.yaml").write_text("scan_time_ms: 20\nblocks:\n  - name: x\n    type: GTE\n")
    result = running.reload(caller="uid:1000")
    assert not result.accepted
    assert any("unknown block type 'GTE'" in p for p in result.problems)
    assert running.plant.config.text_sha256 == old_hash
    ticks = running.plant.stats.ticks
    wait_until(lambda: running.plant.stats.ticks > ticks + 3)
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    refused = [e for e in entries if e["event"] == "config.reload"][-1]
    assert refused["details"]["accepted"] is False and refused["actor"] == "uid:1000"


def test_a_changed_scan_time_restarts_the_clock_with_the_new_period(running, tmp_path):
    write_config(tmp_path / "plant.yaml", edited(scan_time_ms=40))
    result = running.reload()
    assert result.accepted and "clock" in result.changes["restarted"]
    assert running.plant.scan_time_s == 0.04
    ticks = running.plant.stats.ticks
    wait_until(lambda: running.plant.stats.ticks > ticks + 5)


@pytest.fixture
def signed_runtime(tmp_path: Path):
    keys = tmp_path / "keys"
    keys.mkdir()
    key_id = generate_keypair(tmp_path / "ops.key")
    os.replace(tmp_path / "ops.key.pub", keys / "ops.pub")
    config_path = write_config(tmp_path / "plant.yaml", PLANT)
    sign_file(config_path, tmp_path / "ops.key")
    options = RuntimeOptions(metrics_port=None, config_path=config_path, control_socket=tmp_path / "c.sock",
                             audit_log=tmp_path / "audit.log", require_signed=True, trusted_keys=keys)
    runtime = Runtime.from_config(load_config(config_path), options)
    runtime.start()
    yield runtime, config_path, tmp_path / "ops.key", key_id
    runtime.stop(timeout=10)


def test_a_tampered_config_is_refused_at_reload_counted_and_audited(signed_runtime, tmp_path):
    runtime, config_path, _key, _key_id = signed_runtime
    write_config(config_path, edited(scan_time_ms=40))  # changed after signing
    result = runtime.reload(caller="uid:0")
    assert not result.accepted and "signature refused" in result.reason
    assert runtime.plant.config.scan_time_ms == 20
    assert runtime.plant.metrics.registry.get_sample_value(
        "petra_config_reloads_total", {"result": "refused"}) == 1.0
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert entries[-1]["event"] == "config.reload" and entries[-1]["details"]["accepted"] is False


def test_a_properly_signed_change_is_applied_and_its_signer_recorded(signed_runtime):
    runtime, config_path, key, key_id = signed_runtime
    write_config(config_path, edited(scan_time_ms=40))
    sign_file(config_path, key)
    result = runtime.reload()
    assert result.accepted and result.signer == key_id
    assert runtime.config_info()["signer"] == key_id
