"""``${VAR}`` and ``${VAR:-default}`` substitution in configuration strings.

* ``${NAME}`` is replaced by the variable's value; an unset variable is an error.
* ``${NAME:-default}`` uses `default` when the variable is unset or empty
  (as in the shell); the default runs to the first ``}``.
* ``$${`` is a literal ``${`` (so ``$${HOME}`` stays ``${HOME}``).
* A ``$`` anywhere else is an ordinary character.

The loader calls `substitute` on every scalar string before YAML type
resolution, so ``port: ${PORT}`` with ``PORT=1883`` is the integer 1883.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SubstitutionError(ValueError):
    """A ``${...}`` that cannot be expanded. `missing` names the unset variables."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


def has_reference(text: str) -> bool:
    """True when `text` contains something `substitute` would change."""
    return "${" in text


def escape(text: str) -> str:
    """The text that `substitute` turns back into `text`."""
    return text.replace("${", "$${")


def substitute(text: str, env: Mapping[str, str]) -> str:
    """Expand the references in `text` from `env`; raise SubstitutionError when one
    is malformed or names unset variables (all of them are named)."""
    out: list[str] = []
    missing: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            out.append("${")
            i += 3
            continue
        if not text.startswith("${", i):
            out.append(text[i])
            i += 1
            continue
        end = text.find("}", i + 2)
        if end < 0:
            raise SubstitutionError(
                f"'${{' without a closing '}}' in {text!r} (write '$${{' for a literal '${{')"
            )
        body = text[i + 2:end]
        name, sep, default = body.partition(":-")
        if not _NAME.match(name):
            raise SubstitutionError(
                f"'${{{body}}}' is not a valid variable reference (use ${{NAME}} or ${{NAME:-default}})"
            )
        value = env.get(name)
        if sep:
            out.append(value if value else default)
        elif value is None:
            if name not in missing:
                missing.append(name)
        else:
            out.append(value)
        i = end + 1
    if missing:
        names = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        raise SubstitutionError(
            f"environment variable{plural} {names} not set (set it, or give a default: "
            f"${{{missing[0]}:-value}})",
            tuple(missing),
        )
    return "".join(out)
