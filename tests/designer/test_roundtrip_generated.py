"""Random valid plants survive YAML -> graph -> YAML with the same model, comments and all (hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petra.designer.graph import build_graph
from petra.designer.roundtrip import apply_graph
from tests.designer.support import model

NUMERIC = ("GT", "LT", "ADD", "MUL", "SUB", "MAX")
BOOLEAN = ("AND", "OR", "XOR")
OUT_TYPE = {"GT": "bool", "LT": "bool", "ADD": "float", "MUL": "float", "SUB": "float", "MAX": "float",
            "AND": "bool", "OR": "bool", "XOR": "bool", "NOT": "bool", "TON": "bool", "LOWPASS": "float"}


@st.composite
def plants(draw: st.DrawFn) -> dict[str, Any]:
    """A plant of declared signals and blocks, each block reading signals that exist (declared or written by an
    earlier block) of the type its inputs take, so every plant is valid."""
    signals = [{"name": f"s{i}", "type": draw(st.sampled_from(["bool", "float"]))}
               for i in range(draw(st.integers(1, 5)))]
    for signal in signals:
        if draw(st.booleans()):
            signal["initial"] = draw(st.booleans()) if signal["type"] == "bool" else draw(
                st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 2)))
        if draw(st.booleans()):
            signal["unit"] = draw(st.sampled_from(["bar", "°C", "%", "m3/h"]))
    available = {s["name"]: s["type"] for s in signals}
    blocks = []
    for index in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from([*NUMERIC, *BOOLEAN, "NOT", "TON", "LOWPASS"]))
        wants = "bool" if kind in (*BOOLEAN, "NOT", "TON") else "float"
        pool = sorted(n for n, t in available.items() if t == wants or (wants == "float" and t == "bool"))

        def source(pool: list[str] = pool, wants: str = wants) -> Any:
            if pool and draw(st.booleans()):
                return draw(st.sampled_from(pool))
            return "true" if wants == "bool" else str(draw(st.integers(-50, 50))) + ".5"

        ports = {"NOT": ["in"], "TON": ["in"], "LOWPASS": ["in"]}.get(kind, ["in1", "in2"])
        block: dict[str, Any] = {"name": f"b{index}", "type": kind, "inputs": {p: source() for p in ports}}
        out = {"TON": "q"}.get(kind, "out")
        block["outputs"] = {out: f"w{index}"}
        if kind == "TON":
            block["params"] = {"preset_ms": draw(st.integers(1, 5000))}
        if kind == "LOWPASS":
            block["params"] = {"time_constant_s": draw(st.floats(0.1, 60).map(lambda f: round(f, 1)))}
        blocks.append(block)
        available[f"w{index}"] = OUT_TYPE[kind]
    plant: dict[str, Any] = {"scan_time_ms": draw(st.sampled_from([20, 100, 500])), "signals": signals,
                             "blocks": blocks}
    if draw(st.booleans()) and blocks:
        plant["alarms"] = {"alarms": [{"id": "a1", "signal": blocks[0]["outputs"][next(iter(blocks[0]["outputs"]))],
                                       "condition": "above", "setpoint": 1.0}]}
    return plant


def written(plant: dict[str, Any], flow: bool | None, comments: bool) -> str:
    text = yaml.safe_dump(plant, sort_keys=False, default_flow_style=flow, allow_unicode=True, width=100)
    if not comments:
        return text
    out = []
    for number, line in enumerate(text.splitlines(keepends=True)):
        if line.lstrip().startswith("- ") and number % 3 == 0:
            out.append(" " * (len(line) - len(line.lstrip())) + f"# comment {number}\n")
        out.append(line.rstrip("\n") + (f"  # note {number}\n" if number % 4 == 1 and ": " in line else "\n"))
    return "".join(out)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plants(), st.sampled_from([None, False]), st.booleans())
def test_a_random_plant_survives_yaml_graph_yaml_unchanged_and_written_anew_with_the_same_model(plant, flow, comments):
    text = written(plant, flow, comments)
    graph = build_graph(text).to_json()
    assert apply_graph(text, graph) == text
    assert model(apply_graph("", graph)) == model(text)


@SETTINGS
@given(plants(), st.booleans(), st.data())
def test_a_random_edit_gives_the_model_of_the_edited_plant_and_keeps_every_comment(plant, comments, data):
    text = written(plant, False, comments)
    graph = build_graph(text).to_json()
    expected = copy.deepcopy(plant)
    blocks = [n for n in graph["nodes"] if n["kind"] == "block"]
    if blocks:
        index = data.draw(st.integers(0, len(blocks) - 1))
        literal = data.draw(st.integers(-9, 9))
        props = blocks[index]["props"]
        port = next(iter(props["inputs"]))
        value = "true" if props["type"] in (*BOOLEAN, "NOT", "TON") else f"{literal}.25"
        props["inputs"][port] = value
        expected["blocks"][index]["inputs"][port] = value
    signal = next(n for n in graph["nodes"] if n["id"] == "signal:s0")
    signal["props"]["description"] = "edited"
    expected["signals"][0]["description"] = "edited"
    out = apply_graph(text, graph)
    assert model(out) == model(yaml.safe_dump(expected, sort_keys=False, allow_unicode=True))
    kept = [line.strip() for line in out.splitlines()]
    for line in text.splitlines():
        if line.strip().startswith("#"):
            assert line.strip() in kept
