"""The generated JSON Schema: valid, deterministic, and describing block types."""

from __future__ import annotations

import json

import yaml
from jsonschema import Draft202012Validator

from petra.blocks.base import Block, BlockRegistry, Param, Port, Variadic
from petra.config.schema import build_schema
from petra.values import DataType
from tests.config.support import ORIGINAL_EXAMPLE


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(build_schema())


def test_the_schema_is_deterministic_json():
    assert json.dumps(build_schema(), indent=2) == json.dumps(build_schema(), indent=2)


def test_the_schema_validates_the_original_example():
    data = yaml.safe_load(ORIGINAL_EXAMPLE.read_text())
    errors = list(Draft202012Validator(build_schema()).iter_errors(data))
    assert errors == []


def test_the_schema_describes_block_params_and_ports():
    schema = build_schema()
    ton = schema["$defs"]["block_TON"]["properties"]
    assert ton["params"]["properties"]["preset_ms"]["minimum"] == 0
    assert ton["params"]["required"] == ["preset_ms"]
    assert set(ton["outputs"]["properties"]) == {"q", "et_ms"}
    assert "GE" in schema["properties"]["blocks"]["items"]["properties"]["type"]["enum"]


def test_the_schema_rejects_a_bad_block_param_when_used_by_an_editor():
    data = {"blocks": [{"name": "t", "type": "TON", "inputs": {"in": "x"}, "params": {"preset_ms": -1}}]}
    assert not Draft202012Validator(build_schema()).is_valid(data)


class Pair(Block):
    """A test block type built only from the Block contract."""

    type_name = "PAIR"
    inputs = (Port("gate", DataType.BOOL, default=True),)
    variadic = Variadic("x", DataType.FLOAT, minimum=2, maximum=3)
    outputs = (Port("sum", DataType.FLOAT),)
    params = (Param("gain", {"type": "number", "minimum": 0}, default=1.0),)


def test_a_variadic_family_becomes_a_pattern_with_its_first_names_required():
    registry = BlockRegistry()
    registry.register(Pair)
    pair = build_schema(registry)["$defs"]["block_PAIR"]["properties"]
    assert list(pair["inputs"]["patternProperties"]) == ["^x(1|2|3)$"]
    assert pair["inputs"]["required"] == ["x1", "x2"]
    assert pair["params"]["properties"]["gain"] == {"type": "number", "minimum": 0, "default": 1.0}


def test_the_loader_works_against_any_registry_through_the_block_contract():
    from petra.config.loader import load_config_text

    registry = BlockRegistry()
    registry.register(Pair)
    config = load_config_text(
        "blocks:\n  - {name: p, type: PAIR, inputs: {x1: 1, x2: a}, outputs: {sum: s}}\n", "p.yaml", {},
        registry=registry,
    )
    assert [i.port for i in config.blocks[0].inputs] == ["gate", "x1", "x2"]
    assert config.signal("s").type is DataType.FLOAT
