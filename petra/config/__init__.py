"""Configuration: YAML with positions, ``${VAR}`` substitution, a generated JSON
Schema, cross-checks, and the typed PlantConfig the runtime is built from.

Public API, imported on first use so that importing a light module such as
`petra.config.model` (the CLI, the signal table) does not load jsonschema, the
YAML reader and the block catalogue::

    load_config(path, env=None, *, registry=None) -> PlantConfig
    load_config_text(text, filename="<config>", env=None, *, registry=None) -> PlantConfig
    build_schema(registry=None, *, block_details=True) -> dict
    ConfigError (.problems: list[Problem]), Problem(file, line, column, path, message)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ConfigError", "PlantConfig", "Problem", "build_schema", "load_config", "load_config_text"]

_HOMES = {
    "ConfigError": "petra.config.errors",
    "Problem": "petra.config.errors",
    "PlantConfig": "petra.config.model",
    "build_schema": "petra.config.schema",
    "load_config": "petra.config.loader",
    "load_config_text": "petra.config.loader",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'petra.config' has no attribute {name!r}")
