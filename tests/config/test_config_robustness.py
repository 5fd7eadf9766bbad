"""Whatever the file contains, loading it ends in a PlantConfig or a ConfigError."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petra.blocks.base import Block, BlockRegistry, Port
from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.values import DataType
from tests.config.support import original_example_text

ORIGINAL = original_example_text()
SECRETS = {"MQTT_USERNAME": "u", "MQTT_PASSWORD": "p", "CLICKHOUSE_PASSWORD": "c"}
LINES = ORIGINAL.splitlines()

replacements = st.sampled_from(["", "x", "1", "-1", "true", "[]", "{}", "- a", "null", "GTE", "in3: x",
                                "  extra: 1", "${NOPE}", "name: temperature", "'unterminated"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(LINES) - 1), replacements), min_size=1, max_size=4))
def test_a_mutated_example_loads_or_raises_config_error_never_anything_else(edits):
    lines = list(LINES)
    for index, text in edits:
        indent = len(lines[index]) - len(lines[index].lstrip())
        key = lines[index].strip().split(":", 1)[0]
        keep_key = ":" in lines[index] and text[:1] not in " -"
        lines[index] = " " * indent + (f"{key}: {text}" if keep_key else text)
    try:
        load_config_text("\n".join(lines) + "\n", "m.yaml", SECRETS)
    except ConfigError as exc:
        assert exc.problems
        assert all(str(p).startswith("m.yaml") for p in exc.problems)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.floats(allow_nan=False) | st.sampled_from(
        ["", "x", "GT", "in1", "temperature", "75.0", "DB", "read", "float", "a@prev"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "type", "inputs", "outputs", "params", "signal", "in1", "x"]), inner,
        max_size=3),
    max_leaves=6,
)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


BASE = yaml.safe_load(ORIGINAL.replace("${", "$${"))
ALL_PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), values)
def test_any_subtree_replaced_by_any_value_gives_a_config_or_a_config_error(path, value):
    data = copy.deepcopy(BASE)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    try:
        load_config_text(yaml.safe_dump(data), "m.yaml", {})
    except ConfigError as exc:
        assert exc.problems


class Brittle(Block):
    """A plugin block type whose own code fails while the config is checked."""

    type_name = "BRITTLE"
    inputs = (Port("in", DataType.FLOAT),)
    outputs = (Port("out", DataType.FLOAT),)

    def output_types(self, inputs):
        raise RuntimeError("plugin bug")


def test_a_plugin_block_that_fails_while_checked_is_a_config_error_not_a_traceback():
    registry = BlockRegistry()
    registry.register(Brittle)
    with pytest.raises(ConfigError) as info:
        load_config_text("blocks:\n  - {name: b, type: BRITTLE, inputs: {in: 1.0}, outputs: {out: y}}\n",
                         "p.yaml", {}, registry=registry)
    assert [str(p) for p in info.value.problems] == ["p.yaml:2:5: blocks[0]: block 'b' cannot be built: plugin bug"]
