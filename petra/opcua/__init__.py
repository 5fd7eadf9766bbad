"""OPC UA server: the section is validated, but this build has no runtime for it.

`SECTION.child_specs` is None, so a config with an `opcua` section loads and
is reported at start as "not yet active"; the server's folder files
(`children.py`, `actor.py`, ...) come with its runtime.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="opcua",
    supervisor="services",
    schemas=(("opcua", "petra.opcua.schema:opcua_schema"),),
    commands="petra.opcua.tool:register",
)
