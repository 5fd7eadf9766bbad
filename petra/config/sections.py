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
    max_failed_auth_attempts: int = setting(5, minimum=1)
    session_timeout_minutes: int = setting(30, unit="min", minimum=1)
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
