"""The settings declaration layer: one frozen dataclass gives the schema, the defaults and the model."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Literal

import pytest
from jsonschema import Draft202012Validator

from petra.config.schema import fill_defaults
from petra.config.settings import NOT_A_SETTING, info_of, parse, schema_of, setting


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass(frozen=True)
class Inner:
    """A nested mapping."""

    host: str = setting(doc="Where to connect.", minLength=1)
    port: int = setting(502, minimum=1, maximum=65535)


@dataclass(frozen=True)
class Outer:
    """Every kind of field the layer maps."""

    name: str = setting(doc="The name.", pattern=r"^[a-z]+$")
    period_ms: int = setting(100, unit="ms", doc="How often.", minimum=1)
    gain: float = setting(1.0)
    enabled: bool = setting(True)
    mode: Literal["fast", "slow"] = setting("fast")
    colour: Colour = setting(default=Colour.RED)
    area: str = setting("DB", enum=("DB", "MK"))
    note: str | None = setting(None, doc="Optional.")
    inner: Inner | None = None
    items: tuple[Inner, ...] = setting(())
    tags: frozenset[str] = setting(frozenset())
    number: int = setting(0, schema_default=False, minimum=1)

    @property
    def period_s(self) -> float:
        return self.period_ms / 1000.0


def test_the_schema_is_generated_from_the_declared_fields():
    schema = schema_of(Outer, "Outer things.")
    Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["description"] == "Outer things."
    assert schema["required"] == ["name"]
    assert props["name"] == {"type": "string", "description": "The name.", "pattern": "^[a-z]+$"}
    assert props["period_ms"] == {"type": "integer", "description": "How often.", "minimum": 1, "default": 100}
    assert props["gain"] == {"type": "number", "default": 1.0}
    assert props["enabled"] == {"type": "boolean", "default": True}
    assert props["mode"] == {"enum": ["fast", "slow"], "default": "fast"}
    assert props["colour"] == {"enum": ["red", "green"], "default": "red"}
    assert props["area"] == {"enum": ["DB", "MK"], "default": "DB"}
    assert props["note"] == {"type": "string", "description": "Optional."}
    assert props["inner"]["required"] == ["host"] and props["inner"]["properties"]["port"]["default"] == 502
    assert props["items"] == {"type": "array", "items": schema_of(Inner), "default": []}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["number"] == {"type": "integer", "minimum": 1}


def test_parse_builds_the_frozen_model_with_the_declared_defaults():
    model = parse(Outer, {"name": "pump", "gain": 2, "colour": "green", "inner": {"host": "plc"},
                          "items": [{"host": "a", "port": 10}], "tags": ["x", "y"]})
    assert model == Outer(name="pump", gain=2.0, colour=Colour.GREEN, inner=Inner("plc"),
                          items=(Inner("a", 10),), tags=frozenset({"x", "y"}))
    assert isinstance(model.gain, float) and model.period_s == 0.1 and model.number == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.name = "other"  # type: ignore[misc]


def test_parse_takes_what_the_loader_filled_in_from_the_same_schema():
    schema = schema_of(Outer)
    filled = fill_defaults({"name": "pump", "items": [{"host": "a"}]}, schema)
    assert parse(Outer, filled) == parse(Outer, {"name": "pump", "items": [{"host": "a"}]})


def test_parse_refuses_a_key_that_is_not_declared():
    with pytest.raises(ValueError, match="'colour_code'"):
        parse(Outer, {"name": "pump", "colour_code": 3})


def test_a_default_declared_once_changes_both_the_schema_and_the_parsed_model():
    def declare(default: int) -> type:
        return make_dataclass("Polling", [("poll_ms", int, setting(default, unit="ms", minimum=1))], frozen=True)

    for default in (100, 250):
        cls = declare(default)
        schema = schema_of(cls)
        assert schema["properties"]["poll_ms"]["default"] == default
        assert parse(cls, {}).poll_ms == default
        assert parse(cls, fill_defaults({}, schema)).poll_ms == default


def test_the_unit_and_the_doc_are_kept_with_the_field():
    info = info_of(next(f for f in dataclasses.fields(Outer) if f.name == "period_ms"))
    assert (info.unit, info.doc, dict(info.limits)) == ("ms", "How often.", {"minimum": 1})


@dataclass(frozen=True)
class Stamped:
    node_id: str = dataclasses.field(metadata=NOT_A_SETTING)
    data_dir: Path = setting(Path("./data"))


def test_a_path_is_a_string_in_the_schema_and_a_path_in_the_model():
    assert schema_of(Stamped)["properties"]["data_dir"] == {"type": "string", "default": "data"}
    assert parse(Stamped, {"data_dir": "/var/lib/petra"}, node_id="n").data_dir == Path("/var/lib/petra")


def test_a_field_that_is_not_a_setting_is_not_in_the_schema_and_is_given_to_parse():
    assert list(schema_of(Stamped)["properties"]) == ["data_dir"]
    assert parse(Stamped, {}, node_id="n") == Stamped("n")
    with pytest.raises(ValueError, match="'node_id'"):
        parse(Stamped, {"node_id": "from-yaml"})


@dataclass(frozen=True)
class Keys:
    keys: tuple[Inner | str, ...] = setting((), schema={"type": "array"})


def test_a_union_of_a_dataclass_and_a_scalar_parses_mappings_into_the_dataclass():
    assert schema_of(Keys)["properties"]["keys"] == {"type": "array", "default": []}
    assert parse(Keys, {"keys": ["bare", {"host": "h"}]}).keys == ("bare", Inner("h"))


@dataclass(frozen=True)
class Renamed:
    delay_s: float = setting(0.0, key="delay_seconds", unit="s", minimum=0)
    limit: float | str | None = setting(None, schema={"type": ["number", "string"]})
    chains: dict[str, tuple[str, ...]] = setting(default_factory=dict)
    inner: Inner | None = setting(None, schema_default={})


def test_a_field_named_otherwise_in_yaml_keeps_its_name_in_the_model():
    schema = schema_of(Renamed)
    assert list(schema["properties"]) == ["delay_seconds", "limit", "chains", "inner"]
    assert parse(Renamed, {"delay_seconds": 3}).delay_s == 3.0
    with pytest.raises(ValueError, match="'delay_s'"):
        parse(Renamed, {"delay_s": 3})


def test_dicts_unions_with_float_and_a_schema_default_other_than_the_model_s():
    props = schema_of(Renamed)["properties"]
    assert props["chains"] == {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                               "default": {}}
    assert props["inner"]["default"] == {} and props["limit"] == {"type": ["number", "string"]}
    parsed = parse(Renamed, {"limit": 80, "chains": {"a": ["x", "y"]}})
    assert parsed.limit == 80.0 and isinstance(parsed.limit, float) and parsed.chains == {"a": ("x", "y")}
    assert parse(Renamed, {"limit": "sp_signal"}).limit == "sp_signal"


def test_declared_default_is_the_fields_default_and_a_required_field_has_none() -> None:
    import pytest

    from petra.config.settings import declared_default
    from petra.drivers.s7.config import S7PlcConfig

    assert declared_default(S7PlcConfig, "port") == 102
    with pytest.raises(LookupError, match=r"S7PlcConfig\.ip has no default"):
        declared_default(S7PlcConfig, "ip")


def test_the_field_tools_options_that_mirror_a_setting_default_to_its_declaration() -> None:
    from petra.cli import build_parser
    from petra.config.settings import declared_default
    from petra.drivers.modbus.config import ModbusConnectionConfig, SerialSettings
    from petra.drivers.s7.config import S7PlcConfig

    s7 = build_parser().parse_args(["s7", "read"])
    assert (s7.port, s7.rack, s7.slot) == tuple(declared_default(S7PlcConfig, n) for n in ("port", "rack", "slot"))
    modbus = build_parser().parse_args(["modbus", "read"])
    assert modbus.port == declared_default(ModbusConnectionConfig, "port")
    assert (modbus.baudrate, modbus.parity) == (declared_default(SerialSettings, "baudrate"),
                                                declared_default(SerialSettings, "parity"))
