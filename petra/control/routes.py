"""The routes sections add to the control API, kept by section.

The tree builder fills the table from each configured section's `routes`
hook when the tree is built, and again on reload for the sections the reload
changed (`petra.tree`). The control API reads it on every request. Writers
replace a section's routes whole; a reader sees the table before or after a
change, never half of one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from petra.security.roles import Role

if TYPE_CHECKING:
    from petra.control.calls import Handler


@dataclass(frozen=True)
class Route:
    """One route: an HTTP method, a path regex (matched whole, a trailing / allowed), its handler and the
    least role that may call it (`petra.control.access`): every section route says which, and none is open
    to callers without credentials."""

    method: str
    pattern: str
    handler: Handler
    role: Role
    regex: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern + r"/?"))


class RouteTable:
    """Section name -> that section's routes, in the order the sections were set."""

    def __init__(self) -> None:
        self._by_section: dict[str, tuple[Route, ...]] = {}
        self._all: tuple[Route, ...] = ()
        self._lock = threading.Lock()

    def set(self, section: str, routes: Iterable[Route]) -> None:
        """Give `section` exactly `routes` (none: it has none now)."""
        with self._lock:
            by_section = dict(self._by_section)
            by_section[section] = tuple(routes)
            if not by_section[section]:
                del by_section[section]
            self._by_section = by_section
            self._all = tuple(route for routes_of in by_section.values() for route in routes_of)

    def sections(self) -> list[str]:
        """The sections that have routes now."""
        return list(self._by_section)

    def routes(self) -> tuple[Route, ...]:
        """Every section's routes, as one snapshot."""
        return self._all
