"""Where subsystems plug into the supervision tree.

Each subsystem is a module with a function `child_specs(plant) -> list[ChildSpec]`
that returns the actors it needs for the plant's config (an empty list when
its section is absent). The runtime puts them under the named supervisor:

    petra
    ├── core        (built by petra.runtime)
    ├── drivers     one_for_one: s7:<name>, modbus:<name>, mqtt:<name>
    ├── storage     one_for_one: wal, history tiers
    ├── alarms      one_for_one: alarm:<id>, escalation:<id>, notify:<channel>
    └── services    one_for_one: metrics, control, ...

A section whose module is not present in this build is validated by the
config loader and reported at start as "not yet active".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from supervision import ChildSpec

# supervisor id -> (section names it serves, "module:function" providers) in start order
GROUPS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "drivers": [
        (("s7",), "petra.drivers.s7:child_specs"),
        (("modbus",), "petra.drivers.modbus:child_specs"),
        (("mqtt",), "petra.drivers.mqtt:child_specs"),
    ],
    "storage": [(("storage",), "petra.storage:child_specs")],
    "alarms": [(("alarms", "twilio", "email"), "petra.alarms:child_specs")],
    "services": [(("control",), "petra.control:child_specs")],
}


@dataclass(frozen=True)
class Provider:
    group: str
    sections: tuple[str, ...]
    build: Callable[..., list[ChildSpec]] | None

    @property
    def active(self) -> bool:
        return self.build is not None


def providers() -> list[Provider]:
    """Every known provider; `build` is None when its module (or its function) is not in this build."""
    found = []
    for group, entries in GROUPS.items():
        for sections, target in entries:
            module_name, function = target.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name is None or not module_name.startswith(exc.name):
                    raise
                found.append(Provider(group, sections, None))
                continue
            found.append(Provider(group, sections, getattr(module, function, None)))
    return found
