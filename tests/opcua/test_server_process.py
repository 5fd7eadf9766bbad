"""The OPC-UA server runs in a process of its own: it serves what PETRA's process feeds it, and it never
outlives PETRA (a PETRA that stops, or that is killed, takes its server with it)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import yaml
from asyncua import ua

from tests.harness import PetraSubprocess, free_port
from tests.helpers import wait_until
from tests.opcua.opcua_support import USERS, Opcua, add_users, make_client_cert, plant_data, run, serving


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _server_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"petra.opcua.child" in cmdline:
            found.append(int(entry.name))
    return found


def test_the_server_is_another_process_fed_by_petra_and_ends_with_it(tmp_path: Path) -> None:
    with serving(tmp_path) as o:
        pid = o.actor().proxy().server_pid().get(timeout=5)
        assert pid is not None and pid != os.getpid() and _alive(pid)
        assert _server_children(os.getpid()) == [pid]
        o.running.write("default", batch=11)

        async def read(opcua: Opcua) -> Any:
            async with opcua.client() as client:
                return await client.get_node(ua.NodeId("batch", await opcua.ns(client))).read_value()

        assert wait_until(lambda: run(read(o)) == 11, 30)  # written in PETRA, served by the other process
    wait_until(lambda: not _alive(pid), 15)


def test_a_killed_petra_takes_its_server_process_with_it(tmp_path: Path) -> None:
    users_file = tmp_path / "users.yaml"
    add_users(users_file, USERS)
    pki_dir = tmp_path / "pki"
    (pki_dir / "trusted").mkdir(parents=True)
    make_client_cert(tmp_path / "clients")
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(plant_data(free_port(), users_file, pki_dir), sort_keys=False))
    petra = PetraSubprocess(["run", str(config), "--metrics-port", "0", "--control-socket",
                             str(tmp_path / "c.sock")], tmp_path / "petra.log")
    try:
        children = wait_until(lambda: _server_children(petra.proc.pid) or petra.proc.poll() is not None, 90)
        assert petra.proc.poll() is None, petra.log
        (server,) = children
        petra.proc.send_signal(signal.SIGKILL)
        petra.proc.wait(10)
        wait_until(lambda: not _alive(server), 15)  # the pipe closed: the server process ended by itself
    finally:
        petra.kill()
