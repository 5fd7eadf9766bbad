import math
from pathlib import Path

import jsonschema
import pytest

import petra.blocks
from petra.blocks import REGISTRY, Block, BlockParamError, BlockRegistry, Param, catalog, catalog_markdown
from petra.blocks.base import check_param_value
from petra.values import DataType
from tests.blocks.conftest import evaluate, make

ALL_TYPES = {
    "AND", "OR", "XOR", "NOT", "GT", "GE", "LT", "LE", "EQ", "NE", "ADD", "MUL", "SUB", "DIV", "MIN", "MAX",
    "SCALE", "LIMIT", "SELECT", "MUX", "TON", "TOF", "TP", "CTU", "CTD", "CTUD", "R_TRIG", "F_TRIG", "SR",
    "RS", "PID", "MOVING_AVERAGE", "RATE_OF_CHANGE", "LOWPASS", "DEADBAND", "DATA_GENERATOR", "MOVE", "ABS",
}  # fmt: skip

MINIMAL_PARAMS = {
    "SCALE": {"in_min": 0, "in_max": 1, "out_min": 0, "out_max": 1},
    "TON": {"preset_ms": 100},
    "TOF": {"preset_ms": 100},
    "TP": {"preset_ms": 100},
    "CTU": {"preset": 1},
    "CTD": {"preset": 1},
    "CTUD": {"preset": 1},
    "PID": {"kp": 1},
    "MOVING_AVERAGE": {"window": 4},
    "LOWPASS": {"time_constant_s": 1},
    "DEADBAND": {"band": 0.1},
}

SAMPLE = {DataType.BOOL: True, DataType.INT: 1, DataType.FLOAT: 1.0, "numeric": 2.0, "any": 3}


def shipped() -> BlockRegistry:
    """The block types PETRA ships: a test may have added one of its own to the registry (tests.e2e.fault_block's
    TEST_RAISE_ONCE, imported by the task tests), which the catalog and its README are not about."""
    own = BlockRegistry()
    for cls in REGISTRY.types.values():
        if not cls.__module__.startswith("tests."):
            own.register(cls)
    return own


def test_every_block_type_is_registered_by_importing_petra_blocks():
    assert set(shipped().names()) == ALL_TYPES


@pytest.mark.parametrize("type_name", sorted(ALL_TYPES))
def test_every_block_type_evaluates_with_sample_inputs_and_gives_every_output(type_name):
    cls = REGISTRY.types[type_name]
    connected = [p.name for p in cls.inputs if p.required]
    if cls.variadic is not None:
        connected += cls.variadic.names(cls.variadic.minimum)
    block = make(type_name, MINIMAL_PARAMS.get(type_name), connected)
    ports = cls.input_ports(connected)
    inputs = {p.name: SAMPLE[p.type] for p in ports if p.required}
    result = evaluate(block, inputs, now=1.0)
    if len(cls.outputs) > 1:
        assert isinstance(result, tuple)
        assert len(result) == len(cls.outputs)
    types = block.output_types({p.name: DataType.FLOAT for p in ports})
    assert set(types) == {p.name for p in cls.outputs}


@pytest.mark.parametrize("type_name", sorted(ALL_TYPES))
def test_every_block_type_documents_itself(type_name):
    cls = REGISTRY.types[type_name]
    assert cls.doc
    assert cls.__doc__
    assert cls.outputs


@pytest.mark.parametrize("type_name", sorted(ALL_TYPES))
def test_every_param_schema_is_valid_json_schema_and_accepts_its_default(type_name):
    for param in REGISTRY.types[type_name].params:
        jsonschema.Draft202012Validator.check_schema(param.schema)
        if param.default is not None:
            jsonschema.validate(param.default, param.schema)


def test_readme_is_the_current_catalog_markdown():
    readme = Path(petra.blocks.__file__).with_name("README.md").read_text()
    assert readme == catalog_markdown(shipped()), "regenerate petra/blocks/README.md from catalog_markdown()"


def test_catalog_lists_ports_and_params_as_data():
    entries = {e["type"]: e for e in catalog()}
    ton = entries["TON"]
    assert [i["name"] for i in ton["inputs"]] == ["in", "pt_ms"]
    assert ton["inputs"][1]["default"] == -1.0
    assert [o["name"] for o in ton["outputs"]] == ["q", "et_ms"]
    assert ton["params"][0]["required"] is True
    mux = entries["MUX"]
    assert mux["inputs"][1]["variadic"] == {"prefix": "in", "start": 0, "minimum": 2, "maximum": 16}


def test_unknown_param_is_refused_with_its_name():
    with pytest.raises(BlockParamError) as info:
        make("TON", {"preset_ms": 1, "preset": 2})
    assert info.value.param == "preset"
    assert "unknown" in str(info.value)


def test_missing_required_param_is_refused_with_its_name():
    with pytest.raises(BlockParamError) as info:
        make("LOWPASS", {})
    assert info.value.param == "time_constant_s"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "number"}, True),
        ({"type": "number"}, "1.0"),
        ({"type": "number"}, math.nan),
        ({"type": "number"}, math.inf),
        ({"type": "integer"}, 1.5),
        ({"type": "boolean"}, 1),
        ({"type": "string"}, 3),
        ({"type": "number", "minimum": 0}, -0.5),
        ({"type": "number", "exclusiveMinimum": 0}, 0),
        ({"type": "number", "maximum": 1}, 2),
        ({"type": "number", "exclusiveMaximum": 1}, 1),
        ({"type": "string", "enum": ["a", "b"]}, "c"),
    ],
)
def test_param_values_are_checked_against_their_schema(schema, value):
    with pytest.raises(BlockParamError) as info:
        check_param_value("X", Param("p", schema, required=True), value)
    assert info.value.param == "p"
    assert "'p'" in str(info.value)


def test_an_integral_float_is_accepted_as_an_integer():
    assert check_param_value("X", Param("p", {"type": "integer"}), 3.0) == 3
    assert make("MOVING_AVERAGE", {"window": 3.0}).p["window"] == 3


def test_an_optional_param_may_be_null():
    assert make("DATA_GENERATOR", {"seed": None}).p["seed"] is None


def test_a_new_block_type_is_one_small_class():
    class Double(Block):
        """Twice its input."""

        type_name = "TEST_DOUBLE"
        inputs = (petra.blocks.Port("in", petra.blocks.NUMERIC),)
        outputs = (petra.blocks.Port("out", petra.blocks.NUMERIC),)

        def expressions(self, args):
            return {"out": f"({args['in']} * 2)"}

    registry = petra.blocks.BlockRegistry()
    registry.register(Double)
    assert [e["type"] for e in catalog(registry)] == ["TEST_DOUBLE"]
    assert "TEST_DOUBLE" in catalog_markdown(registry)
    assert evaluate(Double("d", {}, ["in"]), {"in": 4}) == 8
