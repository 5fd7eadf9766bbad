"""`petra user ...` end to end: the real command in a subprocess, passwords on stdin or a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from petra.audit import verify_audit
from petra.security.roles import Role
from petra.security.users import UsersFile

PETRA = [sys.executable, "-m", "petra.cli"]


def petra(tmp_path: Path, *args: str, stdin: str = "", users: bool = True) -> subprocess.CompletedProcess[str]:
    extra = ["--users-file", str(tmp_path / "users.yaml"), "--audit-log", str(tmp_path / "audit.log")] if users else []
    return subprocess.run([*PETRA, *args, *extra], input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)


def test_add_list_passwd_role_and_remove_with_the_password_on_stdin(tmp_path: Path) -> None:
    added = petra(tmp_path, "user", "add", "alice", "--role", "administrator", stdin="first password\n")
    assert added.returncode == 0, added.stderr
    assert "user alice added (admin)" in added.stdout
    path = tmp_path / "users.yaml"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert UsersFile.load(path).verify_password("alice", "first password") is not None

    listed = petra(tmp_path, "user", "list")
    assert listed.returncode == 0 and "alice" in listed.stdout and "admin" in listed.stdout
    assert "argon2" not in listed.stdout
    as_json = json.loads(petra(tmp_path, "user", "list", "--json").stdout)
    assert as_json[0]["name"] == "alice" and "password_hash" not in as_json[0]

    assert petra(tmp_path, "user", "passwd", "alice", stdin="second password\n").returncode == 0
    after = UsersFile.load(path)
    assert after.verify_password("alice", "second password") is not None
    assert after.verify_password("alice", "first password") is None

    assert petra(tmp_path, "user", "role", "alice", "operator").returncode == 0
    assert UsersFile.load(path).users["alice"].role is Role.OPERATOR
    assert petra(tmp_path, "user", "remove", "alice").returncode == 0
    assert UsersFile.load(path).users == {}

    trail = tmp_path / "audit.log"
    assert verify_audit(trail).ok
    entries = [json.loads(line) for line in trail.read_text().splitlines()]
    assert [e["event"] for e in entries] == ["user.add", "user.passwd", "user.role", "user.remove"]
    assert {e["actor"] for e in entries} == {f"uid:{os.getuid()}"}
    assert "password" not in trail.read_text().replace("user.passwd", "")


def test_a_token_is_printed_once_works_and_is_listed_without_its_digest_until_revoked(tmp_path: Path) -> None:
    petra(tmp_path, "user", "add", "alice", "--role", "engineer", stdin="alice password\n")
    made = petra(tmp_path, "user", "token", "add", "alice", "--role", "operator", "--name", "scada")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    assert "shown this once" in made.stderr
    path = tmp_path / "users.yaml"
    found = UsersFile.load(path).check_token(token)
    assert found is not None and found[0].role is Role.OPERATOR
    listing = petra(tmp_path, "user", "token", "list")
    assert "scada" in listing.stdout and "operator" in listing.stdout
    assert token not in listing.stdout and found[0].sha256 not in listing.stdout
    assert found[0].sha256 not in petra(tmp_path, "user", "token", "list", "--json").stdout
    too_high = petra(tmp_path, "user", "token", "add", "alice", "--role", "admin")
    assert too_high.returncode == 1 and "cannot have role admin: the user is engineer" in too_high.stderr
    assert petra(tmp_path, "user", "token", "revoke", "scada").returncode == 0
    assert UsersFile.load(path).check_token(token) is None
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert events == ["user.add", "token.create", "token.revoke"]
    assert token not in (tmp_path / "audit.log").read_text()


def test_lock_and_unlock(tmp_path: Path) -> None:
    petra(tmp_path, "user", "add", "bob", "--role", "viewer", stdin="bob password\n")
    assert petra(tmp_path, "user", "lock", "bob").returncode == 0
    assert UsersFile.load(tmp_path / "users.yaml").verify_password("bob", "bob password") is None
    assert "yes" in petra(tmp_path, "user", "list").stdout
    assert petra(tmp_path, "user", "unlock", "bob").returncode == 0
    assert UsersFile.load(tmp_path / "users.yaml").verify_password("bob", "bob password") is not None


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["user", "add", "carol", "--role", "viewer"], "short\n", "a password needs at least 8 characters"),
    (["user", "add", "carol", "--role", "viewer"], "", "no password on standard input"),
    (["user", "add", "bad name", "--role", "viewer"], "long enough\n", "invalid user name"),
    (["user", "passwd", "nobody"], "long enough\n", "no user 'nobody'"),
    (["user", "token", "revoke", "deadbeef"], "", "no token 'deadbeef'"),
])
def test_refusals_exit_1_with_the_reason_and_change_nothing(tmp_path: Path, args: list[str], stdin: str,
                                                           message: str) -> None:
    result = petra(tmp_path, *args, stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "users.yaml").exists()


def test_an_unknown_role_is_a_usage_error_naming_the_roles(tmp_path: Path) -> None:
    result = petra(tmp_path, "user", "add", "carol", "--role", "superuser", stdin="long enough\n")
    assert result.returncode == 2
    assert "expected one of viewer, operator, engineer, admin" in result.stderr


def test_a_group_readable_users_file_is_refused(tmp_path: Path) -> None:
    petra(tmp_path, "user", "add", "alice", "--role", "admin", stdin="alice password\n")
    (tmp_path / "users.yaml").chmod(0o640)
    result = petra(tmp_path, "user", "list")
    assert result.returncode == 1
    assert f"chmod 600 {tmp_path / 'users.yaml'}" in result.stderr


def test_a_malformed_users_file_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("version: 1\nusers:\n  - name: alice\n    role: boss\n")
    path.chmod(0o600)
    result = petra(tmp_path, "user", "list")
    assert result.returncode == 1
    assert f"{path}:4:11: users[0].role: unknown role 'boss'" in result.stderr


def test_the_config_names_the_users_file_and_the_audit_trail(tmp_path: Path) -> None:
    config = tmp_path / "plant.yaml"
    config.write_text("security:\n  users_file: ./state/people.yaml\n  enable_audit_logging: true\n"
                      "  audit_log: ./state/audit.log\n")
    result = petra(tmp_path, "user", "add", "dave", "--role", "operator", "--config", str(config),
                   stdin="dave password\n", users=False)
    assert result.returncode == 0, result.stderr
    assert "dave" in UsersFile.load(tmp_path / "state" / "people.yaml").users
    assert verify_audit(tmp_path / "state" / "audit.log").entries == 1
    assert "not recorded" not in result.stderr


def test_without_an_audit_trail_the_change_is_made_and_a_note_says_so(tmp_path: Path) -> None:
    result = petra(tmp_path, "user", "add", "erin", "--role", "viewer", stdin="erin password\n", users=False)
    assert result.returncode == 0
    assert "note: not recorded in an audit trail" in result.stderr
    assert "erin" in UsersFile.load(tmp_path / "data" / "users.yaml").users  # the default, under the cwd


def test_on_a_terminal_the_password_is_asked_twice_and_must_match(tmp_path: Path) -> None:
    def on_terminal(*answers: bytes) -> tuple[int, str]:
        master, slave = pty.openpty()

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen([*PETRA, "user", "add", "frank", "--role", "viewer", "--users-file",
                                 str(tmp_path / "users.yaml")], stdin=slave, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=controlling_terminal, cwd=tmp_path)
        os.close(slave)
        seen = b""
        try:
            for prompt, answer in zip((b"password for frank: ", b"again: "), answers, strict=True):
                while prompt not in seen:
                    ready, _w, _x = select.select([master], [], [], 30)
                    assert ready, f"no prompt {prompt!r}; got {seen!r}"
                    seen += os.read(master, 1024)
                os.write(master, answer + b"\n")
            _out, err = proc.communicate(timeout=30)
        finally:
            os.close(master)
        assert b"frank password" not in seen  # not echoed
        return proc.returncode, err.decode()

    code, err = on_terminal(b"frank password", b"frank passw0rd")
    assert code == 1 and "the two passwords differ" in err
    assert not (tmp_path / "users.yaml").exists()
    code, err = on_terminal(b"frank password", b"frank password")
    assert code == 0, err
    assert UsersFile.load(tmp_path / "users.yaml").verify_password("frank", "frank password") is not None


def test_petra_check_reports_a_malformed_users_file_at_its_own_line(tmp_path: Path) -> None:
    config = tmp_path / "plant.yaml"
    config.write_text("signals:\n  - {name: x, type: float}\nsecurity:\n  users_file: people.yaml\n")
    people = tmp_path / "people.yaml"
    people.write_text("version: 1\nusers:\n  - name: alice\n    role: admin\n    password_hash: hunter2\n")
    people.chmod(0o600)
    result = subprocess.run([*PETRA, "check", str(config)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 2
    assert "people.yaml:5:20: users[0].password_hash: expected an Argon2id hash" in result.stderr
    run = subprocess.run([*PETRA, "run", str(config), "--control-socket", str(tmp_path / "c.sock")],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2  # nothing starts
    assert "people.yaml:5:20: users[0].password_hash" in run.stderr
    people.chmod(0o644)
    result = subprocess.run([*PETRA, "check", str(config)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 2 and "chmod 600 people.yaml" in result.stderr
    people.unlink()
    petra(tmp_path, "user", "add", "alice", "--role", "admin", "--config", str(config), stdin="alice password\n",
          users=False)
    result = subprocess.run([*PETRA, "check", str(config)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_as_root_the_file_keeps_the_owner_of_the_service_so_it_can_still_read_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # the service's user (nobody here) owns its state directory
    users = state / "users.yaml"
    added = subprocess.run([*PETRA, "user", "add", "alice", "--role", "admin", "--users-file", str(users)],
                           input="alice password\n", capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert (users.stat().st_uid, users.stat().st_gid) == (65534, 65534)
    assert Path(f"{users}.lock").stat().st_uid == 65534
    changed = subprocess.run([*PETRA, "user", "role", "alice", "viewer", "--users-file", str(users)],
                             capture_output=True, text=True, timeout=60)
    assert changed.returncode == 0, changed.stderr
    assert users.stat().st_uid == 65534 and (users.stat().st_mode & 0o777) == 0o600
