"""Settings declared once: a frozen dataclass is a section's schema, defaults and model.

As block types declare their Ports and Params (`petra.blocks.base`), a section
declares its settings as a frozen dataclass whose fields say, through
`setting(...)`, their default, limits, unit and a one-line doc::

    @dataclass(frozen=True)
    class S7PlcConfig:
        ip: str = setting(doc="IP address or host name of the PLC.", minLength=1)
        poll_interval_ms: int = setting(100, unit="ms", minimum=1)

`schema_of(cls)` is the JSON Schema of the YAML mapping (what the loader
validates with and `petra schema` prints); `overrides_schema_of(cls)` that of
a mapping overriding some of them (no defaults); `parse(cls, data)` builds the
instance from the loader's validated dict. Both read the same declaration, so
a default is written once. Fields keep the YAML's units (`poll_interval_ms`);
a property gives the runtime its seconds.

Types map as: int, float, bool, str, Path (a string); `X | None` (optional, no
default in the schema); Literal and Enum (an enum of their values); nested
dataclasses (an object; the nested class's field defaults are the schema's
defaults, not the instance); `tuple[X, ...]` and `frozenset[X]` (arrays);
`dict[str, X]` (an object of X). A
field without a default is required. A field declared with `NOT_A_SETTING`
metadata is the model's own (e.g. the node id a storage row is stamped with):
it is not in the schema, and `parse` takes it as a keyword argument. Other
unions (`Token | str`) need a `schema=`; `parse` builds the one dataclass of
the union from a mapping and keeps any other value as it is.
"""

from __future__ import annotations

import copy
import dataclasses
import enum as enum_module
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from petra.config.schema_builders import Schema, array, obj

T = TypeVar("T")

_KEY = "petra.setting"
_SCALARS: dict[Any, str] = {int: "integer", float: "number", bool: "boolean", str: "string", Path: "string"}
NOT_A_SETTING: Mapping[str, Any] = {_KEY: None}
"""`dataclasses.field(metadata=NOT_A_SETTING)`: a model field that is not a YAML key."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """What `setting(...)` stores in a field's metadata.

    `limits` are JSON Schema keywords spelled as in the schema (minimum,
    maximum, minLength, pattern, enum, minItems, ...). `unit` is the unit of
    the YAML value (the key's name ends with it: `_ms`, `_s`). `schema`, when
    given, replaces the fragment generated from the field's type (for what a
    type cannot say, e.g. "a number or a mapping"). `schema_default` False
    keeps the default out of the schema: the model's value for an absent key
    that the loader does not fill in (db_number 0 for areas without one); any
    other value than True or False is the schema's default instead (`{}` for
    a nested mapping the loader should fill in). `key` is the YAML key when it
    is not the field's name (`delay_seconds` for the field `delay_s`).
    """

    doc: str = ""
    unit: str = ""
    limits: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    schema: Schema | None = None
    schema_default: Any = True
    key: str = ""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str = "",
    unit: str = "",
    schema: Schema | None = None,
    schema_default: Any = True,
    key: str = "",
    default_factory: Any = dataclasses.MISSING,
    **limits: Any,
) -> Any:
    """A dataclass field with its doc, unit and limits (see `Setting`); no default: required."""
    info = Setting(doc, unit, dict(limits), schema, schema_default, key)
    metadata = {_KEY: info}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def info_of(field: dataclasses.Field[Any]) -> Setting:
    """The field's `Setting` (an empty one for a plain dataclass field)."""
    found = field.metadata.get(_KEY)
    return found if isinstance(found, Setting) else Setting()


