"""The JSON Schema (draft 2020-12) of a PETRA configuration file.

One source of truth: the sections come from `petra.registry` (each plug-in
section names its schema functions) and `petra.config.sections`, the block
part is generated from the block registry (each type's ports, variadic input
family and parameter schemas). `petra schema` prints `build_schema()`.

The loader validates with ``build_schema(block_details=False)`` and checks
block internals itself (`petra.config.checks`), which gives better messages
("unknown input 'in3' for GT; valid inputs: in1, in2") than a 40-way `if`.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Collection
from typing import Any

from jsonschema import Draft202012Validator

from petra.blocks.base import REGISTRY, Block, BlockRegistry, Port
from petra.config.history import HistoryPolicy
from petra.config.schema_builders import (
    DATA_TYPES,
    NAME_PATTERN,
    Schema,
    array,
    boolean,
    enum,
    integer,
    number,
    obj,
    string,
)
from petra.config.sections import security_schema, small_sections
from petra.config.settings import overrides_schema_of
from petra.config.tasks import block_task_schema, tasks_schema
from petra.registry import SECTIONS
from petra.section import load
from petra.values import DataType

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TOP_LEVEL_CORE = ("node_id", "scan_time_ms", "signals", "blocks", "tasks")
SCAN_TIME_MS = 100
"""`scan_time_ms`'s default: the schema's and the loader's."""
CORE_SECTIONS = ("security", "metrics", "logging")
"""Sections that are not (yet) plug-in folders: their schemas are in `petra.config.sections`."""
SECTION_ORDER = ("alarms", "mqtt", "storage", "s7", "modbus", "twilio", "email", "security", "control", "metrics",
                 "opcua", "logging")
"""The order `petra schema` prints the sections in (as before the registry); a new section comes last."""


def default_registry() -> BlockRegistry:
    """The global registry, after importing `petra.blocks` so every type is registered."""
    importlib.import_module("petra.blocks")
    return REGISTRY


