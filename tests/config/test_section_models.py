"""Each section's `model` is the settings dataclass its schema is generated from."""

from __future__ import annotations

import dataclasses
from typing import Any

from jsonschema import Draft202012Validator

from petra.config.settings import schema_of
from petra.registry import SECTIONS
from petra.section import load

CONVERTED = {"s7", "modbus", "mqtt", "storage", "control", "alarms", "web", "opcua", "sparkplug"}


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    """The mapping a key's schema describes: through one-or-a-list (`oneOf`) and lists of them (`items`)."""
    while "properties" not in schema:
        schema = schema["oneOf"][0] if "oneOf" in schema else schema["items"]
    return schema


def test_every_converted_section_names_a_frozen_settings_dataclass_as_its_model() -> None:
    named = {section.name: section.model for section in SECTIONS if section.model is not None}
    assert set(named) == CONVERTED
    for name, target in named.items():
        cls = load(target)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
        Draft202012Validator.check_schema(schema_of(cls))


def test_the_section_schema_has_exactly_the_keys_its_model_declares() -> None:
    for section in SECTIONS:
        if section.model is None:
            continue
        key, function = section.schemas[0]
        declared = set(schema_of(load(section.model))["properties"])
        assert set(_object(load(function)())["properties"]) == declared, key