def default_of(field: dataclasses.Field[Any]) -> Any:
    """The field's default value, or `dataclasses.MISSING` when it is required."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def declared_default(cls: type[Any], name: str) -> Any:
    """The default `cls` declares for its field `name` (e.g. a tool's option that mirrors a setting)."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    value = default_of(field)
    if value is dataclasses.MISSING:
        raise LookupError(f"{cls.__name__}.{name} has no default")
    return value


def schema_of(cls: type[Any], description: str = "") -> Schema:
    """The JSON Schema of `cls`'s YAML mapping: a closed object, required = fields without default."""
    properties: Schema = {}
    required = []
    for field in _settings(cls):
        key = key_of(field)
        properties[key] = _field_schema(field, _hints(cls)[field.name])
        if default_of(field) is dataclasses.MISSING:
            required.append(key)
    return obj(properties, tuple(required), description)


def overrides_schema_of(cls: type[Any]) -> Schema:
    """The schema of a mapping that overrides some of `cls`'s settings: the same keys, types and limits.

    Every key is optional and none has a default or doc (the loader fills
    nothing in: an absent key keeps the value it would override, e.g. a
    signal's `history:` over `storage.history`).
    """
    schema = schema_of(cls)
    schema.pop("required", None)
    for key, fragment in schema["properties"].items():
        schema["properties"][key] = {k: v for k, v in fragment.items() if k not in ("default", "description")}
    return schema


def parse(cls: type[T], data: Mapping[str, Any], **fields: Any) -> T:
    """An instance of `cls` from a validated mapping; absent keys take the declared defaults.

    `fields` give the fields that are not settings (`NOT_A_SETTING`).
    """
    names = {key_of(field): field.name for field in _settings(cls)}
    unknown = [key for key in data if key not in names]
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting {', '.join(map(repr, unknown))}")
    hints = _hints(cls)
    values = {names[key]: _value(hints[names[key]], value) for key, value in data.items()}
    return cls(**values, **fields)


def key_of(field: dataclasses.Field[Any]) -> str:
    """The field's YAML key."""
    return info_of(field).key or field.name


def _settings(cls: type[Any]) -> list[dataclasses.Field[Any]]:
    """The fields of `cls` that are YAML keys."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get(_KEY, Setting()) is not None]


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(hint: Any) -> tuple[Any, bool]:
    """(X, True) for `X | None`, else (hint, False)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _type_schema(hint: Any) -> Schema:
    hint, _ = _optional(hint)
    origin = typing.get_origin(hint)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is Literal:
        return {"enum": list(typing.get_args(hint))}
    if isinstance(hint, type) and issubclass(hint, enum_module.Enum):
        return {"enum": [member.value for member in hint]}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return schema_of(hint)
    if origin in (tuple, frozenset):
        return array(_type_schema(typing.get_args(hint)[0]))
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(typing.get_args(hint)[1])}
    raise TypeError(f"no JSON Schema for the type {hint!r}")


def _field_schema(field: dataclasses.Field[Any], hint: Any) -> Schema:
    info = info_of(field)
    base = copy.deepcopy(info.schema) if info.schema is not None else _type_schema(hint)
    if "enum" in info.limits:
        base = {"enum": list(info.limits["enum"])}
    schema: Schema = {}
    for key, value in base.items():  # keep the builders' order: type, description, limits, default
        schema[key] = value
        if key in ("type", "enum") and info.doc:
            schema["description"] = info.doc
    if info.doc and "description" not in schema:
        schema = {"description": info.doc, **schema}
    schema.update({k: v for k, v in info.limits.items() if k != "enum"})
    default = default_of(field)
    if info.schema_default is not True and info.schema_default is not False:
        schema["default"] = info.schema_default
    elif info.schema_default and default is not dataclasses.MISSING and default is not None \
            and not dataclasses.is_dataclass(default):
        if isinstance(default, enum_module.Enum):
            default = default.value
        if isinstance(default, Path):
            default = str(default)
        schema["default"] = list(default) if isinstance(default, (tuple, frozenset)) else default
    return schema


def _value(hint: Any, value: Any) -> Any:
    hint, optional = _optional(hint)
    if value is None and optional:
        return None
    origin = typing.get_origin(hint)
    if hint is float:
        return float(value)
    if hint is Path:
        return Path(value)
    if hint in (int, bool, str) or origin is Literal:
        return value
    if isinstance(hint, type) and issubclass(hint, enum_module.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return parse(hint, value)
    if origin in (tuple, frozenset):
        item = typing.get_args(hint)[0]
        return origin(_value(item, v) for v in value)
    if origin is dict:
        item = typing.get_args(hint)[1]
        return {k: _value(item, v) for k, v in value.items()}
    if isinstance(hint, types.UnionType) and float in typing.get_args(hint) and isinstance(value, int) \
            and not isinstance(value, bool):
        return float(value)  # `float | str`: a YAML integer is the float
    if isinstance(hint, types.UnionType) and isinstance(value, Mapping):  # `Token | str`: a mapping is the class
        classes = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a) and isinstance(a, type)]
        if len(classes) == 1:
            return parse(classes[0], value)
    return value
