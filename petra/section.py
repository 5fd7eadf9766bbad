"""The shape every subsystem declares: one `Section` in its folder's `__init__.py`.

A section is plain data. Its runtime parts are named as ``"module:function"``
strings and imported only when asked for (`load`), so declaring a section, and
listing every section in `petra.registry`, loads no driver or storage library:
snap7, pymodbus, paho, pyarrow and the rest load only when a config has the
section. The strings also keep the import graph acyclic: the config schema
reads the registry, and a section's `schema.py` builds on `petra.config`, so
the section's `__init__.py` names it instead of importing it.
"""

from __future__ import annotations

import importlib
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

SUPERVISORS = ("drivers", "storage", "alarms", "services")
"""The supervisor groups a section's actors can go under (see `petra.tree`)."""


@dataclass(frozen=True)
class Section:
    """One plug-in subsystem: its config keys, where its actors go, and where its parts live.

    `schemas` pairs each top-level config key the section owns with the
    function that returns that key's JSON Schema fragment (alarms owns three
    keys: alarms, twilio, email). `child_specs` names ``child_specs(plant,
    wiring) -> list[ChildSpec]`` (`wiring`: `petra.wiring.Wiring`, what its
    actors get besides the plant); None means this build validates the section
    but has no runtime for it. `always` starts the section's actors even when
    none of its keys is configured (the control API: it is how an operator
    reaches the plant).

    The other hooks are optional ``"module:name"`` strings too: `model`, the
    frozen settings dataclass the section's keys parse into; `declares`, what
    the section writes and reads (run for every section before any `checks`, so
    no check depends on the registry's order); `checks`, the whole-plant checks;
    `commands`, a function that adds the section's `petra` sub-commands to an
    argparse sub-parsers object; `routes`, ``routes(plant, wiring) ->
    list[Route]``, the section's control API routes (`petra.control.routes`),
    collected by the tree builder when the tree is built and when a reload
    changes the section; `ctl`, a function ``register(subparsers, common)``
    that adds the section's `petra-ctl` sub-commands (`common`: the parent
    parser with the connection options every command takes).

    `reads` names settings of other sections, as ``"security.require_tls"``,
    that the section's actors read when they start (a TLS context, a refusal):
    a reload that changes one restarts those actors, as a change of the
    section's own keys does, so the running plant obeys the file it accepted.
    """

    name: str
    supervisor: str
    schemas: tuple[tuple[str, str], ...]
    child_specs: str | None = None
    always: bool = False
    model: str | None = None
    declares: str | None = None
    checks: str | None = None
    commands: str | None = None
    routes: str | None = None
    ctl: str | None = None
    reads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.supervisor not in SUPERVISORS:
            raise ValueError(f"section {self.name}: unknown supervisor {self.supervisor!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        """The top-level config keys this section owns."""
        return tuple(key for key, _ in self.schemas)

    def starts_with(self, configured: Container[str]) -> bool:
        """Whether a config whose top-level keys are `configured` runs this section's actors."""
        return self.always or any(key in configured for key in self.keys)


def load(target: str) -> Any:
    """The object a ``"module:function"`` string names, importing its module now."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
