"""The control API: HTTP + JSON on a Unix socket (and optionally TCP with TLS).

`children.py` puts the control actor under `services`; it runs with or
without a `control` section, since it is how an operator reaches the plant.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="control",
    supervisor="services",
    schemas=(("control", "petra.control.schema:control_schema"),),
    child_specs="petra.control.children:child_specs",
    model="petra.control.settings:ControlSettings",
    always=True,
    reads=("security.require_tls", "security.allowed_cipher_suites"),  # the TCP listener's TLS (petra.control.listener)
)
