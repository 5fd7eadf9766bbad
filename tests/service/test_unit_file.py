from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD_DIR / "petra.service"
DROP_IN = SYSTEMD_DIR / "petra-privileged-ports.conf"

# systemd-analyze verify exits 0 even for unknown keys and unparsable values; it only
# logs them ("Unknown key", "Failed to parse ..., ignoring", "Invalid ...").
_PROBLEM = re.compile(r"unknown|invalid|failed|ignoring|not executable|bad|error", re.IGNORECASE)


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package (apt-get install systemd)")
    return path


def _directives(text: str) -> list[tuple[str, str]]:
    return [
        (key.strip(), value.strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", ";", "["))
        for key, _, value in [line.partition("=")]
    ]


def _testable_copy(tmp_path: Path, with_drop_in: bool) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify checks it)."""
    text = UNIT.read_text()
    assert "ExecStart=/opt/petra/.venv/bin/petra run /etc/petra/plant.yaml\n" in text
    unit = tmp_path / "petra.service"
    unit.write_text(text.replace("/opt/petra/.venv/bin/petra", shutil.which("true") or "/bin/true"))
    if with_drop_in:
        drop_in_dir = tmp_path / "petra.service.d"
        drop_in_dir.mkdir()
        shutil.copy(DROP_IN, drop_in_dir / "privileged-ports.conf")
    return unit


@pytest.mark.parametrize("with_drop_in", [False, True], ids=["unit", "unit+privileged-ports"])
def test_systemd_analyze_verify_accepts_every_directive(tmp_path: Path, with_drop_in: bool) -> None:
    unit = _testable_copy(tmp_path, with_drop_in)

    proc = subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    problems = [line for line in output.splitlines() if _PROBLEM.search(line)]
    assert problems == [], output


def test_the_unit_declares_notify_watchdog_restart_and_an_unprivileged_user() -> None:
    directives = dict(_directives(UNIT.read_text()))

    assert directives["Type"] == "notify"
    assert directives["NotifyAccess"] == "main"
    assert directives["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert directives["WatchdogSec"] == "10"
    assert (directives["Restart"], directives["RestartSec"], directives["TimeoutStopSec"]) == (
        "on-failure",
        "2",
        "20",
    )
    assert (directives["User"], directives["Group"]) == ("petra", "petra")
    assert directives["Environment"] == "PETRA_SOCKET=/run/petra/control.sock"
    for name in ("StateDirectory", "LogsDirectory", "RuntimeDirectory", "ConfigurationDirectory"):
        assert directives[name] == "petra"


def test_the_unit_is_hardened_but_keeps_serial_ports_reachable() -> None:
    pairs = _directives(UNIT.read_text())
    directives = dict(pairs)

    assert "PrivateDevices" not in directives
    assert directives["DevicePolicy"] == "closed"
    assert {v for k, v in pairs if k == "DeviceAllow"} == {"char-ttyS rw", "char-ttyUSB rw"}
    assert directives["SupplementaryGroups"] == "dialout"
    assert directives["CapabilityBoundingSet"] == "" and directives["AmbientCapabilities"] == ""
    expected = {
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "NoNewPrivileges": "true",
        "PrivateTmp": "true",
        "ProtectKernelTunables": "true",
        "ProtectKernelModules": "true",
        "ProtectControlGroups": "true",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "RestrictNamespaces": "true",
        "LockPersonality": "true",
        "MemoryDenyWriteExecute": "true",
        "SystemCallArchitectures": "native",
        "UMask": "0027",
    }
    assert {k: directives.get(k) for k in expected} == expected


def test_the_privileged_ports_drop_in_adds_only_net_bind_service() -> None:
    directives = _directives(DROP_IN.read_text())

    assert directives == [
        ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
        ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
    ]
