"""YAML parsing keeps the position of every key and value."""

from __future__ import annotations

import pytest

from petra.config.errors import ConfigError, format_path
from petra.config.yaml_source import parse_yaml

TEXT = """\
signals:
  - name: level
    type: float
blocks:
  - name: high
    inputs: {in1: level, in2: 80}
"""


def test_positions_of_keys_and_values_are_recorded_one_based():
    doc = parse_yaml(TEXT, "p.yaml", {})
    assert doc.position(("signals", 0, "name")) == (2, 11)
    assert doc.position(("signals", 0, "name"), key=True) == (2, 5)
    assert doc.position(("blocks", 0, "inputs", "in2")) == (6, 31)
    assert doc.position(("blocks", 0, "inputs", "in2"), key=True) == (6, 26)


def test_a_missing_path_falls_back_to_its_nearest_ancestor():
    doc = parse_yaml(TEXT, "p.yaml", {})
    assert doc.position(("blocks", 0, "params", "x")) == doc.position(("blocks", 0))


def test_scalars_follow_yaml_1_2_rather_than_1_1():
    doc = parse_yaml("a: yes\nb: 8:30\nc: 2024-01-01\nd: 1e3\ne: 010\nf: 0x10\ng: True\nh: ~\n", "p", {})
    assert doc.data == {"a": "yes", "b": "8:30", "c": "2024-01-01", "d": 1000.0, "e": 10, "f": 16,
                        "g": True, "h": None}


def test_merge_keys_copy_a_mapping_and_explicit_keys_win():
    doc = parse_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "p", {})
    assert doc.data["other"] == {"x": 1, "y": 3}


def test_duplicate_keys_are_all_reported():
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\nb: {x: 1, x: 2}\na: 3\n", "p.yaml", {})
    assert [str(p) for p in info.value.problems] == [
        "p.yaml:2:11: b.x: duplicate key 'x' (first given on line 2)",
        "p.yaml:3:1: a: duplicate key 'a' (first given on line 1)",
    ]


def test_a_second_document_is_malformed_yaml():
    with pytest.raises(ConfigError, match=r"p.yaml:2:1: invalid YAML: "):
        parse_yaml("a: 1\n---\nb: 2\n", "p.yaml", {})


def test_an_empty_file_is_an_empty_mapping():
    assert parse_yaml("# nothing\n", "p", {}).data == {}


def test_paths_render_as_a_reader_writes_them():
    assert format_path(("blocks", 2, "inputs", "in1")) == "blocks[2].inputs.in1"
    quoted = format_path(("alarms", "escalation_chains", "tank high"))
    assert quoted == "alarms.escalation_chains['tank high']"
    assert format_path(()) == ""
