"""The designer's routes on a running plant: the preview agrees with what the reload then does, deploys by role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.config.loader import load_config
from petra.control.api import ControlApi
from petra.control.calls import Request
from petra.designer.graph import build_graph
from petra.designer.roundtrip import apply_graph
from petra.runtime import Runtime
from petra.security import generate_keypair
from petra.security.roles import Principal, Role
from petra.security.signing import Signature, key_id_of, load_signing_key, signature_path
from tests.harness import RunningPlant, free_port
from tests.helpers import wait_until

PLANT = """\
# the plant the designer edits
node_id: designer-test
scan_time_ms: 20

signals:
  - {name: enable, type: bool, initial: true}
  - {name: setpoint, type: float, initial: 50.0}   # an operator's

blocks:
  - name: gen
    type: DATA_GENERATOR
    inputs: {enable: enable}
    outputs: {sine_out: wave}
  - name: high
    type: GT
    inputs: {in1: wave, in2: "0.5"}
    outputs: {out: wave_high}
  - name: sp_check   # to be removed
    type: GT
    inputs: {in1: setpoint, in2: "60.0"}
    outputs: {out: sp_high}

web:
  host: 127.0.0.1
  port: {port}
"""


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[tuple[Runtime, ControlApi, Path]]:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT.replace("{port}", str(free_port())))
    with RunningPlant(load_config(path), control_socket=tmp_path / "c.sock", config_path=path,
                      audit_log=tmp_path / "audit.log", **_trusted(tmp_path)) as running:
        runtime = running.runtime
        yield runtime, ControlApi(runtime, routes=runtime.wiring.routes), path


def _trusted(tmp_path: Path) -> dict[str, object]:
    keys = tmp_path / "keys"
    keys.mkdir()
    generate_keypair(keys / "signer.key")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "signer.pub").write_bytes((keys / "signer.key.pub").read_bytes())
    return {"trusted_keys": trusted}


def call(api: ControlApi, method: str, path: str, body: object = None, role: Role = Role.ENGINEER):
    principal = Principal(f"user:{role.label}", role, "session", "127.0.0.1", user=role.label)
    raw = b"" if body is None else json.dumps(body).encode()
    response = api.handle(Request(method, path, {}, raw, principal.audit_actor, principal))
    return response.status, response.body


def edited(text: str) -> str:
    """The plant with sp_check removed, high's threshold changed and a new block: through the graph."""
    graph = build_graph(text).to_json()
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "block:sp_check"]
    for node in graph["nodes"]:
        if node["id"] == "block:high":
            node["props"]["inputs"]["in2"] = "0.75"
    graph["nodes"].append({"id": "block:low", "kind": "block", "type": "LT",
                           "props": {"name": "low", "type": "LT", "inputs": {"in1": "setpoint", "in2": "10.0"},
                                     "outputs": {"out": "sp_low"}}})
    return apply_graph(text, graph)


def uptimes(runtime: Runtime) -> dict[str, float]:
    assert runtime.tree is not None
    return {n.path: n.uptime_s or 0.0 for n in runtime.tree.tree().walk() if n.kind == "worker"}


def refs(runtime: Runtime) -> dict[str, object]:
    assert runtime.tree is not None
    return {path: runtime.tree.lookup(path) for path in uptimes(runtime)}


def test_the_preview_names_exactly_what_the_reload_then_keeps_restarts_stops_and_starts(plant):
    runtime, api, path = plant
    wait_until(lambda: runtime.plant.stats.completed_scans > 3)
    text = path.read_text()
    new = edited(text)
    status, preview = call(api, "POST", "/v1/designer/plan", {"yaml": new})
    assert status == 200, preview
    assert preview["restart"] == ["petra/core/logic/gen"]
    assert preview["stop"] == ["petra/core/logic/sp_check"]
    assert preview["start"] == ["petra/core/logic/low"]
    assert preview["signals_added"] == ["sp_low"] and preview["signals_removed"] == ["sp_high"]
    assert "petra/core/clock" in preview["keep"] and "petra/services/web" in preview["keep"]
    before_refs, before = refs(runtime), uptimes(runtime)

    status, answer = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "layout": {"version": 1, "nodes": {
        "block:low": {"x": 10, "y": 20}}}, "comment": "threshold 0.75, sp_low instead of sp_check"})

    assert status == 200, answer
    assert answer["applied"] is True and answer["plan"] == preview
    after_refs, after = refs(runtime), uptimes(runtime)
    for kept in preview["keep"]:
        assert after_refs[kept] is before_refs[kept], f"{kept} was restarted"
        assert after[kept] >= before[kept]
    for restarted in preview["restart"]:
        assert after_refs[restarted] is not before_refs[restarted]
    assert not set(preview["stop"]) & set(after) and set(preview["start"]) <= set(after)
    assert path.read_text() == new and "# to be removed" not in new and "# an operator's" in new
    assert json.loads((path.parent / "plant.yaml.layout.json").read_text())["nodes"]["block:low"] == {
        "x": 10.0, "y": 20.0}
    audit = [json.loads(line) for line in (path.parent / "audit.log").read_text().splitlines()]
    deploys = [e for e in audit if e.get("event") == "designer.deploy"]
    assert deploys[-1]["actor"] == "user:engineer" and deploys[-1]["details"]["accepted"] is True
    assert deploys[-1]["details"]["comment"] == "threshold 0.75, sp_low instead of sp_check"


