"""Every change to the users file, audited: the one path for `petra user ...` and the admin API.

Each function is one locked read-modify-write of the file (`petra.security.users.update`)
followed by one audit entry, ``audit(event, actor, **details)``, with `actor`
the one who made the change (``uid:1000`` from the CLI, ``session:alice`` from
the API). The events:

=================  ===============================================
``user.add``       user, role
``user.passwd``    user
``user.role``      user, role, was
``user.remove``    user, tokens (how many went with the user)
``user.lock``      user (an admin's lock)
``user.unlock``    user (also ends a lock-out for failed logins)
``token.create``   user, token (its id), name, role
``token.revoke``   user, token, name
=================  ===============================================

No entry carries a password, a hash or a token.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from petra.security.roles import Role
from petra.security.users import TokenEntry, User, UserError, UsersFile, update

Audit = Callable[..., None]
"""``audit(event, actor, **details)``, as `petra.wiring.Wiring.audit` and `AuditLog.append` take it."""

PathLike = str | os.PathLike[str]


def add_user(path: PathLike, name: str, role: Role, password: str, audit: Audit, actor: str) -> User:
    written = update(path, lambda f: f.with_user(name, role, password))
    audit("user.add", actor, user=name, role=role.label)
    return written.users[name]


def set_password(path: PathLike, name: str, password: str, audit: Audit, actor: str) -> User:
    written = update(path, lambda f: f.with_password(name, password))
    audit("user.passwd", actor, user=name)
    return written.users[name]


def set_role(path: PathLike, name: str, role: Role, audit: Audit, actor: str) -> User:
    was: dict[str, Role] = {}

    def change(current: UsersFile) -> UsersFile:
        was["role"] = current.user(name).role
        return current.with_role(name, role)

    written = update(path, change)
    audit("user.role", actor, user=name, role=role.label, was=was["role"].label)
    return written.users[name]


def remove_user(path: PathLike, name: str, audit: Audit, actor: str) -> int:
    """Remove `name` and their tokens; how many tokens went."""
    gone: dict[str, int] = {}

    def change(current: UsersFile) -> UsersFile:
        current.user(name)
        gone["tokens"] = len(current.tokens_of(name))
        return current.without_user(name)

    update(path, change)
    audit("user.remove", actor, user=name, tokens=gone["tokens"])
    return gone["tokens"]


def lock_user(path: PathLike, name: str, audit: Audit, actor: str) -> User:
    written = update(path, lambda f: f.with_lock(name, True))
    audit("user.lock", actor, user=name)
    return written.users[name]


def unlock_user(path: PathLike, name: str, audit: Audit, actor: str) -> User:
    written = update(path, lambda f: f.with_lock(name, False))
    audit("user.unlock", actor, user=name)
    return written.users[name]


def create_token(path: PathLike, user: str, role: Role | None, name: str | None, audit: Audit,
                 actor: str) -> tuple[str, TokenEntry]:
    """A new token of `user`: the token (show it once, it is not kept) and its entry."""
    made: dict[str, Any] = {}

    def change(current: UsersFile) -> UsersFile:
        changed, token, entry = current.with_token(user, role, name)
        made.update(token=token, entry=entry)
        return changed

    update(path, change)
    entry: TokenEntry = made["entry"]
    audit("token.create", actor, user=user, token=entry.id, name=entry.name, role=entry.role.label)
    return made["token"], entry


def revoke_token(path: PathLike, key: str, audit: Audit, actor: str, *, user: str | None = None) -> TokenEntry:
    """Revoke the token with id (or unique name) `key`; with `user`, only one of theirs."""
    gone: dict[str, TokenEntry] = {}

    def change(current: UsersFile) -> UsersFile:
        entry = current.find_token(key)
        if user is not None and entry.user != user:
            raise UserError(f"user '{user}' has no token '{key}'")
        changed, gone["entry"] = current.without_token(entry.id)
        return changed

    update(path, change)
    entry = gone["entry"]
    audit("token.revoke", actor, user=entry.user, token=entry.id, name=entry.name)
    return entry

