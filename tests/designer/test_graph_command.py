"""`petra graph CONFIG` prints the graph as JSON, `--dot` as Graphviz DOT."""

from __future__ import annotations

import json

from petra.cli import main
from tests.designer.support import ROOT


def test_petra_graph_prints_every_node_with_its_id_kind_and_config_path(capsys):
    assert main(["graph", str(ROOT / "configs" / "tank-level.yaml")]) == 0
    graph = json.loads(capsys.readouterr().out)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["block:level_low"]["kind"] == "block" and nodes["block:level_low"]["path"][0] == "blocks"
    assert nodes["alarm:tank_overflow"]["path"][:2] == ["alarms", "alarms"]
    assert {"signal", "block", "alarm"} <= {n["kind"] for n in graph["nodes"]}
    wires = [e for e in graph["edges"] if e["kind"] == "wire"]
    assert wires and all(e["from"]["node"] in nodes and e["to"]["node"] in nodes for e in graph["edges"])


def test_petra_graph_dot_is_a_digraph_with_a_line_per_edge(capsys):
    assert main(["graph", "--dot", str(ROOT / "petra" / "demo.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph petra {") and out.rstrip().endswith("}")
    assert '"signal:tank_level" -> "block:level_high" [label="in1"];' in out
    assert '"block:level_clamp" -> "signal:tank_level" [label="out"];' in out
    assert '"signal:tank_level" -> "block:level_integrate" [label="in1", style="dashed"];' in out  # @prev


def test_petra_graph_of_a_file_that_is_not_yaml_says_where_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("signals: [\n")
    assert main(["graph", str(bad)]) == 2
    assert f"{bad}:" in capsys.readouterr().err
