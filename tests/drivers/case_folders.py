"""The data-driven driver cases in tests/drivers/cases/: reading one folder, checking its shape.

A case is a folder ``cases/<driver>/<case>/`` (tests/drivers/cases/README.md
says how to write one). This module only reads folders; tests/drivers/test_cases.py
runs them through the drivers' real code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parent / "cases"

INPUTS = ("input.hex", "input.json", "payload.txt", "payload.hex")
"""What goes in: device memory (hex), values to write or publish (JSON), an MQTT payload (text or hex)."""
EXTRAS = ("topic.txt", "peer")
"""MQTT: the topic a payload arrives on; `peer`: also run the case against the real peer."""
OUTCOMES = ("expected.json", "expected.hex", "expected.txt", "error.txt")
"""Exactly one: what the signals show (json), the memory written (hex), the payloads published (txt),
or the error the user is told (error.txt: every line a substring of the message)."""
KNOWN = frozenset(("config.yaml", *INPUTS, *EXTRAS, *OUTCOMES))


class CaseFolderError(AssertionError):
    """A case folder that is not shaped as the README says: the message names the folder and the fix."""


@dataclass(frozen=True)
class Case:
    """One case folder, read."""

    path: Path
    config: str
    inputs: dict[str, Path]
    outcome: Path
    peer: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def expects_error(self) -> bool:
        return self.outcome.name == "error.txt"

    def expected_json(self) -> Any:
        return json.loads(self.outcome.read_text("utf-8"))

    def error_lines(self) -> list[str]:
        """The substrings the error message must contain (blank lines and # comments skipped)."""
        lines = [line.strip() for line in self.outcome.read_text("utf-8").splitlines()]
        return [line for line in lines if line and not line.startswith("#")]

    def topic(self) -> str | None:
        path = self.path / "topic.txt"
        return path.read_text("utf-8").strip() if path.exists() else None


def case_names(driver: str) -> list[str]:
    """The case folders of one driver, sorted (these are the pytest ids)."""
    root = CASES / driver
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def read_case(path: Path) -> Case:
    """The case in `path`; CaseFolderError when the folder is malformed."""
    where = _shown(path)
    names = {p.name for p in path.iterdir()}
    unknown = sorted(names - KNOWN)
    if unknown:
        raise CaseFolderError(f"{where}: unknown file(s) {unknown}; a case folder holds only {sorted(KNOWN)}")
    if "config.yaml" not in names:
        raise CaseFolderError(f"{where}: no config.yaml (the driver's section as a user writes it)")
    outcomes = [name for name in OUTCOMES if name in names]
    if not outcomes:
        raise CaseFolderError(f"{where}: neither an expected.* file nor error.txt; a case needs exactly one of "
                              f"{list(OUTCOMES)}")
    if len(outcomes) > 1:
        raise CaseFolderError(f"{where}: both {' and '.join(outcomes)}; a case needs exactly one of "
                              f"{list(OUTCOMES)}")
    inputs = {name: path / name for name in INPUTS if name in names}
    case = Case(path, (path / "config.yaml").read_text("utf-8"), inputs, path / outcomes[0], "peer" in names)
    if case.expects_error and not case.error_lines():
        raise CaseFolderError(f"{where}: error.txt says nothing (any error would pass); give part of the message")
    if outcomes[0] == "expected.hex" and not hex_lines(case.outcome):
        raise CaseFolderError(f"{where}: expected.hex compares nothing; give the memory the write leaves")
    return case


def outcome_in(case: Case, *allowed: str) -> None:
    """Fail unless the case's outcome file is one `allowed` for its kind of input."""
    if case.outcome.name not in allowed:
        kind = " and ".join(case.inputs) or "no input"
        raise CaseFolderError(f"{_shown(case.path)}: a case with {kind} has {' or '.join(allowed)}, "
                              f"not {case.outcome.name}")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(CASES.parent.parent.parent))
    except ValueError:
        return str(path)


_COMMENT = re.compile(r"#.*")


def hex_lines(path: Path) -> list[tuple[str, int, list[str]]]:
    """``<where> <offset> <data>...`` lines of an input.hex/expected.hex: (where, offset, data tokens).

    `where` is the driver's name for a memory area (``DB1``, ``MK``; ``holding_register``,
    ``2:coil``); the offset is decimal; ``#`` starts a comment.
    """
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        fields = _COMMENT.sub("", line).split()
        if not fields:
            continue
        if len(fields) < 3 or not fields[1].isdigit():
            raise CaseFolderError(f"{_shown(path)}:{number}: expected '<area> <offset> <data>...', got {line!r}")
        rows.append((fields[0], int(fields[1]), fields[2:]))
    return rows


def hex_bytes(tokens: list[str], path: Path) -> bytes:
    """Hex data tokens as bytes (``41 ac 00 00`` and ``41ac0000`` are the same four bytes)."""
    text = "".join(tokens)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CaseFolderError(f"{_shown(path)}: {text!r} is not hex bytes") from None


def payload(case: Case) -> bytes:
    """An MQTT payload: payload.hex's bytes, or payload.txt's text without one final newline."""
    if "payload.hex" in case.inputs:
        text = _COMMENT.sub("", case.inputs["payload.hex"].read_text("utf-8"))
        return hex_bytes(text.split(), case.inputs["payload.hex"])
    raw = case.inputs["payload.txt"].read_bytes()
    return raw[:-1] if raw.endswith(b"\n") else raw
