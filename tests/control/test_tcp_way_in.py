"""Safe defaults: a TCP listener nobody could authenticate to does not open; the Unix socket serves anyway."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from petra.config.loader import load_config
from petra.security.roles import Role
from petra.security.users import UsersFile
from tests.control.conftest import PLANT, write_config
from tests.control.test_control_server import UnixHTTPConnection, request
from tests.harness import RunningPlant, free_port
from tests.helpers import wait_until


def plant(tmp_path: Path, port: int, **tcp: object) -> RunningPlant:
    data = dict(PLANT, security={"users_file": str(tmp_path / "users.yaml")},
                control={"tcp": {"host": "127.0.0.1", "port": port, **tcp}})
    config_path = write_config(tmp_path / "plant.yaml", data)
    return RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path)


def tcp_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def test_no_tokens_and_no_users_keeps_the_tcp_port_closed_and_says_where_and_what_to_add(tmp_path, caplog):
    port = free_port()
    caplog.set_level(logging.ERROR, logger="petra.control")
    with plant(tmp_path, port) as running:
        assert not tcp_open(port)
        # the plant runs and local admin has the socket
        assert request(UnixHTTPConnection(tmp_path / "c.sock"), "GET", "/v1/status")[0] == 200
        scans = running.runtime.plant.stats.completed_scans
        wait_until(lambda: running.runtime.plant.stats.completed_scans > scans + 2)  # and it keeps scanning
    lines = (tmp_path / "plant.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "tcp:")
    messages = [r.getMessage() for r in caplog.records if "no way in over TCP" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].startswith(f"{tmp_path / 'plant.yaml'}:{line}:3: control.tcp: no way in over TCP: ")
    assert f"the users file {tmp_path / 'users.yaml'} has no users" in messages[0]
    assert "petra user add NAME --role admin" in messages[0] and "control.tcp.tokens" in messages[0]


def test_a_config_token_opens_the_tcp_listener(tmp_path):
    port = free_port()
    with plant(tmp_path, port, tokens=[{"name": "ops", "token": "s3cret", "role": "viewer"}]):
        assert tcp_open(port)


def test_a_user_in_the_users_file_opens_the_tcp_listener(tmp_path):
    UsersFile(tmp_path / "users.yaml").with_user("alice", Role.ADMIN, "correct horse battery").save()
    port = free_port()
    with plant(tmp_path, port):
        assert tcp_open(port)


def test_a_users_file_others_may_read_opens_nothing_and_the_log_says_why(tmp_path, caplog):
    UsersFile(tmp_path / "users.yaml").with_user("alice", Role.ADMIN, "correct horse battery").save()
    (tmp_path / "users.yaml").chmod(0o644)
    port = free_port()
    caplog.set_level(logging.ERROR, logger="petra.control")
    with plant(tmp_path, port):
        assert not tcp_open(port)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "may be read or written by group or others (mode 0644)" in text and "no way in over TCP" in text


def test_the_refusal_comes_before_any_certificate_is_made(tmp_path):
    port = free_port()  # beyond loopback: it would get a self-signed certificate if it opened
    with plant(tmp_path, port, host="0.0.0.0", self_signed_dir=str(tmp_path / "tls")):
        assert not tcp_open(port)
    assert not (tmp_path / "tls").exists()
