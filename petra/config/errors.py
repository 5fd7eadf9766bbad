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
    """A suggestion suffix like `` (did you mean 'GE'?)``, or "" when nothing is close.

    Tries, in order: a known alias, the same word in another case, a spelling
    neighbour, and an abbreviation (``TIMER_ON`` -> ``TON``, ``COUNTER_UP`` -> ``CTU``).
    """
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
    if not close:
        close = _abbreviations(word, options)[:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def near_miss(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate `word` is most likely a typo of, or None.

    Stricter than `did_you_mean`, because a miss here is an error: at most one
    edit (two for names of ten or more characters; a swap of neighbours is one
    edit, case is ignored); names shorter than four characters, and names that
    differ only in digits (``pump1``, ``pump2``), are different things, not typos.
    """
    if len(word) < 4:
        return None
    limit = 1 if len(word) < 10 else 2
    best: tuple[int, str] | None = None
    for option in sorted(set(candidates)):
        if option == word or _digits_apart(option, word):
            continue
        distance = _edit_distance(word.lower(), option.lower())
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, option)
    return best[1] if best else None


def _digits_apart(a: str, b: str) -> bool:
    return re.sub(r"\d+", "#", a) == re.sub(r"\d+", "#", b)


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _abbreviations(word: str, options: Sequence[str]) -> list[str]:
    """Options whose letters appear in order in `word`, starting with its first letter, longest first."""
    letters = re.sub(r"[^a-z0-9]", "", word.lower())
    found = []
    for option in options:
        short = re.sub(r"[^a-z0-9]", "", option.lower())
        if len(short) >= 2 and letters[:1] == short[:1] and len(short) < len(letters) and _in_order(short, letters):
            found.append(option)
    return sorted(found, key=lambda o: (-len(o), o))


def _in_order(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)
