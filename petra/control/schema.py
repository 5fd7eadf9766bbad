"""JSON Schema of the `control` section (the control API petra-ctl talks to)."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array, enum, integer, obj, string


def control_schema() -> Schema:
    token = {
        "anyOf": [
            string(minLength=1),
            obj({"name": string("Shown in the audit trail as token:<name>.", minLength=1),
                 "token": string(minLength=1),
                 "role": enum(["operator", "engineer", "administrator"], default="operator")},
                required=("token",)),
        ]
    }
    return obj(
        {
            "socket": string(
                "Unix socket path for petra-ctl (default: $PETRA_SOCKET, else /run/petra/control.sock when "
                "/run/petra is writable, else $XDG_RUNTIME_DIR/petra/control.sock or /tmp/petra-UID/control.sock)."
            ),
            "tcp": obj(
                {
                    "host": string(default="127.0.0.1"),
                    "port": integer(minimum=1, maximum=65535),
                    "cert_file": string(),
                    "key_file": string(),
                    "tokens": array(token, "Bearer tokens (use ${ENV} for the secrets).", default=[]),
                },
                required=("port",),
                dependentRequired={"cert_file": ["key_file"], "key_file": ["cert_file"]},
            ),
        },
        description="The control API used by petra-ctl.",
    )
