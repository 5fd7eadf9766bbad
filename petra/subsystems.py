"""Where subsystems plug into the supervision tree.

Each section in `petra.registry` names a function `child_specs(plant, wiring)
-> list[ChildSpec]` that returns the actors it needs for the plant's config
(an empty list when its section is absent); `wiring` (`petra.wiring.Wiring`)
is what its actors may use besides the plant. A section may also name
`routes(plant, wiring) -> list[Route]`, its control API routes, which the tree
builder puts in the wiring's route table. The runtime puts the actors under
the section's supervisor:

    petra
    ├── core        (built by petra.tree)
    ├── drivers     one_for_one: s7:<name>, modbus:<name>, mqtt:<name>
    ├── storage     one_for_one: wal, history tiers
    ├── alarms      one_for_one: alarm:<id>, escalation:<id>, notify:<channel>
    └── services    one_for_one: metrics, control, ...

A section whose module is not present in this build is validated by the
config loader and reported at start as "not yet active".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import TYPE_CHECKING

from petra.registry import SECTIONS
from petra.section import Section, load
from supervision import ChildSpec

if TYPE_CHECKING:
    from petra.control.routes import Route
    from petra.plant import Plant
    from petra.wiring import Wiring

ChildSpecs = Callable[["Plant", "Wiring"], list[ChildSpec]]
"""A section's `child_specs(plant, wiring)`."""
Routes = Callable[["Plant", "Wiring"], list["Route"]]
"""A section's `routes(plant, wiring)`: its control API routes for the plant's config."""


@dataclass(frozen=True)
class Provider:
    section: Section
    child_specs: ChildSpecs | None
    """None when the section has no runtime in this build."""

    @property
    def group(self) -> str:
        return self.section.supervisor

    @property
    def sections(self) -> tuple[str, ...]:
        return self.section.keys

    @property
    def active(self) -> bool:
        return self.child_specs is not None

    def build(self, plant: Plant, wiring: Wiring) -> list[ChildSpec]:
        """The section's actors for `plant` ([] when it has no runtime in this build)."""
        return [] if self.child_specs is None else self.child_specs(plant, wiring)

    def routes(self, plant: Plant, wiring: Wiring) -> list[Route]:
        """The section's control API routes for `plant` ([] without a `routes` hook or a runtime in this build)."""
        if self.section.routes is None or not self.active:
            return []
        routes: Routes = load(self.section.routes)
        return routes(plant, wiring)


def providers(configured: Container[str] | None = None) -> list[Provider]:
    """The providers of the registered sections; `child_specs` is None when its module is not in this build.

    With `configured` (the top-level keys of a config), only the sections that
    config starts: the others' modules, and their libraries, stay unloaded.
    """
    return [provider(s) for s in SECTIONS if configured is None or s.starts_with(configured)]


def provider(section: Section) -> Provider:
    """`section`'s provider, importing its `child_specs` module now."""
    if section.child_specs is None:
        return Provider(section, None)
    module_name, _, function = section.child_specs.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        return Provider(section, None)
    return Provider(section, getattr(module, function, None))
