"""The designer's palette: every block type and every node kind, generated from PETRA's registries.

Block types come from the block registry (ports) and the generated JSON Schema (each type's
params with their defaults and descriptions: `petra schema`'s ``$defs``); node kinds from the
schema of each config section. A new block type or section appears here without a line of
designer code.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from petra.config.schema import build_schema, default_registry
from petra.designer.graph import CHILDREN, NOT_SECTIONS, TIERS
from petra.designer.ports import port_json, type_name

Schema = dict[str, Any]


def _without(schema: Schema, keys: tuple[str, ...]) -> Schema:
    out = copy.deepcopy(schema)
    for key in keys:
        out.get("properties", {}).pop(key, None)
    if "required" in out:
        out["required"] = [k for k in out["required"] if k not in keys]
    return out


def _items(schema: Schema) -> Schema:
    return dict(schema.get("items", {}))


def _entry(section: str, schema: Schema) -> dict[str, Any]:
    return {"section": section, "schema": schema}


def block_entries(schema: Schema) -> list[dict[str, Any]]:
    registry = default_registry()
    out = []
    for name in registry.names():
        cls = registry.types[name]
        details = schema.get("$defs", {}).get(f"block_{name}", {})
        entry: dict[str, Any] = {
            "type": name,
            "description": cls.doc,
            "inputs": [port_json(p) for p in cls.inputs],
            "outputs": [{"name": p.name, "type": type_name(p.type), **({"description": p.doc} if p.doc else {})}
                        for p in cls.outputs],
            "params": details.get("properties", {}).get("params", {"type": "object", "properties": {}}),
        }
        if cls.variadic is not None:
            family = cls.variadic
            entry["variadic"] = {"prefix": family.prefix, "type": type_name(family.type), "start": family.start,
                                 "minimum": family.minimum, "maximum": family.maximum}
            entry["inputs"] += [{"name": n, "type": type_name(family.type), "required": True, "variadic": True}
                                for n in family.names(family.minimum)]
        out.append(entry)
    return out


def kind_entries(schema: Schema) -> dict[str, Any]:
    props = schema["properties"]
    alarms = props["alarms"]["properties"]
    chains = alarms["escalation_chains"]
    s7 = props["s7"]["oneOf"][0]
    mqtt = props["mqtt"]
    kinds: dict[str, Any] = {
        "signal": _entry("signals", _items(props["signals"])),
        "block": _entry("blocks", _without(_items(props["blocks"]), ())),
        "task": _entry("tasks", _items(props["tasks"])),
        "alarm": _entry("alarms.alarms", _items(alarms["alarms"])),
        "contact": _entry("alarms.contacts", _items(alarms["contacts"])),
        "escalation": _entry("alarms.escalation_chains", {
            "type": "object", "description": chains.get("description", ""),
            "properties": {"alarm": {"type": "string", "description": "The alarm id this chain escalates."},
                           "contacts": chains["additionalProperties"]},
            "required": ["alarm", "contacts"]}),
        "action": _entry("twilio.actions", _items(props["twilio"]["properties"]["actions"])),
        "screen": _entry("web.screens", _items(props["web"]["properties"]["screens"])),
    }
    kinds["block"]["schema"].pop("allOf", None)
    kinds["notifier"] = {**_entry("twilio", _without(props["twilio"], ("actions",))),
                         "types": {"twilio": _entry("twilio", _without(props["twilio"], ("actions",))),
                                   "email": _entry("email", props["email"])}}
    connections = {
        "mqtt": _entry("mqtt", _without(mqtt, CHILDREN["mqtt"])),
        "s7": _entry("s7", _without(s7, ("mappings",))),
        "modbus": _entry("modbus", _without(_items(props["modbus"]), ("mappings",))),
    }
    kinds["connection"] = {**connections["mqtt"], "types": connections}
    mappings = {
        "s7": _entry("s7.mappings", _items(s7["properties"]["mappings"])),
        "modbus": _entry("modbus.mappings", _items(_items(props["modbus"])["properties"]["mappings"])),
        "subscription": _entry("mqtt.subscriptions", _items(mqtt["properties"]["subscriptions"])),
        "publish": _entry("mqtt.publish_signals", _items(mqtt["properties"]["publish_signals"])),
        "group": _entry("mqtt.publish_groups", _items(mqtt["properties"]["publish_groups"])),
    }
    kinds["mapping"] = {**mappings["s7"], "types": mappings}
    storage = props["storage"]["properties"]
    tiers = {tier: _entry(f"storage.{tier}", storage[tier]) for tier in TIERS if tier in storage}
    kinds["tier"] = {**tiers["local"], "types": tiers}
    sections = {key: _entry(key, _without(value, CHILDREN.get(key, ()))) for key, value in props.items()
                if key not in NOT_SECTIONS and isinstance(value, dict) and value.get("type") == "object"}
    sections["plant"] = _entry("", {"type": "object", "properties": {k: props[k] for k in ("node_id",
                                                                                           "scan_time_ms")}})
    kinds["section"] = {**sections["plant"], "types": sections}
    return kinds


@functools.lru_cache(maxsize=4)
def _palette(block_names: tuple[str, ...]) -> dict[str, Any]:
    schema = build_schema()
    return {"blocks": block_entries(schema), "kinds": kind_entries(schema)}


def palette() -> dict[str, Any]:
    """The palette as `GET /v1/designer/palette` answers it (built once per set of block types)."""
    return copy.deepcopy(_palette(tuple(default_registry().names())))
