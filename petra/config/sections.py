"""JSON Schemas of the core sections: security, metrics, logging.

The plug-in sections' schemas live in their folders (`schema.py`, named by
each `Section`). Defaults given here are filled into `PlantConfig.sections`.
Times are in the unit their name ends with.
"""

from __future__ import annotations

from petra.config.schema_builders import (
    Schema,
    array,
    boolean,
    enum,
    integer,
    obj,
    string,
)


def security_schema() -> Schema:
    return obj(
        {
            "enable_audit_logging": boolean(default=False),
            "audit_log": string("Audit log file.", default="./data/audit.log"),
            "max_failed_auth_attempts": integer(default=5, minimum=1),
            "session_timeout_minutes": integer(default=30, minimum=1),
            "require_tls": boolean(default=False),
            "allowed_cipher_suites": array(string(minLength=1), default=[]),
            "require_signed_config": boolean("Refuse a config without a valid .sig (at reload, the running "
                                             "config's value governs).", default=False),
            "trusted_keys_dir": string("A consistency check only: must name the keys PETRA verifies with "
                                       "(--trusted, $PETRA_TRUSTED_KEYS or /etc/petra/trusted-keys); a config "
                                       "never chooses the keys that verify it."),
        },
        description="Security: audit log, TLS, signed configurations.",
    )


def small_sections() -> dict[str, Schema]:
    return {
        "metrics": obj({"port": integer(default=9090, minimum=1, maximum=65535),
                        "host": string(default="127.0.0.1")},
                       description="Prometheus metrics exporter."),
        "logging": obj({"level": enum(["debug", "info", "warning", "error", "critical"], default="info")},
                       description="Log settings."),
    }
