"""Siemens S7 driver: python-snap7 client, one supervised actor per PLC.

Files: `config.py` (typed model of the `s7` section), `codec.py` (pure
encode/decode and read coalescing), `session.py` (the snap7 glue),
`actor.py` (the supervised actor), `children.py` (its place in the tree),
`checks.py` (the signals it writes and reads, its whole-plant checks),
`commands.py` (`petra s7 ...`). Importing this package loads none of them:
`SECTION` names them.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="s7",
    supervisor="drivers",
    schemas=(("s7", "petra.drivers.s7.schema:s7_schema"),),
    child_specs="petra.drivers.s7.children:child_specs",
    model="petra.drivers.s7.config:S7PlcConfig",
    declares="petra.drivers.s7.checks:declare",
    checks="petra.drivers.s7.checks:check",
    commands="petra.drivers.s7.commands:register",
)
