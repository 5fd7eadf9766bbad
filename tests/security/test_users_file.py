"""The users file: mode 0600, atomic writes, located errors, users and hashed tokens."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from petra.security.roles import Role
from petra.security.users import UserError, UsersFile, UsersFileError, token_digest, update

pytestmark = pytest.mark.usefixtures("cheap_hashes")


def with_alice(path: Path) -> UsersFile:
    return update(path, lambda f: f.with_user("alice", Role.ENGINEER, "alice's password"))


def test_an_absent_file_has_no_users(tmp_path: Path) -> None:
    users = UsersFile.load(tmp_path / "users.yaml")
    assert users.users == {} and users.tokens == ()


def test_the_file_is_written_0600_atomically_and_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "state" / "users.yaml"
    os.umask(0o022)
    written = with_alice(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["users.yaml", "users.yaml.lock"]  # no temp left
    again = UsersFile.load(path)
    assert again.users == written.users
    assert again.users["alice"].role is Role.ENGINEER
    assert again.verify_password("alice", "alice's password") == again.users["alice"]
    assert again.verify_password("alice", "wrong password") is None
    assert "alice's password" not in path.read_text()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_file_group_or_others_may_read_is_refused_naming_the_fix(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "users.yaml"
    with_alice(path)
    path.chmod(mode)
    with pytest.raises(UsersFileError) as caught:
        UsersFile.load(path)
    message = str(caught.value)
    assert f"mode {mode:04o}" in message and f"chmod 600 {path}" in message


MALFORMED = [
    ("version: 1\nusers:\n  - name: alice\n    role: root\n    password_hash: $argon2id$v=19$m=8,t=1,p=1$x$y\n",
     ":4:11: users[0].role: unknown role 'root': expected one of viewer, operator, engineer, admin"),
    ("version: 1\nusers:\n  - name: alice\n    role: admin\n",
     ":3:5: users[0]: missing 'password_hash'"),
    ("version: 1\nusers:\n  - name: alice\n    role: admin\n    password_hash: hunter2\n",
     ":5:20: users[0].password_hash: expected an Argon2id hash"),
    ("version: 1\nusers: [\n", ":3:1: invalid YAML"),
    ("version: 1\ntokens:\n  - {id: abcdef01, user: ghost, role: viewer, sha256: '" + "0" * 64 + "'}\n",
     ":3:26: tokens[0].user: no user 'ghost' in this file"),
    ("version: 2\n", ":1:10: version: expected version 1, got 2"),
    ("users: {}\n", ":1:8: users: expected a list of users"),
    ("version: 1\nuser: []\n", ":2:1: user: unknown key 'user'"),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_a_malformed_file_is_a_located_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(UsersFileError) as caught:
        UsersFile.load(path)
    assert f"{path}{expected}" in str(caught.value)


def test_values_that_look_like_numbers_or_null_come_back_as_the_strings_they_were(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    users = with_alice(path).with_user("null", Role.VIEWER, "long enough")
    users, _token, entry = users.with_token("null", name="true")
    numeric = type(entry)("12e45678", "null", Role.VIEWER, "1" * 64, "2026-01-01T00:00:00Z", name="false")
    users = type(users)(path, users.users, (*users.tokens, numeric))
    users.save()
    again = UsersFile.load(path)
    assert "null" in again.users
    assert [(t.id, t.name, t.sha256) for t in again.tokens][1] == ("12e45678", "false", "1" * 64)


def test_a_token_above_its_users_role_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    written, _token, _entry = with_alice(path).with_token("alice")
    text = written.render().replace("role: 'engineer'\n  sha256", "role: 'admin'\n  sha256")
    path.write_text(text)
    with pytest.raises(UsersFileError, match=r"tokens\[0\].role: role admin is above the role of its user 'alice'"):
        UsersFile.load(path)


def test_a_token_is_kept_only_as_its_digest_and_is_found_by_it(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    with_alice(path)
    made: dict[str, str] = {}

    def add(f: UsersFile) -> UsersFile:
        changed, token, _entry = f.with_token("alice", Role.OPERATOR, "ops")
        made["token"] = token
        return changed

    update(path, add)
    token = made["token"]
    assert len(token) >= 43 and token not in path.read_text()
    assert token_digest(token) in path.read_text()
    users = UsersFile.load(path)
    found = users.check_token(token)
    assert found is not None and found[0].name == "ops" and found[0].role is Role.OPERATOR
    assert users.check_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    revoked, _entry = users.without_token("ops")
    assert revoked.check_token(token) is None


def test_a_token_cannot_be_given_more_than_its_users_role(tmp_path: Path) -> None:
    users = with_alice(tmp_path / "users.yaml")
    with pytest.raises(UserError, match="cannot have role admin: the user is engineer"):
        users.with_token("alice", Role.ADMIN)


def test_lowering_a_users_role_lowers_their_tokens(tmp_path: Path) -> None:
    users, token, _entry = with_alice(tmp_path / "users.yaml").with_token("alice")
    lowered = users.with_role("alice", Role.VIEWER)
    found = lowered.check_token(token)
    assert found is not None and found[0].role is Role.VIEWER


def test_a_locked_users_password_and_tokens_are_refused(tmp_path: Path) -> None:
    users, token, _entry = with_alice(tmp_path / "users.yaml").with_token("alice")
    locked = users.with_lock("alice", True)
    assert locked.verify_password("alice", "alice's password") is None
    assert locked.check_token(token) is None
    unlocked = locked.with_lock("alice", False)
    assert unlocked.check_token(token) is not None and unlocked.users["alice"].unlocked_at


def test_removing_a_user_removes_their_tokens(tmp_path: Path) -> None:
    users, token, _entry = with_alice(tmp_path / "users.yaml").with_token("alice")
    gone = users.without_user("alice")
    assert gone.users == {} and gone.tokens == () and gone.check_token(token) is None


@pytest.mark.parametrize("name", ["", "a b", "-x", "x" * 65, "al:ice", "../etc"])
def test_a_user_name_must_be_a_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match="invalid user name"):
        UsersFile(tmp_path / "u.yaml").with_user(name, Role.VIEWER, "long enough")


def test_a_name_cannot_be_taken_twice(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="exists already"):
        with_alice(tmp_path / "users.yaml").with_user("alice", Role.VIEWER, "long enough")


def test_a_failed_change_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    with_alice(path)
    before = path.read_bytes()
    with pytest.raises(UserError):
        update(path, lambda f: f.with_role("nobody", Role.ADMIN))
    assert path.read_bytes() == before


def test_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    with_alice(real)
    (tmp_path / "users.yaml").symlink_to(real)
    with pytest.raises(UsersFileError, match="is a symbolic link"):
        UsersFile.load(tmp_path / "users.yaml")
