"""`tasks:` and a block's `task:`: what loads, and each mistake as a located config error."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from petra.config.loader import load_config, load_config_text
from petra.logic.graph import partition
from petra.tasks import DEFAULT_PRIORITY, MAIN, TaskKind
from tests.config.support import load, problems

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
BEFORE = json.loads((Path(__file__).parent / "chains_before_tasks.json").read_text())
"""Each shipped config's chains (name, blocks in order) as the partition before tasks made them."""
DOCUMENTED_ENV = {"MQTT_USERNAME": "petra", "MQTT_PASSWORD": "secret", "CLICKHOUSE_PASSWORD": "x"}

ISSUE_EXAMPLE = """
    signals:
      - {name: level, type: float}
      - {name: cmd, type: bool}
    tasks:
      - {name: fast, interval_ms: 10, priority: 1}
      - {name: on_cmd, trigger: [cmd]}        # runs when signal cmd changes
    blocks:
      - {name: hi, type: GT, task: fast, inputs: {in1: level, in2: "80.0"}, outputs: {out: level_high}}
      - {name: ack, type: NOT, task: on_cmd, inputs: {in: cmd}, outputs: {out: no_cmd}}
"""


def test_the_issue_example_loads_with_main_first_and_the_declared_tasks_after_it():
    config = load(ISSUE_EXAMPLE)
    tasks = {t.name: t for t in config.all_tasks}
    assert [t.name for t in config.all_tasks] == [MAIN, "fast", "on_cmd"]
    assert tasks[MAIN].interval_ms == config.scan_time_ms and tasks[MAIN].priority == DEFAULT_PRIORITY
    assert (tasks["fast"].kind, tasks["fast"].interval_ms, tasks["fast"].priority) == (TaskKind.CYCLIC, 10, 1)
    assert (tasks["on_cmd"].kind, tasks["on_cmd"].trigger) == (TaskKind.EVENT, ("cmd",))
    assert {b.name: b.task for b in config.blocks} == {"hi": "fast", "ack": "on_cmd"}
    assert config.warnings == ()


def test_main_may_be_declared_to_set_its_priority_only():
    config = load("""
        scan_time_ms: 20
        tasks:
          - {name: main, priority: 7}
        blocks:
          - {name: hi, type: GT, inputs: {in1: level, in2: "80.0"}, outputs: {out: level_high}}
        signals:
          - {name: level, type: float}
    """)
    assert [(t.name, t.interval_ms, t.priority) for t in config.all_tasks] == [(MAIN, 20, 7)]
    found = problems("""
        tasks:
          - {name: main, interval_ms: 5}
    """)
    assert found == ["plant.yaml:2:18: tasks[0].interval_ms: task 'main' is the cyclic task at scan_time_ms: "
                     "declare it only to set its priority (set scan_time_ms for its period)"]


@pytest.mark.parametrize(("tasks", "expected"), [
    ("- {name: fast, interval_ms: 0}", "plant.yaml:6:31: tasks[0].interval_ms: must be at least 1, got 0"),
    ("- {name: fast, interval_ms: 0.5}", "plant.yaml:6:31: tasks[0].interval_ms: expected an integer, got 0.5"),
    ("- {name: fast, interval_ms: 10, priority: 0}", "plant.yaml:6:45: tasks[0].priority: must be at least 1, got 0"),
    ("- {name: fast, interval_ms: 10, priority: 100}",
     "plant.yaml:6:45: tasks[0].priority: must be at most 99, got 100"),
    ("- {name: ev, trigger: [level], interval_ms: 10}",
     "plant.yaml:6:16: tasks[0].trigger: task 'ev' has both interval_ms and trigger: a task is cyclic "
     "(interval_ms) or runs on a change (trigger), not both"),
    ("- {name: fast}", "plant.yaml:6:12: tasks[0].name: task 'fast' needs interval_ms (a cyclic task) or trigger "
                       "(an event task: a list of signals)"),
    ("- {name: ev, trigger: [levle]}",
     "plant.yaml:6:26: tasks[0].trigger[0]: trigger 'levle' of task 'ev' is not a signal (did you mean 'level'?): "
     "a trigger must be a declared signal or one a block or driver writes"),
    ("- {name: ev, trigger: ['80.0']}",
     "plant.yaml:6:26: tasks[0].trigger[0]: '80.0' is a literal value, not a signal name"),
    ("- {name: ev, trigger: []}", "plant.yaml:6:25: tasks[0].trigger: must not be empty"),
])
def test_each_mistake_in_a_task_is_a_located_error_saying_what_was_expected(tasks, expected):
    task = "ev" if "ev" in tasks else "fast"
    found = problems(f"""
        signals:
          - {{name: level, type: float}}
        blocks:
          - {{name: hi, type: GT, task: {task}, inputs: {{in1: level, in2: "80.0"}}, outputs: {{out: high}}}}
        tasks:
          {tasks}
    """)
    assert expected in found, found
    assert not any("blocks[0]" in p for p in found), found  # a task refused is still a name a block may use


