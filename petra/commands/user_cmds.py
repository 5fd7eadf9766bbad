"""`petra user ...`: the users file's users and API tokens.

::

    petra user add NAME --role ROLE       the password: twice from the terminal, or one line of stdin
    petra user passwd NAME                a new password (ends the user's sessions)
    petra user role NAME ROLE             a new role (ends the user's sessions; lowers tokens above it)
    petra user remove NAME                the user and their tokens
    petra user list [--json]              users, roles, locks (never a hash)
    petra user lock NAME                  an admin's lock: no logins, no tokens, sessions end
    petra user unlock NAME                lift the lock, and end a lock-out for failed logins
    petra user token add USER [--role R] [--name N]   prints the token once (it is kept hashed)
    petra user token list [USER] [--json]             ids, names, roles, use (never a digest)
    petra user token revoke ID|NAME

Which file: ``--users-file PATH``, else ``security.users_file`` of ``--config
CONFIG``, else ``./data/users.yaml`` (the default of `security.users_file`).
A running PETRA sees every change at its next request (it re-reads the file
when it changes). Run the command as the user PETRA runs as (``sudo -u petra
petra user ...``); as root, the file keeps the owner it had (a new one gets
its directory's owner).

Every change is appended to the audit trail as ``uid:<your uid>``: to
``--audit-log FILE``, else to the config's ``security.audit_log`` when it
enables audit logging; with neither, the change is made and a note says it was
not audited. Exit status: 0 done, 1 refused (the reason goes to stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from petra.security import user_changes
from petra.security.roles import ROLE_NAMES, Role, parse_role


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--users-file", type=Path, metavar="PATH",
                        help="the users file (default: security.users_file of --config, else ./data/users.yaml)")
    common.add_argument("--config", type=Path, metavar="CONFIG",
                        help="the plant's config: its security.users_file and audit log")
    common.add_argument("--audit-log", type=Path, metavar="FILE",
                        help="the audit trail to record the change in (default: the config's, when enabled)")

    user = sub.add_parser("user", help="manage users, roles and API tokens (the users file)")
    actions = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", parents=[common], help="add a user (password from the terminal or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, type=_role, help=f"one of {', '.join(ROLE_NAMES)}")
    add.set_defaults(handler=_add)

    passwd = actions.add_parser("passwd", parents=[common], help="set a user's password")
    passwd.add_argument("name")
    passwd.set_defaults(handler=_passwd)

    role = actions.add_parser("role", parents=[common], help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", type=_role, help=f"one of {', '.join(ROLE_NAMES)}")
    role.set_defaults(handler=_set_role)

    remove = actions.add_parser("remove", parents=[common], help="remove a user and their tokens")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)

    listing = actions.add_parser("list", parents=[common], help="list the users")
    listing.add_argument("--json", action="store_true", help="JSON output")
    listing.set_defaults(handler=_list)

    lock = actions.add_parser("lock", parents=[common], help="lock a user out (an admin's lock)")
    lock.add_argument("name")
    lock.set_defaults(handler=_lock)

    unlock = actions.add_parser("unlock", parents=[common],
                                help="lift an admin's lock and a lock-out for failed logins")
    unlock.add_argument("name")
    unlock.set_defaults(handler=_unlock)

    token = actions.add_parser("token", help="API tokens of users")
    token_actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    token_add = token_actions.add_parser("add", parents=[common], help="make a token (printed once)")
    token_add.add_argument("user")
    token_add.add_argument("--role", type=_role, help="at most the user's role (default: the user's role)")
    token_add.add_argument("--name", help="a label to recognise it by")
    token_add.set_defaults(handler=_token_add)
    token_list = token_actions.add_parser("list", parents=[common], help="list tokens")
    token_list.add_argument("user", nargs="?")
    token_list.add_argument("--json", action="store_true", help="JSON output")
    token_list.set_defaults(handler=_token_list)
    token_revoke = token_actions.add_parser("revoke", parents=[common], help="revoke a token")
    token_revoke.add_argument("token", metavar="ID", help="the token's id (or its name, when unique)")
    token_revoke.set_defaults(handler=_token_revoke)


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Refused(Exception):
    pass


class _Target:
    """The users file and the audit trail a command works on."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.command = " ".join(c for c in ("user", getattr(args, "user_command", None),
                                            getattr(args, "token_command", None)) if c)
        config = _load_config(args.config) if args.config is not None else None
        if args.users_file is not None:
            self.path = Path(args.users_file)
        elif config is not None:
            self.path = Path(config.security.users_file)
        else:
            from petra.config.sections import SecuritySettings

            self.path = Path(SecuritySettings.users_file)
        audit_path = args.audit_log
        if audit_path is None and config is not None and config.security.enable_audit_logging:
            audit_path = Path(config.security.audit_log)
        self.audit_path: Path | None = audit_path
        self.actor = f"uid:{os.getuid()}"
        self.audited = False

    def audit(self, event: str, actor: str, **details: Any) -> None:
        if self.audit_path is None:
            return
        from petra.audit import AuditLog

        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        log = AuditLog(self.audit_path)
        try:
            log.append(event, actor, **details, users_file=os.path.abspath(self.path))
        finally:
            log.close()
        self.audited = True

    def note_unaudited(self) -> None:
        if self.audit_path is None:
            print(f"petra {self.command}: note: not recorded in an audit trail (give --audit-log FILE, or "
                  "--config with security.enable_audit_logging)", file=sys.stderr)


