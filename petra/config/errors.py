"""Configuration problems and the error that carries them.

Every problem knows where it is: the file, the 1-based line and column, and
the path inside the document (``blocks[2].type``), and formats itself as::

    plant.yaml:14:9: blocks[2].type: unknown block type 'GTE' (did you mean 'GE'?)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Path_ = tuple[str | int, ...]
"""A location inside the document: mapping keys and list indexes from the root."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(path: Iterable[str | int]) -> str:
    """Render a document path the way a reader writes it: ``blocks[2].inputs.in1``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One error or warning at a position. `line` 0 means "the file as a whole"."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used; `problems` lists everything found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, candidates: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    """A suggestion suffix like `` (did you mean 'GE'?)``, or "" when nothing is close."""
    options = sorted(set(candidates))
    if aliases and word.upper() in aliases and aliases[word.upper()] in options:
        return f" (did you mean '{aliases[word.upper()]}'?)"
    for option in options:
        if option.lower() == word.lower():
            return f" (did you mean '{option}'?)"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[c] for c in difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)]
    return f" (did you mean '{close[0]}'?)" if close else ""