def build_schema(registry: BlockRegistry | None = None, *, block_details: bool = True,
                 sections: Collection[str] | None = None) -> dict[str, Any]:
    """The schema of a whole configuration file, deterministic (same dict every call).

    With `block_details`, each block type's inputs, outputs and params are
    described and enforced with an ``if type == T then ...`` branch. With
    `sections`, only those section keys get their schema (the loader passes the
    keys the file has: building every section's schema took half of the demo
    plant's start-up); every other key is still known, as `{}`, so an unknown
    key is refused as before.
    """
    registry = registry if registry is not None else default_registry()
    properties: Schema = {
        "node_id": string("Name of this PETRA node (default: the host name).", minLength=1),
        "scan_time_ms": integer("Period of the logic scan in milliseconds.", default=SCAN_TIME_MS, minimum=1,
                                maximum=60000),
        "signals": array(_signal_schema(), "Declared signals.", default=[]),
        "blocks": array(_block_items(registry, block_details), "Logic blocks.", default=[]),
        "tasks": tasks_schema(),
    }
    properties.update(_section_schemas(sections))
    schema: Schema = {
        "$schema": SCHEMA_DIALECT,
        "title": "PETRA configuration",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if block_details:
        schema["$defs"] = {f"block_{name}": _block_type_schema(registry.types[name])
                           for name in registry.names()}
    return json.loads(json.dumps(schema))


def _section_schemas(only: Collection[str] | None = None) -> dict[str, Schema]:
    """Every section other than the core keys: the registered sections' fragments, then the core sections.

    With `only`, a key not in it is `{}`: its schema is not built (nor its module imported).
    """
    found = {key: load(target)() if only is None or key in only else {}
             for section in SECTIONS for key, target in section.schemas}
    core = {"security": security_schema(), **small_sections()} if only is None or set(only) & set(CORE_SECTIONS) \
        else {}
    found.update({key: core.get(key, {}) if only is None or key in only else {} for key in CORE_SECTIONS})
    ranked = sorted(found, key=lambda key: SECTION_ORDER.index(key) if key in SECTION_ORDER else len(SECTION_ORDER))
    return {key: found[key] for key in ranked}


def _signal_schema() -> Schema:
    return obj(
        {
            "name": string("Unique signal name.", pattern=NAME_PATTERN),
            "type": enum(DATA_TYPES, "Value type."),
            "initial": {"description": "Value at start (default false / 0 / 0.0 / \"\").",
                        "type": ["boolean", "number", "string"]},
            "unit": string("Engineering unit, e.g. degC, bar, %."),
            "description": string(),
            "group": string("Signal group (actor) that owns the signal when no block writes it.",
                            default="default", pattern=NAME_PATTERN),
            "writable": boolean("Operators and MQTT commands may write it.", default=True),
            "writable_by": string("The lowest role that may write it through the control API: viewer, operator, "
                                  "engineer or admin (default: operator for a signal nothing in the plant writes; "
                                  "a signal a driver writes may be opened with it, one a block computes may not)."),
            "min": number("Lowest value a remote write (API, web HMI, OPC-UA, Sparkplug) may set (int and "
                          "float signals)."),
            "max": number("Highest value a remote write may set (int and float signals)."),
            "history": {
                "description": "How this signal is recorded (overrides storage.history); false: not recorded.",
                "anyOf": [{"type": "boolean"}, overrides_schema_of(HistoryPolicy)],
            },
        },
        required=("name", "type"),
    )


def _block_items(registry: BlockRegistry, details: bool) -> Schema:
    base = obj(
        {
            "name": string("Unique block name.", pattern=NAME_PATTERN),
            "type": enum(registry.names(), "Block type.") if details else string("Block type.", minLength=1),
            "inputs": {
                "type": "object",
                "description": "Input port -> signal name, or a literal constant such as 75.0 or true.",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
            },
            "outputs": {
                "type": "object",
                "description": "Output port -> signal name.",
                "additionalProperties": string(minLength=1),
            },
            "params": {"type": "object", "description": "Parameters of the block type."},
            "task": block_task_schema(),
        },
        required=("name", "type"),
    )
    if not details:
        return base
    branches = [
        {"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
         "then": {"$ref": f"#/$defs/block_{name}"}}
        for name in registry.names()
    ]
    if branches:
        base["allOf"] = branches
    return base


def _port_schema(port: Port) -> Schema:
    kind = port.type.value if isinstance(port.type, DataType) else str(port.type)
    text = f"{kind} input" if port.required else f"{kind} input, default {port.default!r}"
    if port.doc:
        text += f": {port.doc}"
    return {"description": text, "type": ["string", "number", "boolean"]}


def _block_type_schema(cls: type[Block]) -> Schema:
    inputs: Schema = {"type": "object", "properties": {p.name: _port_schema(p) for p in cls.inputs}}
    required = [p.name for p in cls.inputs if p.required]
    family = cls.variadic
    if family is not None:
        numbers = "|".join(str(n) for n in range(family.start, family.start + family.maximum))
        inputs["patternProperties"] = {
            f"^{family.prefix}({numbers})$": {
                "description": f"{family.type.value if isinstance(family.type, DataType) else family.type} "
                               f"inputs {family.prefix}{family.start}.. ({family.minimum} to "
                               f"{family.maximum}, numbered without gaps)",
                "type": ["string", "number", "boolean"],
            }
        }
        required += family.names(family.minimum)
    if required:
        inputs["required"] = required
    inputs["additionalProperties"] = False

    outputs = {
        "type": "object",
        "properties": {
            p.name: {"description": _port_schema(p)["description"].replace(" input", " output"),
                     "type": "string"}
            for p in cls.outputs
        },
        "additionalProperties": False,
    }
    params: Schema = {"type": "object", "properties": {}}
    for param in cls.params:
        entry = dict(copy.deepcopy(dict(param.schema)))
        if param.doc and "description" not in entry:
            entry["description"] = param.doc
        if param.default is not None and "default" not in entry:
            entry["default"] = param.default
        params["properties"][param.name] = entry
    required_params = [p.name for p in cls.params if p.required]
    if required_params:
        params["required"] = required_params
    params["additionalProperties"] = False

    schema: Schema = {}
    if cls.doc:
        schema["description"] = cls.doc
    schema["properties"] = {"inputs": inputs, "outputs": outputs, "params": params}
    needed = [k for k, v in (("inputs", required), ("params", required_params)) if v]
    if needed:
        schema["required"] = needed
    return schema


def fill_defaults(value: Any, schema: Schema) -> Any:
    """A copy of `value` with the schema's defaults filled in for absent keys.

    Follows properties, additionalProperties, items, and the first
    oneOf/anyOf branch `value` is valid against. `value` must be valid.
    """
    for keyword in ("oneOf", "anyOf"):
        for branch in schema.get(keyword, []):
            if Draft202012Validator(branch).is_valid(value):
                value = fill_defaults(value, branch)
                break
    if isinstance(value, dict):
        out = dict(value)
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key in out:
                out[key] = fill_defaults(out[key], sub)
            elif "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in out:
                if key not in properties:
                    out[key] = fill_defaults(out[key], extra)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(item, schema["items"]) for item in value]
    return value
