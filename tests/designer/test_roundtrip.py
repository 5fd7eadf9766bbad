"""YAML -> graph -> YAML: every example survives, and an edit changes only the item it edits."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from petra.config.loader import load_config_text
from petra.designer.graph import build_graph
from petra.designer.roundtrip import apply_graph
from tests.designer.support import ENV, EXAMPLES, changed_lines, model

IDS = [p.name for p in EXAMPLES]


def graph_of(text: str) -> dict:
    return build_graph(text).to_json()


def node(graph: dict, node_id: str) -> dict:
    return next(n for n in graph["nodes"] if n["id"] == node_id)


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_every_example_survives_yaml_graph_yaml_byte_for_byte(path: Path):
    text = path.read_text(encoding="utf-8")
    assert apply_graph(text, graph_of(text)) == text


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_the_graph_alone_holds_the_whole_config_written_anew_from_nothing_it_loads_to_the_same_model(path: Path):
    text = path.read_text(encoding="utf-8")
    rebuilt = apply_graph("", graph_of(text))
    assert model(rebuilt) == model(text)


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_editing_one_item_changes_only_its_lines_and_keeps_every_comment_elsewhere(path: Path):
    text = path.read_text(encoding="utf-8")
    graph = graph_of(text)
    items = [n for n in graph["nodes"] if n["path"] and n["kind"] in ("block", "signal", "alarm")]
    target = items[len(items) // 2]
    edited = copy.deepcopy(graph)
    node(edited, target["id"])["props"]["description" if target["kind"] != "block" else "task"] = "edited"
    if target["kind"] == "block":
        node(edited, target["id"])["props"]["task"] = "main"
    out = apply_graph(text, edited)
    lines = text.splitlines()
    first = target["line"] - 1
    touched = changed_lines(text, out)
    assert touched, "the edit changed nothing"
    # only the edited item's own lines (it starts at its line, and ends before the next item or section)
    assert min(touched) >= first - 1
    following = [n["line"] - 1 for n in graph["nodes"] if n.get("line", 0) - 1 > first]
    assert max(touched) < (min(following) if following else len(lines))
    outside = [line for i, line in enumerate(lines) if i not in touched]
    assert all(line in out.splitlines() for line in outside if line.lstrip().startswith("#"))
    before, after = model(text), model(out)
    if target["kind"] == "block":
        assert before["blocks"] == after["blocks"]  # task main is the default: same model
    else:
        assert before["blocks"] == after["blocks"] and before["tasks"] == after["tasks"]


COMMENTED = """\
# A plant with comments everywhere.
scan_time_ms: 100   # the scan

signals:
  # set-points first
  - name: sp          # the set-point
    type: float
    initial: 50.0
  - {name: enable, type: bool, initial: true}   # flow style, with a comment

blocks:
  # --- first chain ---
  - name: gen
    type: DATA_GENERATOR
    inputs: {enable: enable}      # runs while enabled
    outputs: {sine_out: wave}
    params:
      frequency: 0.5   # Hz
      amplitude: 2.0
  # --- second chain ---
  - name: high
    type: GT
    inputs:
      in1: wave       # from gen
      in2: "1.5"      # quoted literal
    outputs:
      out: wave_high

