"""Hot reload as a tree diff, proved on a running plant."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from petra.config.loader import load_config
from petra.control.api import ControlApi
from petra.runtime import Runtime
from petra.security import generate_keypair, sign_file
from tests.config.test_yaml_limits import LAUGHS
from tests.control.conftest import PLANT, write_config
from tests.control.test_control_api import call
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.security.swap import swap_while_signature_is_read


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

    result = running.reload(caller="uid:1000")

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
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                      audit_log=tmp_path / "audit.log", require_signed=True, trusted_keys=keys) as plant:
        yield plant.runtime, config_path, tmp_path / "ops.key", key_id


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


def test_a_file_swapped_while_its_signature_is_checked_is_refused(signed_runtime, tmp_path):
    """The bytes that are verified are the bytes that are applied: swapping a signed
    file in while the signature is read (the classic check-then-use race) must not
    get an unsigned file applied under the good file's signer."""
    runtime, config_path, key, _key_id = signed_runtime
    good = write_config(tmp_path / "good.yaml", edited(scan_time_ms=20))
    sign_file(good, key)
    signature = (tmp_path / "good.yaml.sig").read_text()
    write_config(config_path, edited(scan_time_ms=40, security={"require_signed_config": False}))  # unsigned
    swap = swap_while_signature_is_read(config_path, good, signature)

    result = runtime.reload(caller="uid:0")

    swap.join(timeout=10)
    assert swap.done.is_set(), "the signature was never read"
    assert not result.accepted and "signature refused" in result.reason
    assert result.signer is None
    assert runtime.plant.config.scan_time_ms == 20


def test_an_unsigned_file_cannot_switch_off_the_running_plants_signature_requirement(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    generate_keypair(tmp_path / "ops.key")
    os.replace(tmp_path / "ops.key.pub", keys / "ops.pub")
    config_path = write_config(tmp_path / "plant.yaml", edited(security={"require_signed_config": True}))
    sign_file(config_path, tmp_path / "ops.key")
    # the requirement comes from the running config alone
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                      trusted_keys=keys) as plant:
        runtime = plant.runtime
        write_config(config_path, edited(scan_time_ms=40, security={"require_signed_config": False}))
        (tmp_path / "plant.yaml.sig").unlink()
        status, body = call(ControlApi(runtime), "POST", "/v1/reload")
        assert status == 422 and "signature refused: no signature file" in body["reason"]
        assert runtime.plant.config.scan_time_ms == 20
        assert runtime.plant.metrics.registry.get_sample_value(
            "petra_config_reloads_total", {"result": "refused"}) == 1.0


def test_a_config_cannot_name_other_trusted_keys_than_the_plant_verifies_with(signed_runtime, tmp_path):
    runtime, config_path, _key, _key_id = signed_runtime
    mallory = tmp_path / "mallory"
    mallory.mkdir()
    generate_keypair(mallory / "mallory.key")
    write_config(config_path, edited(scan_time_ms=40, security={"trusted_keys_dir": str(mallory)}))
    sign_file(config_path, mallory / "mallory.key")

    result = runtime.reload()

    assert not result.accepted and "untrusted key" in result.reason
    assert runtime.plant.config.scan_time_ms == 20


@pytest.mark.parametrize("text", [LAUGHS, "a: " + "[" * 20000], ids=["alias-bomb", "nesting"])
def test_a_reload_of_a_hostile_file_is_a_422_with_the_reason_and_is_counted(running, tmp_path, text):
    (tmp_path / "plant.yaml").write_text(text)
    old_hash = running.plant.config.text_sha256

    status, body = call(ControlApi(running), "POST", "/v1/reload")

    assert status == 422 and body["reason"] == "invalid configuration"
    assert any("alias bomb" in p or "nested more than 64 levels" in p for p in body["problems"])
    assert running.plant.config.text_sha256 == old_hash
    assert running.plant.metrics.registry.get_sample_value(
        "petra_config_reloads_total", {"result": "refused"}) == 1.0
