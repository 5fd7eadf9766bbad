"""The demo plant ships a loopback web HMI with one screen; `petra run --web-port` moves it (0: off)."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import yaml

from petra.config.loader import load_config_text
from petra.web.settings import WebSettings
from tests.harness import RunningPlant, free_port
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.web_support import Session, Web, add_users

DEMO = resources.files("petra").joinpath("demo.yaml").read_text(encoding="utf-8")


def demo(tmp_path):
    data = yaml.safe_load(DEMO)
    data["security"] = {"users_file": str(tmp_path / "users.yaml")}
    return load_config_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "demo.yaml", env={})


def test_the_demo_has_a_loopback_web_section_with_a_screen_that_passes_petra_check():
    config = load_config_text(DEMO, "demo.yaml", env={})
    web = config.settings("web", WebSettings)
    assert (web.host, web.port) == ("127.0.0.1", 8080) and [s.name for s in web.screens] == ["plant"]
    assert config.warnings == ()


def test_the_demo_s_screen_is_served_with_its_write_widgets_enabled_for_operators_only(tmp_path):
    from petra.security.roles import Role

    add_users(tmp_path / "users.yaml", {"vera": Role.VIEWER, "otto": Role.OPERATOR})
    port = free_port()
    with RunningPlant(demo(tmp_path), control_socket=tmp_path / "c.sock", web_port=port) as running:
        web = Web(tmp_path, port, running, tmp_path / "audit.log")
        operator: Session = web.login("otto")
        widgets = operator.get("/v1/screens")[1]["screens"][0]["widgets"]
        assert {w["signal"]: w["writable"] for w in widgets if w["type"] in ("setpoint", "switch")} == {
            "setpoint": True, "heater_manual": True, "heater_manual_value": True, "system_enable": True}
        viewer = web.login("vera").get("/v1/screens")[1]["screens"][0]["widgets"]
        assert not any(w["writable"] for w in viewer)
        assert widgets[0]["unit"] == "°C" and widgets[-1]["series"][2] == {
            "signal": "tank_level", "signal_type": "float", "unit": "%"}


def test_petra_run_web_port_0_turns_the_web_hmi_off_and_a_bad_port_is_refused(tmp_path):
    with RunningPlant(demo(tmp_path), control_socket=tmp_path / "c.sock", web_port=0) as running:
        assert running.runtime.tree.lookup("petra/services/web") is None
        assert running.runtime.tree.lookup("petra/services/control") is not None
    done = subprocess.run([sys.executable, "-m", "petra.cli", "run", "--web-port", "70000"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--web-port 70000: expected a port from 1 to 65535" in done.stderr
