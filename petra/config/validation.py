"""Schema validation whose messages a plant engineer can act on.

jsonschema reports e.g. ``'fast' is not of type 'integer'``; we say
``expected an integer, got 'fast'`` at the line and column of ``fast``, list
the allowed values of an enum, suggest the closest known key for a typo, and
pick the branch of a ``oneOf`` that the value was evidently meant to be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from petra.config.errors import Path_, Problem, did_you_mean
from petra.config.schema_builders import PATTERN_HINTS
from petra.config.yaml_source import Document

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "nothing",
}

Finding = tuple[Path_, str, bool]
"""(path, message, point at the key rather than the value)."""


def schema_problems(doc: Document, schema: dict[str, Any]) -> list[Problem]:
    """Every schema violation in `doc`, explained and positioned."""
    validator = Draft202012Validator(schema)
    found: dict[Problem, None] = {}
    for error in validator.iter_errors(doc.data):
        for path, message, at_key in explain(error, root=schema):
            found[doc.problem(path, message, key=at_key)] = None
    return list(found)


def describe(value: Any) -> str:
    """A value as the reader wrote it: 'text', 12, true, a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _types(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def explain(
    error: ValidationError, prefix: Path_ = (), root: dict[str, Any] | None = None
) -> Iterator[Finding]:
    """Plain-English findings for one jsonschema error (and its sub-errors)."""
    path = (*prefix, *error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            hint = did_you_mean(key, known)
            if not hint and known:
                hint = "; expected one of: " + ", ".join(known)
            yield (*path, key), f"unknown key '{key}'{hint}", True
    elif kind == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                yield path, f"missing required key '{key}'{_condition(error, root)}", False
    elif kind == "dependentRequired" and isinstance(instance, dict):
        for key, needs in value.items():
            for need in needs:
                if key in instance and need not in instance:
                    yield (*path, key), f"'{key}' needs '{need}' as well", True
    elif kind == "type":
        yield path, f"expected {_types(value)}, got {describe(instance)}", False
    elif kind == "enum":
        hint = did_you_mean(instance, [str(v) for v in value]) if isinstance(instance, str) else ""
        options = ", ".join(str(v) for v in value)
        yield path, f"expected one of: {options}; got {describe(instance)}{hint}", False
    elif kind == "const":
        yield path, f"expected {describe(value)}, got {describe(instance)}", False
    elif kind in _BOUNDS:
        yield path, f"must be {_BOUNDS[kind]} {value}, got {describe(instance)}", False
    elif kind == "minLength":
        yield path, "must not be empty" if value == 1 else f"must be at least {value} characters long", False
    elif kind == "maxLength":
        yield path, f"must be at most {value} characters long", False
    elif kind == "pattern":
        pattern_hint = PATTERN_HINTS.get(value)
        text = f"expected {pattern_hint}" if pattern_hint else f"does not match the pattern {value}"
        yield path, f"{describe(instance)}: {text}", False
    elif kind == "minItems":
        yield path, "must not be empty" if value == 1 else f"needs at least {value} entries", False
    elif kind == "maxItems":
        yield path, f"takes at most {value} entries", False
    elif kind == "uniqueItems":
        yield path, "contains the same entry twice", False
    elif kind in ("oneOf", "anyOf"):
        yield from _alternatives(error, path, prefix, root)
    elif kind == "not" and isinstance(error.schema, dict) and error.schema.get("description"):
        yield path, str(error.schema["description"]), True  # a key refused for a stated reason
    else:
        yield path, error.message, False


_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}


def _condition(error: ValidationError, root: dict[str, Any] | None) -> str:
    """" (needed when area is 'DB')" for a `required` inside an if/then/else."""
    schema_path = list(error.absolute_schema_path)
    if root is None or len(schema_path) < 2 or schema_path[-2] not in ("then", "else"):
        return ""
    node: Any = root
    for part in schema_path[:-2]:
        node = node[part]
    condition = node.get("if", {}).get("properties", {})
    parts = []
    for key, rule in condition.items():
        if "const" in rule:
            parts.append(f"{key} is {describe(rule['const'])}")
        elif "enum" in rule:
            parts.append(f"{key} is one of {', '.join(str(v) for v in rule['enum'])}")
    if not parts:
        return ""
    word = "when" if schema_path[-2] == "then" else "unless"
    return f" (needed {word} {' and '.join(parts)})"


def _alternatives(
    error: ValidationError, path: Path_, prefix: Path_, root: dict[str, Any] | None
) -> Iterator[Finding]:
    """For oneOf/anyOf: report the errors of the one branch the value matches in
    shape (e.g. a mapping, not a list), else say which forms are accepted."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    plausible = [
        index for index in range(len(error.validator_value))
        if not any(not sub.relative_path and sub.validator in ("type", "const", "enum")
                   for sub in branches.get(index, []))
    ]
    if len(plausible) == 1 and branches.get(plausible[0]):
        for sub in branches[plausible[0]]:
            yield from explain(sub, prefix, root)
        return
    subs = error.context or []
    if subs and all(s.validator == "required" and not s.relative_path for s in subs):
        keys = sorted({k for s in subs for k in s.validator_value})
        yield path, "needs " + " or ".join(f"'{k}'" for k in keys), False
        return
    forms = []
    for branch in error.validator_value:
        kind = branch.get("type")
        forms.append(_types(kind) if kind else "a value of another form")
    yield path, f"expected {' or '.join(dict.fromkeys(forms))}, got {describe(error.instance)}", False
