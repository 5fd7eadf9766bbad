"""Roles on the Unix socket: the peer's uid, mapped by control.socket_roles, against the real socket.

Another uid is a real client process run as `nobody` (65534) with the system
Python: the socket is handed to its group, as an installation gives it to a
`petra` group, so that uid can open it; what it may do then is its role.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config
from tests.control.conftest import PLANT, write_config
from tests.harness import RunningPlant

NOBODY = 65534
SYSTEM_PYTHON = Path("/usr/bin/python3")
CLIENT = r"""
import http.client, json, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sys.argv[1])
answers = []
for method, path, body in json.loads(sys.argv[2]):
    conn = Conn("localhost", timeout=20)
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    stream = response.getheader("Content-Type", "").startswith("text/event-stream")
    answers.append({"status": response.status, "body": None if stream else json.loads(response.read())})
    conn.close()
print(json.dumps(answers))
"""

needs_root = pytest.mark.skipif(os.getuid() != 0 or not SYSTEM_PYTHON.exists(),
                                reason="runs a client as another uid: needs root and /usr/bin/python3")


class Plant:
    def __init__(self, directory: Path, socket_roles: dict[str, str] | None) -> None:
        self.directory = directory
        self.socket = directory / "ctl.sock"
        plant = dict(PLANT, control={"socket_roles": socket_roles} if socket_roles else {},
                     security={"users_file": str(directory / "users.yaml")})
        config_path = write_config(directory / "plant.yaml", plant)
        self.audit = directory / "audit.log"
        self.running = RunningPlant(load_config(config_path), control_socket=self.socket, config_path=config_path,
                                    audit_log=self.audit).start()
        os.chown(self.socket, 0, NOBODY)  # the socket's group (mode 0660): as an installation's petra group

    def as_uid(self, uid: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request from a process running as `uid`."""
        answer = self.many_as_uid(uid, [(method, path, body)])[0]
        return answer["status"], answer["body"]

    def many_as_uid(self, uid: int, calls: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        """Requests (method, path, body) from one process running as `uid`, answered in order."""
        proc = subprocess.run([str(SYSTEM_PYTHON), "-c", CLIENT, str(self.socket), json.dumps(calls)],
                              user=uid, group=NOBODY, capture_output=True, text=True, timeout=60, cwd="/")
        assert proc.returncode == 0, proc.stderr
        return list(json.loads(proc.stdout))

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The real petra-ctl, run as this process's uid (root)."""
        env = {k: v for k, v in os.environ.items() if k != "PETRA_SOCKET"}
        return subprocess.run([sys.executable, "-m", "petra.ctl", "--socket", str(self.socket), *args],
                              capture_output=True, text=True, timeout=30, env=env,
                              cwd=Path(__file__).resolve().parents[2])

    def audit_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


@pytest.fixture
def start() -> Iterator[Any]:
    plants: list[Plant] = []
    directories: list[Path] = []

    def starter(socket_roles: dict[str, str] | None = None) -> Plant:
        directory = Path(tempfile.mkdtemp(prefix="petra-access-"))
        directory.chmod(0o711)  # nobody may reach the socket in it, not read the rest
        directories.append(directory)
        plants.append(Plant(directory, socket_roles))
        return plants[-1]

    yield starter
    for plant in plants:
        plant.running.stop()
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


@needs_root
def test_root_is_admin_and_another_uid_a_viewer_by_default(start):
    plant = start()
    result = plant.ctl("set", "setpoint", "65")
    assert result.returncode == 0, result.stderr
    assert plant.ctl("reload").returncode == 0
    status, body = plant.as_uid(NOBODY, "GET", "/v1/signals/setpoint")
    assert status == 200 and body["value"] == 65.0
    status, body = plant.as_uid(NOBODY, "PUT", "/v1/signals/setpoint", {"value": 1})
    assert status == 403 and body["error"].endswith(f"needs the operator role; uid:{NOBODY} has viewer")
    assert plant.running.runtime.plant.table.read("setpoint").value == 65.0
    denied = [e for e in plant.audit_entries() if e["event"] == "access.denied"]
    assert denied[-1]["actor"] == f"uid:{NOBODY}" and denied[-1]["details"]["address"] == "unix"


@needs_root
def test_socket_roles_map_a_uid_number_or_a_user_name(start):
    plant = start({str(NOBODY): "operator"})
    status, body = plant.as_uid(NOBODY, "PUT", "/v1/signals/setpoint", {"value": 44})
    assert status == 200 and body["value"] == 44.0
    status, body = plant.as_uid(NOBODY, "POST", "/v1/reload")
    assert status == 403 and "engineer" in body["error"]
    plant.running.stop()

    named = start({"nobody": "engineer"})
    status, body = named.as_uid(NOBODY, "POST", "/v1/reload")
    assert status == 200 and body["accepted"] is True


@needs_root
def test_a_mapping_wins_over_roots_default_and_petra_ctl_says_why(start):
    plant = start({"0": "viewer"})
    result = plant.ctl("set", "setpoint", "70")
    assert result.returncode == 1
    assert "needs the operator role; uid:0 has viewer" in result.stderr
    assert plant.ctl("status").returncode == 0  # reading is a viewer's


def test_an_unknown_role_in_socket_roles_is_a_located_config_error(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_text("signals:\n  - {name: x, type: float}\ncontrol:\n  socket_roles:\n    1000: operater\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:5:11: control.socket_roles['1000']: expected one of: viewer, operator, engineer, admin" in str(
        caught.value)


@needs_root
@pytest.mark.parametrize("role", [None, "operator", "engineer", "admin"])
def test_a_uid_may_call_exactly_the_routes_its_mapped_role_allows(start, role):
    from petra.security.roles import Role
    from tests.control.test_access_table import BODIES, served_routes

    plant = start({str(NOBODY): role} if role else None)
    mine = Role[(role or "viewer").upper()]
    routes = served_routes(plant.running.runtime)
    calls = [(method, path, None if method == "GET" else BODIES.get((method, path), {}))
             for method, path, _ in routes]
    wrong = []
    for (method, path, needed), answer in zip(routes, plant.many_as_uid(NOBODY, calls), strict=True):
        allowed = needed is None or mine >= needed
        if allowed == (answer["status"] in (401, 403)):
            wrong.append(f"{method} {path}: {answer} as {mine.label}")
    assert not wrong, "\n".join(wrong)