def test_a_viewer_or_operator_cannot_deploy_or_preview_but_may_check(plant):
    _runtime, api, path = plant
    text = path.read_text()
    for role in (Role.VIEWER, Role.OPERATOR):
        status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": edited(text), "comment": "x"}, role)
        assert status == 403 and "needs the engineer role" in body["error"]
        assert call(api, "POST", "/v1/designer/plan", {"yaml": text}, role)[0] == 403
        assert call(api, "GET", "/v1/designer/current", None, role)[0] == 403
    status, body = call(api, "POST", "/v1/designer/check", {"yaml": text}, Role.VIEWER)
    assert status == 200 and body["ok"] is True
    assert path.read_text() == text


def test_a_refused_deploy_leaves_the_running_plant_and_its_file_untouched(plant):
    runtime, api, path = plant
    text = path.read_text()
    sha = runtime.plant.config.text_sha256
    before = refs(runtime)
    invalid = text.replace("type: GT\n    inputs: {in1: wave", "type: GTE\n    inputs: {in1: wave")
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": invalid, "comment": "typo"})
    assert status == 422 and "unknown block type 'GTE'" in body["error"]
    assert body["errors"][0]["node"] == "block:high" and body["errors"][0]["field"] == "type"
    looped = text.replace("inputs: {enable: enable}", "inputs: {enable: wave_high}")
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": looped, "comment": "loop"})
    assert status == 422 and "algebraic loop" in body["error"]
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": edited(text)})
    assert status == 400 and "comment" in body["error"]
    assert path.read_text() == text and runtime.plant.config.text_sha256 == sha
    assert refs(runtime) == before
    assert not (path.parent / "plant.yaml.layout.json").exists()
    audit = (path.parent / "audit.log").read_text()
    assert '"comment":"typo"' in audit.replace(" ", "") and '"accepted":false' in audit.replace(" ", "")


def test_with_signed_configs_required_a_deploy_needs_the_uploaded_signature_of_exactly_that_text(plant, tmp_path):
    runtime, api, path = plant
    runtime.options = type(runtime.options)(**{**runtime.options.__dict__, "require_signed": True})
    new = edited(path.read_text())
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "comment": "signed"})
    assert status == 409 and body["needs_signature"] is True
    import hashlib

    assert body["sha256"] == hashlib.sha256(new.encode()).hexdigest()
    secret = load_signing_key(tmp_path / "keys" / "signer.key")
    wrong = Signature(key_id_of(secret.verify_key), secret.sign(new.encode() + b"#").signature).to_text()
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "comment": "signed", "signature": wrong})
    assert status == 409 and "does not match" in body["error"]
    assert not signature_path(path).exists()
    good = Signature(key_id_of(secret.verify_key), secret.sign(new.encode()).signature).to_text()
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "comment": "signed", "signature": good})
    assert status == 200, body
    assert path.read_text() == new and signature_path(path).read_text() == good
    assert runtime.signer == key_id_of(secret.verify_key)


def test_current_palette_and_examples_are_served(plant):
    _runtime, api, path = plant
    status, current = call(api, "GET", "/v1/designer/current")
    assert status == 200 and current["yaml"] == path.read_text() and current["require_signed_config"] is False
    status, palette = call(api, "GET", "/v1/designer/palette", None, Role.VIEWER)
    assert status == 200 and len(palette["blocks"]) >= 38
    gt = next(b for b in palette["blocks"] if b["type"] == "GT")
    assert [p["name"] for p in gt["inputs"]] == ["in1", "in2"] and gt["outputs"] == [{"name": "out", "type": "bool"}]
    pid = next(b for b in palette["blocks"] if b["type"] == "PID")
    assert "kp" in pid["params"]["properties"]
    assert {"signal", "block", "alarm", "contact", "connection", "mapping", "tier", "screen"} <= set(palette["kinds"])
    status, examples = call(api, "GET", "/v1/designer/examples", None, Role.VIEWER)
    names = [e["name"] for e in examples["examples"]]
    assert "demo" in names and "tank-level" in names
    status, example = call(api, "GET", "/v1/designer/examples/tank-level", None, Role.VIEWER)
    assert status == 200 and "tank" in example["yaml"]
    assert call(api, "GET", "/v1/designer/examples/..%2Fsecret", None, Role.VIEWER)[0] == 404


def test_when_the_plant_refuses_at_reload_the_old_file_and_signature_are_put_back(plant, monkeypatch):
    from petra.runtime import ReloadResult

    runtime, api, path = plant
    text = path.read_text()
    sha = runtime.plant.config.text_sha256
    seen: list[str] = []

    def refusing(caller: str = "system") -> ReloadResult:
        seen.append(path.read_text())  # the new file is in place while the plant judges it
        return ReloadResult(False, "signature refused: a key the plant does not trust")

    monkeypatch.setattr(runtime, "reload", refusing)
    new = edited(text)
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "comment": "refused at reload"})
    assert status == 409 and "a key the plant does not trust" in body["error"]
    assert seen == [new]
    assert path.read_text() == text and runtime.plant.config.text_sha256 == sha
    assert not signature_path(path).exists()


def test_a_deploy_that_restarts_the_web_listener_is_answered_first_and_applied_right_after(plant):
    runtime, api, path = plant
    text = path.read_text()
    new = text.replace("  host: 127.0.0.1\n", "  host: 127.0.0.1\n  trend_ring_points: 300\n")
    status, body = call(api, "POST", "/v1/designer/deploy", {"yaml": new, "comment": "shorter trend ring"})
    assert status == 200 and body["pending"] is True and "petra/services/web" in body["plan"]["restart"]
    wait_until(lambda: runtime.plant.config.sections["web"]["trend_ring_points"] == 300, timeout=30)
    assert path.read_text() == new