def _load_config(path: Path) -> Any:
    from petra.commands.common import load_sections_or_report

    if not path.is_file():
        raise _Refused(f"{path}: no such file")
    config = load_sections_or_report(str(path), ("security",))
    if config is None:
        raise _Refused(f"{path}: the config cannot be used (see above)")
    return config


def _run(args: argparse.Namespace, action: Any) -> int:
    from petra.config.errors import ConfigError
    from petra.security.passwords import PasswordRefused
    from petra.security.users import UserError

    command = " ".join(c for c in ("user", getattr(args, "user_command", None),
                                   getattr(args, "token_command", None)) if c)
    try:
        target = _Target(args)
        result = action(target)
    except _Refused as exc:
        return _fail(command, str(exc))
    except ConfigError as exc:  # the users file is malformed or open to others: located problems
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 1
    except (UserError, PasswordRefused) as exc:
        return _fail(command, str(exc))
    except OSError as exc:
        return _fail(command, f"{exc.filename or ''}: {exc.strerror or exc}")
    return int(result or 0)


def _fail(command: str, message: str) -> int:
    print(f"petra {command}: {message}", file=sys.stderr)
    return 1


def _read_password(prompt: str) -> str:
    """Twice from the terminal (they must match), else one line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        second = getpass.getpass(f"{prompt} again: ")
        if first != second:
            raise _Refused("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise _Refused("no password on standard input")
    return line[:-1] if line.endswith("\n") else line


def _add(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        from petra.security.users import UsersFile, check_name

        check_name(args.name)
        if args.name in UsersFile.load(t.path).users:  # ask for no password that would be thrown away
            raise _Refused(f"user '{args.name}' exists already (petra user passwd / role to change it)")
        password = _read_password(f"password for {args.name}")
        user = user_changes.add_user(t.path, args.name, args.role, password, t.audit, t.actor)
        print(f"user {user.name} added ({user.role.label}) to {t.path}")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _passwd(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        from petra.security.users import UsersFile

        UsersFile.load(t.path).user(args.name)
        password = _read_password(f"new password for {args.name}")
        user_changes.set_password(t.path, args.name, password, t.audit, t.actor)
        print(f"password of {args.name} changed (their sessions end)")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _set_role(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        user = user_changes.set_role(t.path, args.name, args.role, t.audit, t.actor)
        print(f"{user.name} is now {user.role.label} (their sessions end)")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _remove(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        tokens = user_changes.remove_user(t.path, args.name, t.audit, t.actor)
        print(f"user {args.name} removed" + (f", with {tokens} token(s)" if tokens else ""))
        t.note_unaudited()
        return 0
    return _run(args, action)


def _lock(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        user_changes.lock_user(t.path, args.name, t.audit, t.actor)
        print(f"{args.name} is locked: no logins, no tokens, their sessions end (petra user unlock to lift it)")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _unlock(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        user_changes.unlock_user(t.path, args.name, t.audit, t.actor)
        print(f"{args.name} is unlocked (an admin's lock and any lock-out of the name for failed logins; an address "
              "locked out for failed logins stays so until its window has passed)")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _list(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        from petra.security.users import UsersFile

        current = UsersFile.load(t.path)
        rows = []
        for user in current.users.values():
            item = user.public()
            item["tokens"] = len(current.tokens_of(user.name))
            rows.append(item)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print(f"no users in {t.path} (petra user add NAME --role admin)")
            return 0
        _table(["NAME", "ROLE", "LOCKED", "TOKENS", "CREATED", "PASSWORD CHANGED"],
               [[r["name"], r["role"], "yes" if r["locked"] else "", str(r["tokens"]), r["created"],
                 r["password_changed"]] for r in rows])
        return 0
    return _run(args, action)


def _token_add(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        token, entry = user_changes.create_token(t.path, args.user, args.role, args.name, t.audit, t.actor)
        print(token)
        print(f"token {entry.id}{f' ({entry.name})' if entry.name else ''} of {entry.user}, role "
              f"{entry.role.label}: shown this once, keep it safe (send it as 'Authorization: Bearer <token>')",
              file=sys.stderr)
        t.note_unaudited()
        return 0
    return _run(args, action)


def _token_list(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        from petra.security.users import UsersFile

        current = UsersFile.load(t.path)
        if args.user is not None:
            current.user(args.user)
        rows = [entry.public() for entry in current.tokens_of(args.user)]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print("no tokens")
            return 0
        _table(["ID", "NAME", "USER", "ROLE", "CREATED", "LAST USED"],
               [[r["id"], r.get("name") or "", r["user"], r["role"], r["created"], r.get("last_used") or ""]
                for r in rows])
        return 0
    return _run(args, action)


def _token_revoke(args: argparse.Namespace) -> int:
    def action(t: _Target) -> int:
        entry = user_changes.revoke_token(t.path, args.token, t.audit, t.actor)
        print(f"token {entry.id}{f' ({entry.name})' if entry.name else ''} of {entry.user} revoked")
        t.note_unaudited()
        return 0
    return _run(args, action)


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    for line in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
