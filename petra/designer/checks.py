"""The designer's check: `petra check`'s verdict on a text, each problem placed on its node and field.

The verdict is the loader's and the compiler's own (`load_config_text`, `build_plant`), with
``${VAR}`` taken from this process's environment as the running plant would (no value of it is
ever quoted back: `scrubbed`); the storage-file and users-file checks of `petra check` follow
for a deploy. Nothing here has checks of its own: a problem
the designer shows is one `petra check` prints, with the same text.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from petra.config.errors import ConfigError, Problem
from petra.config.model import PlantConfig
from petra.designer.graph import PLANT_KEYS, Graph, Path

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")
_LOCATED = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<column>\d+): (?P<rest>.*)$", re.S)
_PATH_PREFIX = re.compile(r"^((?:[A-Za-z_][A-Za-z0-9_-]*|\[[^\]]*\])(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[^\]]*\])*): ")


def parse_path(text: str) -> Path:
    """The parts of a path as `petra.config.errors.format_path` writes it (``blocks[2].inputs.in1``)."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return tuple(parts)
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(quoted[1:-1].replace("\\'", "'").replace('\\"', '"'))
        position = match.end()
    return tuple(parts)


def parse_problem(text: str, filename: str) -> Problem:
    """A Problem back from its string form (the loader keeps warnings as strings)."""
    match = _LOCATED.match(text)
    if match is None:
        rest = text[len(filename) + 2:] if text.startswith(filename + ": ") else text
        return Problem(filename, 0, 0, "", rest)
    rest = match["rest"]
    prefix = _PATH_PREFIX.match(rest)
    path = prefix.group(1) if prefix else ""
    return Problem(match["file"], int(match["line"]), int(match["column"]), path,
                   rest[prefix.end():] if prefix else rest)


@dataclass
class CheckResult:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    config: PlantConfig | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def signal_types(self) -> dict[str, str]:
        return {} if self.config is None else {s.name: s.type.value for s in self.config.signals}


def check_text(text: str, filename: str = "plant.yaml", env: Mapping[str, str] | None = None,
               *, files: bool = True) -> CheckResult:
    """Everything `petra check FILE` would say about `text` (as if it were the file `filename`).

    `files`: also check the files the config names (the storage WAL, the users file), as `petra check` does.
    The API's checks leave them out: a posted text names any path it likes, and what the server says of
    the files there is not a viewer's business; a deploy checks them (engineer), and so does the reload.
    """
    environment = os.environ if env is None else env
    return _checked(text, filename, tuple(sorted(environment.items())), files)


@functools.lru_cache(maxsize=2)
def _checked(text: str, filename: str, env: tuple[tuple[str, str], ...], files: bool) -> CheckResult:
    """`check_text`'s work, kept for the last few texts: the page asks about a text it was just answered for
    (its graph, then its check; a deploy's check, plan and signature question). A result is only read."""
    from petra.config.loader import load_config_text
    from petra.logic.compiler import CompileError
    from petra.plant import build_plant

    environment = dict(env)
    result = CheckResult()
    try:
        config = load_config_text(text, filename, environment)
    except ConfigError as exc:
        result.errors = scrubbed(exc.problems, environment)
        return result
    result.config = config
    result.warnings = [parse_problem(w, filename) for w in config.warnings]
    try:
        build_plant(config)
    except CompileError as exc:
        result.errors.append(Problem(filename, 0, 0, "", str(exc)))
    if files:
        result.errors.extend(_file_problems(config, filename, result.warnings))
    result.errors, result.warnings = scrubbed(result.errors, environment), scrubbed(result.warnings, environment)
    return result


SECRET_MIN = 6
"""Environment values this long or longer never appear in a designer's message."""


def scrubbed(problems: list[Problem], env: Mapping[str, str]) -> list[Problem]:
    """`problems` with every value of the environment the text was checked in written as ``${NAME}``.

    A text posted to the designer is checked with this process's environment, as the plant would load it; a
    message quoting a substituted value (``scan_time_ms: ${TWILIO_AUTH_TOKEN}`` -> "expected an integer, got
    '...'") would hand the process's secrets to whoever may check a text (a viewer)."""
    values = sorted(((v, k) for k, v in env.items() if len(v) >= SECRET_MIN), key=lambda item: -len(item[0]))
    out = []
    for problem in problems:
        message = problem.message
        for value, name in values:
            if value in message:
                message = message.replace(value, "${" + name + "}")
        out.append(problem if message == problem.message else replace(problem, message=message))
    return out


def _file_problems(config: PlantConfig, filename: str, warnings: list[Problem]) -> list[Problem]:
    from petra.security.users import users_file_problems
    from petra.storage.checks import check_files

    errors, more = users_file_problems(config.security.users_file, filename)
    warnings.extend(more)
    return [*errors, *(Problem(filename, 0, 0, "", p) for p in check_files(config.sections, config.node_id))]


def node_paths(graph: Graph) -> dict[Path, str]:
    """Config path -> the node whose item is there."""
    return {node.path: node.id for node in graph.nodes.values() if node.path is not None and node.path != ()}


def locate(problem: Problem, paths: dict[Path, str]) -> dict[str, Any]:
    """A problem as the API gives it (`E` of the contract): where, what, and the node and field it concerns."""
    parts = parse_path(problem.path)
    node: str | None = None
    field_name: str | None = None
    for length in range(len(parts), 0, -1):
        found = paths.get(parts[:length])
        if found is not None:
            node = found
            rest = parts[length:]
            if found.startswith("escalation:"):
                field_name = "contacts"
            elif rest and isinstance(rest[0], str):
                field_name = rest[0]
            break
    if node is None and parts and parts[0] in PLANT_KEYS:
        node, field_name = "section:plant", str(parts[0])
    location = f"{problem.file}:{problem.line}:{problem.column}" if problem.line else problem.file
    return {
        "location": location, "line": problem.line, "column": problem.column, "path": list(parts),
        "message": problem.message, "text": str(problem), "node": node, "field": field_name,
    }


def report(result: CheckResult, graph: Graph | None) -> dict[str, Any]:
    """The check endpoint's answer."""
    paths = node_paths(graph) if graph is not None else {}
    return {"ok": result.ok, "errors": [locate(p, paths) for p in result.errors],
            "warnings": [locate(p, paths) for p in result.warnings]}
