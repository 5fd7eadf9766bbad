"""Options the schema accepts that this build does not (or not fully) enforce: said, never ignored.

A setting PETRA accepts is a setting PETRA enforces. Where a setting needs a
capability that does not exist yet, a file that sets it gets a located warning naming the option and
what is not enforced: `petra check` prints it, `petra run` prints it at start
(both through the config's warnings), and `petra check --strict` refuses it.
Remove an entry in the same change that makes PETRA enforce it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.config.context import CheckContext, section


@dataclass(frozen=True)
class Unenforced:
    """One option (`section`.`key`) that is validated but not enforced, and what that means."""

    section: str
    key: str
    message: str


UNENFORCED: tuple[Unenforced, ...] = ()
"""Empty today: `security.max_failed_auth_attempts` and `session_timeout_minutes` are enforced
(`petra.security.lockout`, `petra.security.sessions`, through `petra.security.identity`), and so is
`control.tcp.tokens[].role` (`petra.control.access`). The options below need checks of their own."""


def check_unenforced(ctx: CheckContext) -> None:
    """Warn for every option the file sets that PETRA does not enforce, and check cipher names."""
    data = ctx.data
    for item in UNENFORCED:
        if item.key in section(data, item.section):
            ctx.warn((item.section, item.key), item.message, key=True)
    security = section(data, "security")
    if security.get("audit_log") is not None and security.get("enable_audit_logging") is not True:
        ctx.warn(("security", "audit_log"), "set, but enable_audit_logging is not true: "
                 "no audit trail is written (set enable_audit_logging: true, or run with --audit-log)", key=True)
    _check_cipher_names(ctx, security.get("allowed_cipher_suites"))
    if security.get("allowed_cipher_suites") and "s3" in section(data, "storage"):
        ctx.warn(("storage", "s3"), "security.allowed_cipher_suites does not bind the S3 archive: pyarrow's S3 "
                 "client makes its own TLS connections, whose suites PETRA cannot restrict", key=True)


def _check_cipher_names(ctx: CheckContext, names: Any) -> None:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return  # the schema reports it
    from petra.security.tls import cipher_policy

    policy = cipher_policy(names)
    for index, name in enumerate(names):
        if name in policy.unknown:
            ctx.error(("security", "allowed_cipher_suites", index),
                      f"unknown cipher suite '{name}' (IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 "
                      "or TLS_AES_256_GCM_SHA384, or OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256)")
    for warning in policy.warnings:
        ctx.warn(("security", "allowed_cipher_suites"), warning, key=True)
