"""Modbus TCP/RTU driver: pymodbus sync client, one supervised actor per connection or serial bus.

Files: `config.py` (typed model of the `modbus` section), `codec.py` (pure
register encode/decode and read coalescing), `session.py` (the pymodbus
glue), `actor.py` (the supervised actor), `children.py` (its place in the
tree), `checks.py` (the signals it writes and reads, its whole-plant
checks), `commands.py` (`petra modbus ...`). Importing this package loads
none of them: `SECTION` names them.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="modbus",
    supervisor="drivers",
    schemas=(("modbus", "petra.drivers.modbus.schema:modbus_schema"),),
    child_specs="petra.drivers.modbus.children:child_specs",
    model="petra.drivers.modbus.config:ModbusConnectionConfig",
    declares="petra.drivers.modbus.checks:declare",
    checks="petra.drivers.modbus.checks:check",
    commands="petra.drivers.modbus.commands:register",
)
