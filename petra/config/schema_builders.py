"""Builders for the JSON Schema fragments every section is written with.

One home for them so that `sections` and the section folders' `schema.py` modules build on it
instead of importing each other. Times are in the unit their name ends with.
"""

from __future__ import annotations

from typing import Any

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
"""Signal, block, alarm and contact names: a letter or _ first, no spaces."""

PATTERN_HINTS = {
    NAME_PATTERN: "a name of letters, digits, '_', '.', '-' that starts with a letter or '_'",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time of day as HH:MM (quote it: \"08:00\")",
}

Schema = dict[str, Any]


def obj(properties: Schema, required: tuple[str, ...] = (), description: str = "", **extra: Any) -> Schema:
    """A closed object: unknown keys are errors."""
    schema: Schema = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = properties
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def _scalar(kind: str, description: str, default: Any, **limits: Any) -> Schema:
    schema: Schema = {"type": kind}
    if description:
        schema["description"] = description
    schema.update({k: v for k, v in limits.items() if v is not None})
    if default is not None:
        schema["default"] = default
    return schema


def string(description: str = "", default: str | None = None, **limits: Any) -> Schema:
    return _scalar("string", description, default, **limits)


def integer(description: str = "", default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> Schema:
    return _scalar("integer", description, default, minimum=minimum, maximum=maximum)


def number(description: str = "", default: float | None = None, minimum: float | None = None,
           maximum: float | None = None) -> Schema:
    return _scalar("number", description, default, minimum=minimum, maximum=maximum)


def boolean(description: str = "", default: bool | None = None) -> Schema:
    return _scalar("boolean", description, default)


def enum(values: list[Any], description: str = "", default: Any = None) -> Schema:
    schema: Schema = {"enum": values}
    if description:
        schema["description"] = description
    if default is not None:
        schema["default"] = default
    return schema


def array(items: Schema, description: str = "", **extra: Any) -> Schema:
    schema: Schema = {"type": "array"}
    if description:
        schema["description"] = description
    schema["items"] = items
    schema.update(extra)
    return schema


def name(description: str) -> Schema:
    return string(description, pattern=NAME_PATTERN)


def signal_ref(description: str) -> Schema:
    return string(description, minLength=1)


SECONDS = {"minimum": 0}
DATA_TYPES = ["bool", "int", "float", "string"]
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
