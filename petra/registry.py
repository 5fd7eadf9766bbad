"""The one list of plug-in sections: the tree builder and `petra schema` loop over it.

Adding a subsystem is copying a folder (its `__init__.py` declares a
`Section`) and adding one line here. Within a supervisor group, actors start
in this order. Importing this module loads only the declarations (see
`petra.section`).
"""

from __future__ import annotations

from petra import alarms, control, opcua, storage, web
from petra.drivers import modbus, mqtt, s7, sparkplug
from petra.section import Section

SECTIONS: tuple[Section, ...] = (
    s7.SECTION,
    modbus.SECTION,
    mqtt.SECTION,
    storage.SECTION,
    alarms.SECTION,
    control.SECTION,
    opcua.SECTION,
    web.SECTION,
    sparkplug.SECTION,
)


def section_keys() -> tuple[str, ...]:
    """Every top-level config key a registered section owns, in registry order."""
    return tuple(key for section in SECTIONS for key in section.keys)