# the end
"""


def test_a_changed_parameter_keeps_the_comments_of_its_own_block_and_everything_else():
    graph = graph_of(COMMENTED)
    node(graph, "block:gen")["props"]["params"]["frequency"] = 2.0
    out = apply_graph(COMMENTED, graph)
    assert "      frequency: 2.0   # Hz\n" in out
    assert out.replace("frequency: 2.0", "frequency: 0.5") == COMMENTED
    assert model(out)["blocks"][0].params["frequency"] == 2.0


def test_a_deleted_block_takes_only_its_lines_and_the_comment_above_the_next_one_stays():
    graph = graph_of(COMMENTED)
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "block:gen"]
    graph["edges"] = [e for e in graph["edges"] if "block:gen" not in (e["from"]["node"], e["to"]["node"])]
    out = apply_graph(COMMENTED, graph)
    assert "name: gen" not in out and "# --- first chain ---" in out and "# --- second chain ---" in out
    assert "# the end" in out and "# the set-point" in out
    assert [b.name for b in model(out, {})["blocks"]] == ["high"]


def test_a_new_block_is_appended_after_the_last_one_in_the_files_indentation():
    graph = graph_of(COMMENTED)
    graph["nodes"].append({"id": "block:low", "kind": "block", "type": "LT",
                           "props": {"name": "low", "type": "LT", "inputs": {"in1": "wave", "in2": "-1.5"},
                                     "outputs": {"out": "wave_low"}}})
    out = apply_graph(COMMENTED, graph)
    assert out.startswith(COMMENTED.split("\n# the end")[0])
    assert "\n  - name: low\n    type: LT\n" in out
    config = load_config_text(out, "plant.yaml", ENV)
    assert [b.name for b in config.blocks] == ["gen", "high", "low"]


def test_a_wire_drawn_and_a_wire_removed_become_names_in_the_blocks_inputs():
    graph = graph_of(COMMENTED)
    graph["edges"] = [e for e in graph["edges"] if e["to"] != {"node": "block:high", "port": "in1"}]
    graph["edges"].append({"id": "new", "kind": "wire", "from": {"node": "signal:sp", "port": "out"},
                           "to": {"node": "block:high", "port": "in1"}})
    out = apply_graph(COMMENTED, graph)
    config = load_config_text(out, "plant.yaml", ENV)
    assert config.blocks[1].inputs[0].signal == "sp"
    assert "      in2: \"1.5\"      # quoted literal\n" in out


def test_renaming_a_signal_renames_every_reference_to_it():
    graph = graph_of(COMMENTED)
    node(graph, "signal:sp")["props"]["name"] = "setpoint"
    node(graph, "block:gen")  # untouched by the page: the server follows the rename
    out = apply_graph(COMMENTED, graph)
    assert "  - name: setpoint          # the set-point\n" in out or "name: setpoint" in out
    assert "sp" not in {s.name for s in model(out)["signals"]}


def test_an_implicit_signal_is_declared_once_the_page_gives_it_a_unit():
    graph = graph_of(COMMENTED)
    wave = node(graph, "signal:wave")
    assert wave["implicit"] and wave["path"] is None
    assert apply_graph(COMMENTED, graph) == COMMENTED
    wave["props"]["unit"] = "bar"
    out = apply_graph(COMMENTED, graph)
    assert {s.name: s.unit for s in model(out)["signals"]}["wave"] == "bar"


def test_a_partial_graph_changes_the_nodes_it_names_and_removes_only_those_listed():
    graph = graph_of(COMMENTED)
    gen = node(graph, "block:gen")
    gen["props"]["params"]["amplitude"] = 3.0
    out = apply_graph(COMMENTED, {"partial": True, "nodes": [gen], "removed": ["block:high"]})
    blocks = model(out)["blocks"]
    assert [b.name for b in blocks] == ["gen"] and blocks[0].params["amplitude"] == 3.0
    assert "enable" in {s.name for s in model(out)["signals"]}


def test_removing_every_block_leaves_an_empty_list_not_a_null():
    graph = graph_of(COMMENTED)
    graph["nodes"] = [n for n in graph["nodes"] if n["kind"] != "block"]
    out = apply_graph(COMMENTED, graph)
    assert model(out)["blocks"] == ()
    assert re.search(r"\nblocks:( *#.*)?\n(\s*#.*\n)*\s*\[\]\n", out), out


def test_a_rename_in_a_partial_graph_follows_into_nodes_not_posted_and_leaves_the_text_it_read_as_it_was():
    graph = graph_of(COMMENTED)
    enable = node(graph, "signal:enable")
    enable["props"]["name"] = "run"
    out = apply_graph(COMMENTED, {"partial": True, "nodes": [enable]})  # block gen reads it, and is not posted
    assert re.search(r"\n    inputs: \{enable: run\} +# runs while enabled\n", out)
    assert model(out)["blocks"][0].inputs[0].signal == "run"
    assert apply_graph(COMMENTED, {"partial": True, "nodes": []}) == COMMENTED  # the kept parse is unchanged
    assert graph_of(COMMENTED) == build_graph(COMMENTED).to_json()
