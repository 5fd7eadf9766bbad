"""The `control` section's settings: one declaration for its schema, defaults and typed model."""

from __future__ import annotations

from dataclasses import dataclass

from petra.config.schema_builders import array, string
from petra.config.settings import schema_of, setting
from petra.security.roles import ROLE_NAMES

ROLES = (*ROLE_NAMES, "administrator")
"""The role names a config may write: the four roles and `administrator`, the original PETRA's admin."""


@dataclass(frozen=True)
class Token:
    """A named bearer token with a role; a bare string in `tokens` is a token with the default role (operator)."""

    token: str = setting(minLength=1)
    name: str | None = setting(None, doc="Shown in the audit trail as token:<name>.", minLength=1)
    role: str = setting("operator", enum=ROLES, doc="The least role's name this token acts as: viewer, operator, "
                                                    "engineer or admin (enforced on every request).")


SELF_SIGNED_DOC = ("Without cert_file: serve TLS with a self-signed certificate made at first start (true) or "
                   "plain HTTP (false). Unset: self-signed when security.require_tls is set or host is not loopback.")
"""The meaning of `self_signed` on every TCP listener (control.tcp, web), whose TLS petra.control.listener decides."""


@dataclass(frozen=True)
class TcpSettings:
    """The control API over TCP: TLS with `cert_file` and `key_file`, else (when TLS is required, asked for or
    the host is not loopback) with a self-signed certificate PETRA makes (`petra.control.listener`)."""

    port: int = setting(minimum=1, maximum=65535)
    host: str = setting("127.0.0.1")
    cert_file: str | None = None
    key_file: str | None = None
    self_signed: bool | None = setting(
        None, doc=SELF_SIGNED_DOC)
    self_signed_dir: str = setting("./data/tls", doc="Where the self-signed certificate and its key (0600) are "
                                                     "kept and reused.")
    tokens: tuple[Token | str, ...] = setting(
        (), doc="Bearer tokens (use ${ENV} for the secrets).",
        schema=array({"anyOf": [string(minLength=1), schema_of(Token)]}))


@dataclass(frozen=True)
class ControlSettings:
    """The control API used by petra-ctl."""

    socket: str | None = setting(
        None, doc="Unix socket path for petra-ctl (default: $PETRA_SOCKET, else /run/petra/control.sock when "
                  "/run/petra is writable, else $XDG_RUNTIME_DIR/petra/control.sock or /tmp/petra-UID/control.sock).")
    tcp: TcpSettings | None = None
    socket_roles: dict[str, str] = setting(
        default_factory=dict,
        doc="The role of each Unix uid (a number) or user name that can open the socket (mode 0660): root and the "
            "user PETRA runs as are admin, anyone else viewer, unless named here.",
        schema={"type": "object", "propertyNames": {"pattern": "^([0-9]+|[a-z_][a-z0-9_.-]*[$]?)$"},
                "additionalProperties": string(enum=list(ROLES))})