def test_duplicate_task_names_and_an_unknown_task_on_a_block_are_located_errors():
    found = problems("""
        signals:
          - {name: level, type: float}
        tasks:
          - {name: fast, interval_ms: 10}
          - {name: fast, interval_ms: 20}
        blocks:
          - {name: hi, type: GT, task: fsat, inputs: {in1: level, in2: "80.0"}, outputs: {out: high}}
    """)
    assert found == [
        "plant.yaml:5:12: tasks[1].name: duplicate task name 'fast' (first declared on line 4)",
        "plant.yaml:7:32: blocks[0].task: block 'hi' names task 'fsat', which is not declared (did you mean "
        "'fast'?); tasks: main, fast",
    ]


def test_an_event_task_triggered_by_its_own_output_is_refused():
    found = problems("""
        signals:
          - {name: level, type: float}
        tasks:
          - {name: ev, trigger: [high]}
        blocks:
          - {name: hi, type: GT, task: ev, inputs: {in1: level, in2: "80.0"}, outputs: {out: high}}
    """)
    assert found == ["plant.yaml:4:26: tasks[0].trigger[0]: trigger 'high' of task 'ev' is written by its own block "
                     "'hi': every run would trigger the next"]


def test_a_trigger_may_be_a_signal_a_block_of_another_task_or_a_driver_writes():
    config = load("""
        signals:
          - {name: level, type: float}
        tasks:
          - {name: ev, trigger: [high]}
        blocks:
          - {name: hi, type: GT, inputs: {in1: level, in2: "80.0"}, outputs: {out: high}}
          - {name: neg, type: NOT, task: ev, inputs: {in: high}, outputs: {out: low}}
    """)
    assert config.task("ev").trigger == ("high",)


def test_a_task_no_block_names_is_a_warning_not_an_error():
    config = load("""
        signals:
          - {name: level, type: float}
        tasks:
          - {name: spare, interval_ms: 10}
        blocks:
          - {name: hi, type: GT, inputs: {in1: level, in2: "80.0"}, outputs: {out: high}}
    """)
    assert config.warnings == ("plant.yaml:4:12: tasks[0].name: task 'spare' has no blocks: it runs nothing "
                               "(give a block `task: spare`)",)


def test_a_block_with_an_unknown_key_next_to_task_is_still_refused_by_the_schema():
    found = problems("""
        blocks:
          - {name: hi, type: GT, taks: fast, inputs: {in1: 1.0, in2: "80.0"}, outputs: {out: high}}
    """)
    assert any("blocks[0]" in p and "taks" in p for p in found), found


@pytest.mark.parametrize("name", sorted(BEFORE), ids=str)
def test_every_shipped_config_and_the_demo_has_the_chains_it_had_before_tasks(name):
    if name == "<embedded demo>":
        text = resources.files("petra").joinpath("demo.yaml").read_text(encoding="utf-8")
        config = load_config_text(text, "demo.yaml", env={})
    else:
        config = load_config(CONFIGS / name, DOCUMENTED_ENV if name == "original-example.yaml" else {})
    chains = partition(config.blocks)
    assert [[c.name, [b.name for b in c.blocks]] for c in chains] == BEFORE[name]
    assert {c.task for c in chains} <= {MAIN}
    assert [t.name for t in config.all_tasks] == [MAIN]
    assert config.all_tasks[0].interval_ms == config.scan_time_ms


def test_every_shipped_config_is_listed_in_the_record_of_chains():
    assert {p.name for p in CONFIGS.glob("*.yaml")} <= set(BEFORE)
