"""The users file: PETRA's users, their roles and password hashes, and their API tokens.

Path: `security.users_file` (default ``./data/users.yaml``, beside the audit
log and the other state under ``./data``; relative paths are relative to the
directory PETRA runs in, as for every other path of the config). PETRA writes
it, ``petra user ...`` and the admin API change it; nobody edits it by hand::

    # Written by PETRA (petra user ...). Do not edit: hashes and tokens are checked.
    version: 1
    users:
    - name: 'alice'
      role: 'admin'
      password_hash: '$argon2id$v=19$m=32768,t=8,p=1$...'
      created: '2026-12-02T01:00:00Z'
      password_changed: '2026-12-02T01:00:00Z'
      locked: false                      # an admin's lock (petra user lock/unlock)
      unlocked_at: '...'                 # optional: last admin unlock (ends a lock-out too)
    tokens:
    - id: '3f9a1c2e'                     # shown by `petra user token list`, used to revoke
      name: 'ops'                        # optional label
      user: 'alice'
      role: 'operator'                   # never above the user's role
      sha256: '5e884898...'              # of the token; the token itself is shown once
      created: '2026-12-02T01:05:00Z'
      last_used: '...'                   # optional, written at most once an hour

Every string is written in quotes, so that a token id such as ``12e45678``
or a user named ``null`` reads back as the string it was.

Rules: mode 0600 (a file group or others may read is refused, with the chmod
that fixes it); every change is a locked read-modify-write (``flock`` on
``<file>.lock``, so the CLI and the runtime can both change it) ending in an
atomic replace (temporary file, fsync, rename, fsync of the directory). A
malformed file is a `UsersFileError` with ``file:line:col`` problems, a
`ConfigError`, so `petra check`, `petra run` and the CLI print it like any
config error.

Tokens are 32 random bytes (``secrets.token_urlsafe(32)``): a fast hash
(SHA-256) is right for them, and `check_token` compares the digest with every
entry in constant time (`hmac.compare_digest`, no early exit).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from petra.config.errors import ConfigError, Problem
from petra.config.yaml_source import Document, parse_yaml
from petra.security import passwords
from petra.security.atomic import atomic_write
from petra.security.roles import ROLE_NAMES, Role, parse_role

VERSION = 1
DEFAULT_USERS_FILE = "./data/users.yaml"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_TOKEN_ID = re.compile(r"^[0-9a-f]{8}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEADER = "# Written by PETRA (petra user ...). Do not edit: hashes and tokens are checked.\n"
_USER_KEYS = {"name", "role", "password_hash", "created", "password_changed", "locked", "unlocked_at"}
_TOKEN_KEYS = {"id", "name", "user", "role", "sha256", "created", "last_used"}


class UsersFileError(ConfigError):
    """The users file cannot be used; `problems` say where and why."""


class UserError(ValueError):
    """A change that cannot be made (no such user, a name taken, a role above the user's)."""


def now_iso() -> str:
    """The current UTC time as the file writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class User:
    """One user. `locked` is an admin's lock; `unlocked_at` the last admin unlock."""

    name: str
    role: Role
    password_hash: str
    created: str
    password_changed: str
    locked: bool = False
    unlocked_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role.label, "password_hash": self.password_hash,
                               "created": self.created, "password_changed": self.password_changed,
                               "locked": self.locked}
        if self.unlocked_at is not None:
            out["unlocked_at"] = self.unlocked_at
        return out

    def public(self) -> dict[str, Any]:
        """What lists show: everything but the hash."""
        out = self.to_dict()
        del out["password_hash"]
        return out


@dataclass(frozen=True)
class TokenEntry:
    """One API token of a user: only its SHA-256 is kept."""

    id: str
    user: str
    role: Role
    sha256: str
    created: str
    name: str | None = None
    last_used: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            out["name"] = self.name
        out.update({"user": self.user, "role": self.role.label, "sha256": self.sha256, "created": self.created})
        if self.last_used is not None:
            out["last_used"] = self.last_used
        return out

    def public(self) -> dict[str, Any]:
        """What lists show: everything but the digest."""
        out = self.to_dict()
        del out["sha256"]
        return out


