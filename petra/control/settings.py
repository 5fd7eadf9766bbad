"""The `control` section's settings: one declaration for its schema, defaults and typed model."""

from __future__ import annotations

from dataclasses import dataclass

from petra.config.schema_builders import array, string
from petra.config.settings import schema_of, setting

ROLES = ("operator", "engineer", "administrator")


@dataclass(frozen=True)
class Token:
    """A named bearer token with a role; a bare string in `tokens` is a token without either."""

    token: str = setting(minLength=1)
    name: str | None = setting(None, doc="Shown in the audit trail as token:<name>.", minLength=1)
    role: str = setting("operator", enum=ROLES)


@dataclass(frozen=True)
class TcpSettings:
    """The control API over TCP (TLS with `cert_file` and `key_file`)."""

    port: int = setting(minimum=1, maximum=65535)
    host: str = setting("127.0.0.1")
    cert_file: str | None = None
    key_file: str | None = None
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
