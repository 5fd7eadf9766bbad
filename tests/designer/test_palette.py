"""The palette comes from the registries and the generated schema: a new block type appears without designer code."""

from __future__ import annotations

from typing import ClassVar

from petra.blocks.base import REGISTRY, Block, Param, Port
from petra.config.schema import build_schema
from petra.designer.palette import palette
from petra.values import DataType


def test_every_registered_block_type_is_in_the_palette_with_its_ports_and_param_schema():
    found = {b["type"]: b for b in palette()["blocks"]}
    assert set(found) == set(REGISTRY.names())
    schema = build_schema()
    for name, entry in found.items():
        cls = REGISTRY.types[name]
        assert [p["name"] for p in entry["inputs"] if not p.get("variadic")] == [p.name for p in cls.inputs]
        assert [p["name"] for p in entry["outputs"]] == [p.name for p in cls.outputs]
        assert entry["params"] == schema["$defs"][f"block_{name}"]["properties"]["params"]
    assert found["ADD"]["variadic"]["prefix"] == "in" and found["ADD"]["variadic"]["minimum"] == 2


def test_a_block_type_registered_later_appears_in_the_palette():
    class Doubler(Block):
        type_name: ClassVar[str] = "TEST_DOUBLER"
        doc: ClassVar[str] = "Twice its input."
        inputs = (Port("in", DataType.FLOAT),)
        outputs = (Port("out", DataType.FLOAT),)
        params = (Param("gain", {"type": "number", "minimum": 0}, default=2.0, doc="the factor"),)

    REGISTRY.register(Doubler)
    try:
        entry = next(b for b in palette()["blocks"] if b["type"] == "TEST_DOUBLER")
        assert entry["description"] == "Twice its input."
        assert entry["params"]["properties"]["gain"] == {"type": "number", "minimum": 0, "description": "the factor",
                                                         "default": 2.0}
    finally:
        del REGISTRY.types["TEST_DOUBLER"]
    assert all(b["type"] != "TEST_DOUBLER" for b in palette()["blocks"])


def test_every_node_kind_has_the_schema_of_one_item_from_the_generated_schema():
    kinds = palette()["kinds"]
    schema = build_schema()["properties"]
    assert kinds["signal"]["schema"] == schema["signals"]["items"]
    assert kinds["alarm"]["schema"] == schema["alarms"]["properties"]["alarms"]["items"]
    assert kinds["mapping"]["types"]["modbus"]["schema"] == schema["modbus"]["items"]["properties"]["mappings"]["items"]
    assert "subscriptions" not in kinds["connection"]["types"]["mqtt"]["schema"]["properties"]
    assert {"security", "control", "metrics", "logging", "opcua"} <= set(kinds["section"]["types"])