def token_digest(token: str) -> str:
    """The SHA-256 (hex) the file keeps of `token`."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class UsersFile:
    """The parsed file: users by name (file order) and tokens. Changes return a new value."""

    path: Path
    users: dict[str, User] = field(default_factory=dict)
    tokens: tuple[TokenEntry, ...] = ()

    # --- reading ---------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> UsersFile:
        """The file at `path`; an absent file is an empty one. UsersFileError when it is
        readable by group or others, unreadable, or malformed (located problems)."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _file_error(path, "is a symbolic link: PETRA reads its users file only where "
                                        "security.users_file names it (name the link's target instead)") from None
            raise _file_error(path, f"cannot be read: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            check_mode(path, info.st_mode)
            raw = handle.read()
        return cls.parse(raw, path)

    @classmethod
    def parse(cls, raw: bytes, path: Path) -> UsersFile:
        """Parse the bytes of a users file (see `load`)."""
        name = str(path)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _file_error(path, "is not UTF-8 text") from None
        try:
            doc = parse_yaml(text, name, {}, only=())
        except ConfigError as exc:
            raise UsersFileError(exc.problems) from None
        problems: list[Problem] = []
        users, tokens = _Reader(doc, problems).read()
        if problems:
            raise UsersFileError(sorted(problems))
        return cls(path, users, tokens)

    def verify_password(self, name: str, password: str) -> User | None:
        """The user `name` when `password` is theirs and they are not locked by an admin.

        Costs one Argon2id verify whether or not `name` exists (a dummy hash
        stands in), so the answer and its time do not tell whether it does."""
        user = self.users.get(name)
        ok = passwords.verify_password(user.password_hash if user is not None else None, password)
        if user is None or not ok or user.locked:
            return None
        return user

    def check_token(self, token: str) -> tuple[TokenEntry, User] | None:
        """The entry and user of `token`, when it is one of the file's and its user exists and is
        not locked; every digest is compared in constant time."""
        digest = token_digest(token)
        found: TokenEntry | None = None
        for entry in self.tokens:
            if hmac.compare_digest(entry.sha256, digest):
                found = entry
        if found is None:
            return None
        user = self.users.get(found.user)
        if user is None or user.locked:
            return None
        return found, user

    def tokens_of(self, user: str | None = None) -> list[TokenEntry]:
        """The tokens (of `user`, or all)."""
        return [t for t in self.tokens if user is None or t.user == user]

    def token_role(self, entry: TokenEntry) -> Role:
        """What a token may do: its own role, never above its user's role today."""
        user = self.users.get(entry.user)
        return min(entry.role, user.role) if user is not None else Role.VIEWER

    # --- changing (pure: a new UsersFile) -----------------------------------

    def with_user(self, name: str, role: Role, password: str) -> UsersFile:
        """A new user (UserError when the name is taken or not a valid name)."""
        check_name(name)
        if name in self.users:
            raise UserError(f"user '{name}' exists already (petra user passwd / role to change it)")
        passwords.check_new_password(password)
        stamp = now_iso()
        user = User(name, role, passwords.hash_password(password), stamp, stamp)
        return replace(self, users={**self.users, name: user})

    def with_password(self, name: str, password: str) -> UsersFile:
        passwords.check_new_password(password)
        user = self.user(name)
        changed = replace(user, password_hash=passwords.hash_password(password), password_changed=now_iso())
        return replace(self, users={**self.users, name: changed})

    def with_role(self, name: str, role: Role) -> UsersFile:
        """`name` gets `role`; tokens of theirs above it are lowered to it."""
        user = self.user(name)
        tokens = tuple(replace(t, role=min(t.role, role)) if t.user == name else t for t in self.tokens)
        return replace(self, users={**self.users, name: replace(user, role=role)}, tokens=tokens)

    def with_lock(self, name: str, locked: bool) -> UsersFile:
        """An admin's lock (True) or unlock (False: also ends a lock-out for failed logins)."""
        user = self.user(name)
        changed = replace(user, locked=locked, unlocked_at=user.unlocked_at if locked else now_iso())
        return replace(self, users={**self.users, name: changed})

    def without_user(self, name: str) -> UsersFile:
        """`name` and every token of theirs removed."""
        self.user(name)
        users = {k: v for k, v in self.users.items() if k != name}
        return replace(self, users=users, tokens=tuple(t for t in self.tokens if t.user != name))

    def with_token(
        self, user: str, role: Role | None = None, name: str | None = None
    ) -> tuple[UsersFile, str, TokenEntry]:
        """A new token for `user` (role: theirs unless lower is asked); returns the token, shown once."""
        owner = self.user(user)
        role = owner.role if role is None else role
        if role > owner.role:
            raise UserError(f"a token of '{user}' cannot have role {role.label}: the user is {owner.role.label}")
        if name is not None:
            check_name(name, what="token name")
        taken = {t.id for t in self.tokens}
        token_id = secrets.token_hex(4)
        while token_id in taken:
            token_id = secrets.token_hex(4)
        token = secrets.token_urlsafe(32)
        entry = TokenEntry(token_id, user, role, token_digest(token), now_iso(), name=name)
        return replace(self, tokens=(*self.tokens, entry)), token, entry

    def without_token(self, token_id: str) -> tuple[UsersFile, TokenEntry]:
        """The file without token `token_id` (its id, or its name when that is unique)."""
        entry = self.find_token(token_id)
        return replace(self, tokens=tuple(t for t in self.tokens if t.id != entry.id)), entry

    def with_token_used(self, token_id: str, when: str) -> UsersFile:
        tokens = tuple(replace(t, last_used=when) if t.id == token_id else t for t in self.tokens)
        return replace(self, tokens=tokens)

    def user(self, name: str) -> User:
        """The user `name` (UserError when there is none)."""
        try:
            return self.users[name]
        except KeyError:
            raise UserError(f"no user '{name}' in {self.path}") from None

    def find_token(self, key: str) -> TokenEntry:
        """The token with id `key`, or the one token named `key` (UserError otherwise)."""
        by_id = [t for t in self.tokens if t.id == key]
        by_name = [t for t in self.tokens if t.name == key]
        if by_id:
            return by_id[0]
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            raise UserError(f"{len(by_name)} tokens are named '{key}': give the id (petra user token list)")
        raise UserError(f"no token '{key}' in {self.path}")

    # --- writing -----------------------------------------------------------

    def render(self) -> str:
        body = {"version": VERSION, "users": [_quoted(u.to_dict()) for u in self.users.values()],
                "tokens": [_quoted(t.to_dict()) for t in self.tokens]}
        return _HEADER + yaml.dump(body, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                                   allow_unicode=True)

    def save(self) -> None:
        """Write atomically with mode 0600 (see the module docstring)."""
        atomic_write(self.path, self.render().encode("utf-8"), keep_owner=True)


class _Quoted(str):
    """A string value written in quotes: a token id such as ``12e45678`` or a user named ``null``
    must not come back as a number or nothing."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", str(value),
                                                                              style="'"))


def _quoted(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _Quoted(v) if isinstance(v, str) else v for k, v in item.items()}


def update(path: str | os.PathLike[str], change: Callable[[UsersFile], UsersFile]) -> UsersFile:
    """Read the file, apply `change`, write the result: one locked read-modify-write.
    Returns what was written."""
    path = Path(path)
    with locked(path):
        current = UsersFile.load(path)
        changed = change(current)
        if changed is not current:
            changed.save()
        return changed


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock on ``<path>.lock`` (made 0600 beside the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.geteuid() == 0:
            info = os.stat(path if path.exists() else path.parent)
            os.fchown(fd, info.st_uid, info.st_gid)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_mode(path: Path, mode: int) -> None:
    """UsersFileError unless `path` is a regular file that only its owner may read or write."""
    if not stat.S_ISREG(mode):
        raise _file_error(path, "is not a regular file")
    if mode & 0o077:
        raise _file_error(path, f"may be read or written by group or others (mode {stat.S_IMODE(mode):04o}); "
                                f"it holds password hashes: chmod 600 {path}")


def check_name(name: str, what: str = "user name") -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(f"invalid {what} {name!r}: letters, digits, '_', '.', '-', starting with a letter or '_', "
                        "at most 64 characters")


def _file_error(path: Path, message: str) -> UsersFileError:
    return UsersFileError([Problem(str(path), 0, 0, "", message)])


class _Reader:
    """Builds users and tokens from a parsed document, recording located problems."""

    def __init__(self, doc: Document, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems

    def fail(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def read(self) -> tuple[dict[str, User], tuple[TokenEntry, ...]]:
        data = self.doc.data
        if not isinstance(data, dict):
            self.fail((), "expected a mapping with 'version', 'users' and 'tokens'")
            return {}, ()
        for key in data:
            if key not in ("version", "users", "tokens"):
                self.fail((key,), f"unknown key '{key}' (expected version, users, tokens)", key=True)
        if data.get("version", VERSION) != VERSION:
            self.fail(("version",), f"expected version {VERSION}, got {data.get('version')!r}")
        users: dict[str, User] = {}
        for index, item in self.items("users"):
            user = self.user(index, item)
            if user is None:
                continue
            if user.name in users:
                self.fail(("users", index, "name"), f"user '{user.name}' is listed twice")
            users[user.name] = user
        tokens: list[TokenEntry] = []
        for index, item in self.items("tokens"):
            token = self.token(index, item, users)
            if token is None:
                continue
            if any(t.id == token.id for t in tokens):
                self.fail(("tokens", index, "id"), f"token id '{token.id}' is listed twice")
            tokens.append(token)
        return users, tuple(tokens)

    def items(self, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
        value = self.doc.data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.fail((key,), f"expected a list of {key}")
            return
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item
            else:
                self.fail((key, index), "expected a mapping")

    def text(self, path: tuple[str | int, ...], item: dict[str, Any], key: str, *, required: bool = True,
             pattern: re.Pattern[str] | None = None, expected: str = "a string") -> str | None:
        if key not in item or item[key] is None:
            if required:
                self.fail(path, f"missing '{key}'", key=True)
            return None
        value = item[key]
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
            self.fail((*path, key), f"expected {expected}, got {value!r}")
            return None
        return value

    def role(self, path: tuple[str | int, ...], item: dict[str, Any]) -> Role | None:
        if "role" not in item:
            self.fail(path, "missing 'role'", key=True)
            return None
        try:
            return parse_role(item["role"])
        except ValueError:
            self.fail((*path, "role"), f"unknown role {item['role']!r}: expected one of {', '.join(ROLE_NAMES)}")
            return None

    def unknown_keys(self, path: tuple[str | int, ...], item: dict[str, Any], allowed: set[str]) -> None:
        for key in item:
            if key not in allowed:
                self.fail((*path, key), f"unknown key '{key}' (expected {', '.join(sorted(allowed))})", key=True)

    def user(self, index: int, item: dict[str, Any]) -> User | None:
        path: tuple[str | int, ...] = ("users", index)
        self.unknown_keys(path, item, _USER_KEYS)
        name = self.text(path, item, "name", pattern=_NAME, expected="a user name")
        role = self.role(path, item)
        password_hash = self.text(path, item, "password_hash", expected="an Argon2id hash ($argon2id$v=19$...)")
        if password_hash is not None and not passwords.is_hash(password_hash):
            self.fail((*path, "password_hash"), "expected an Argon2id hash ($argon2id$v=19$...)")
            password_hash = None
        created = self.text(path, item, "created", required=False) or ""
        changed = self.text(path, item, "password_changed", required=False) or created
        unlocked_at = self.text(path, item, "unlocked_at", required=False)
        locked = item.get("locked", False)
        if not isinstance(locked, bool):
            self.fail((*path, "locked"), f"expected true or false, got {locked!r}")
            return None
        if name is None or role is None or password_hash is None:
            return None
        return User(name, role, password_hash, created, changed, locked, unlocked_at)

    def token(self, index: int, item: dict[str, Any], users: dict[str, User]) -> TokenEntry | None:
        path: tuple[str | int, ...] = ("tokens", index)
        self.unknown_keys(path, item, _TOKEN_KEYS)
        token_id = self.text(path, item, "id", pattern=_TOKEN_ID, expected="8 hex digits")
        name = self.text(path, item, "name", required=False, pattern=_NAME, expected="a token name")
        user = self.text(path, item, "user", pattern=_NAME, expected="a user name")
        role = self.role(path, item)
        digest = self.text(path, item, "sha256", pattern=_SHA256, expected="64 lowercase hex digits")
        created = self.text(path, item, "created", required=False) or ""
        last_used = self.text(path, item, "last_used", required=False)
        if user is not None and user not in users:
            self.fail((*path, "user"), f"no user '{user}' in this file")
            return None
        if token_id is None or user is None or role is None or digest is None:
            return None
        if role > users[user].role:
            self.fail((*path, "role"), f"role {role.label} is above the role of its user '{user}' "
                                       f"({users[user].role.label})")
            return None
        return TokenEntry(token_id, user, role, digest, created, name, last_used)



def users_file_problems(users_file: str | None, config_file: str) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings about the users file a config names (`security.users_file`, None: the
    default), for `petra check` and `petra run`: when it exists it must be usable, and its problems
    are reported at their own file:line. A file this user may not read is a warning (not checked).

    (Not one of the config's own checks: `petra.config` cannot import this module without an
    import cycle, and the file is not part of the config.)"""
    path = Path(users_file or DEFAULT_USERS_FILE)
    if not path.exists():
        return [], []
    if path.is_file() and not os.access(path, os.R_OK):
        return [], [Problem(config_file, 0, 0, "security.users_file",
                            f"{path} cannot be read by this user (uid {os.getuid()}), so it is not checked: "
                            "run petra check as the user PETRA runs as")]
    try:
        UsersFile.load(path)
    except UsersFileError as exc:
        return list(exc.problems), []
    return [], []
