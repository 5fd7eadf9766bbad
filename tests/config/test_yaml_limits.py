"""A hostile or broken file is refused with a located message, never a traceback,
a MemoryError or minutes of work: aliases, nesting and size are limited."""

from __future__ import annotations

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config
from petra.config.yaml_limits import MAX_DOCUMENT_BYTES
from tests.config.support import load, problems

LAUGHS = 'lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"l{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_a_billion_laughs_alias_bomb_is_refused_at_the_alias_that_overflows():
    assert problems(LAUGHS) == [
        "plant.yaml:6:13: aliases expand the document by more than 200,000 values (a YAML alias bomb?); "
        "write the values out or use fewer aliases of aliases"
    ]


@pytest.mark.parametrize(("text", "column"), [
    ("a: " + "[" * 20000, 67),
    ("a: " + "[" * 20000 + "]" * 20000, 67),
    ("a: " + "{x: " * 5000 + "1" + "}" * 5000, 256),
], ids=["open", "closed", "mappings"])
def test_twenty_thousand_nested_brackets_are_refused_where_the_limit_is_crossed(text, column):
    assert problems(text) == [f"plant.yaml:1:{column}: the document is nested more than 64 levels deep "
                              "(lists and mappings inside each other); flatten it"]


def test_deep_block_indentation_is_refused_too():
    text = "".join("  " * i + "k:\n" for i in range(3000)) + "  " * 3000 + "v: 1\n"
    [message] = problems(text)
    assert message.startswith("plant.yaml:65:129: the document is nested more than 64 levels deep")


def test_a_file_larger_than_the_limit_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_bytes(b"# padding\n" * (MAX_DOCUMENT_BYTES // 10 + 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: the file is 16.0 MiB; a configuration may be at most 16 MiB"
    ]


def test_aliases_and_merges_within_the_limits_still_load():
    config = load("""
        signals: [{name: wave, type: float}]
        blocks:
          - &gt {name: a, type: GT, inputs: {in1: wave, in2: 0.5}, outputs: {out: a_high}}
          - {<<: *gt, name: b, outputs: {out: b_high}}
        """)
    assert [(b.name, b.type) for b in config.blocks] == [("a", "GT"), ("b", "GT")]
