"""The core sections' settings and schemas: security, metrics, logging.

The plug-in sections' settings and schemas live in their folders (named by
each `Section`). Each dataclass here is the one declaration of its section's
keys and defaults (`petra.config.settings`); the loader fills the defaults
into `PlantConfig.sections`. Times are in the unit their name ends with.
"""

from __future__ import annotations

from dataclasses import dataclass

from petra.config.schema_builders import Schema, array, string
from petra.config.settings import schema_of, setting

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class SecuritySettings:
    """Security: audit log, TLS, signed configurations."""

    enable_audit_logging: bool = setting(False)
    audit_log: str = setting("./data/audit.log", doc="Audit log file.")
    max_failed_auth_attempts: int = setting(5, minimum=1, doc="Failed logins (per user name and per client "
                                                             "address) within lockout_window_minutes that lock it.")
    lockout_window_minutes: int = setting(10, unit="min", minimum=1, doc="Window of the failed-login count; a "
                                          "locked user or address may try again this long after its last failure.")
    session_timeout_minutes: int = setting(30, unit="min", minimum=1, doc="A login session unused this long ends.")
    session_max_hours: int = setting(12, unit="h", minimum=1, doc="A login session ends this long after the "
                                     "login, however busy.")
    users_file: str = setting("./data/users.yaml", doc="The users, roles, password hashes and API tokens "
                              "(written by petra user ..., mode 0600).")
    anonymous_viewer: bool = setting(False, doc="Let TCP callers without credentials read (viewer role); "
                                     "never more than reading.")
    require_tls: bool = setting(False)
    allowed_cipher_suites: tuple[str, ...] = setting((), schema=array(string(minLength=1)))
    require_signed_config: bool = setting(False, doc="Refuse a config without a valid .sig (at reload, the "
                                                     "running config's value governs).")
    trusted_keys_dir: str | None = setting(
        None, doc="A consistency check only: must name the keys PETRA verifies with (--trusted, "
                  "$PETRA_TRUSTED_KEYS or /etc/petra/trusted-keys); a config never chooses the keys that verify it.")


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics exporter."""

    port: int = setting(9090, minimum=1, maximum=65535)
    host: str = setting("127.0.0.1")


@dataclass(frozen=True)
class LoggingSettings:
    """Log settings."""

    level: str = setting("info", enum=LOG_LEVELS)


def security_schema() -> Schema:
    return schema_of(SecuritySettings, SecuritySettings.__doc__ or "")


def small_sections() -> dict[str, Schema]:
    return {"metrics": schema_of(MetricsSettings, MetricsSettings.__doc__ or ""),
            "logging": schema_of(LoggingSettings, LoggingSettings.__doc__ or "")}
