"""The section registry is the single source of the plug-in subsystems.

Every top-level key of the config schema is core or owned by exactly one
registered section; every section's parts resolve; and declaring the sections
loads none of the libraries their runtimes need.
"""

from __future__ import annotations

import subprocess
import sys

from petra.config.schema import CORE_SECTIONS, SECTION_ORDER, TOP_LEVEL_CORE, build_schema
from petra.registry import SECTIONS, section_keys
from petra.section import SUPERVISORS, load
from petra.subsystems import providers

HEAVY = {"pyarrow", "snap7", "pymodbus", "paho", "clickhouse_driver", "twilio", "boto3", "botocore", "lmdb",
         "jsonschema"}


def test_every_top_level_key_is_core_or_owned_by_one_registered_section():
    keys = section_keys()
    assert len(keys) == len(set(keys)), "two sections own the same key"
    schema_keys = set(build_schema(block_details=False)["properties"])
    assert schema_keys == {*TOP_LEVEL_CORE, *CORE_SECTIONS, *keys}
    assert not set(CORE_SECTIONS) & set(keys)


def test_petra_schema_prints_the_sections_in_the_order_it_always_has():
    printed = [k for k in build_schema(block_details=False)["properties"] if k not in TOP_LEVEL_CORE]
    assert printed == [*SECTION_ORDER, "web", "sparkplug"]  # a section newer than the order comes last


def test_every_section_names_a_supervisor_schemas_and_child_specs_that_resolve():
    assert [s.name for s in SECTIONS] == ["s7", "modbus", "mqtt", "storage", "alarms", "control",
                                          "opcua", "web", "sparkplug"]
    for section in SECTIONS:
        assert section.supervisor in SUPERVISORS
        for key, target in section.schemas:
            assert isinstance(load(target)(), dict), key
        assert section.child_specs is None or callable(load(section.child_specs)), section.name
    assert [p.active for p in providers()] == [s.child_specs is not None for s in SECTIONS]


def test_only_configured_sections_are_started():
    assert [p.sections for p in providers({"s7": []})] == [("s7",), ("control",)]
    assert [p.sections for p in providers({"email": {}})] == [("alarms", "twilio", "email"), ("control",)]


def test_every_registered_section_runs_so_none_is_reported_inactive():
    """`inactive_sections` names a section this build validates without running it; opcua was the last one."""
    from petra.config.loader import load_config_text
    from petra.tree import inactive_sections

    config = load_config_text("signals:\n  - {name: x, type: float}\nopcua: {port: 4840}\n")
    assert [s.name for s in SECTIONS if s.child_specs is None] == []
    assert inactive_sections(config) == []


def test_declaring_the_sections_imports_no_heavy_library():
    code = ("import sys, petra.registry; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_section_left_out_of_the_config_would_have_built_no_actors():
    """Why resolving only the configured sections changes nothing but what is imported."""
    from petra.config.loader import load_config_text
    from petra.plant import build_plant
    from petra.wiring import Wiring

    plant = build_plant(load_config_text("node_id: bare\nsignals:\n  - {name: x, type: float}\n"))
    for section in SECTIONS:
        if not section.always and section.child_specs is not None:
            assert not section.starts_with(plant.config.sections), section.name
            assert load(section.child_specs)(plant, Wiring()) == [], section.name


def test_a_section_folder_declares_itself_with_nothing_but_petra_section():
    """Its `__init__.py` importing more at module level would load libraries early or close an import cycle."""
    import ast
    import importlib
    from pathlib import Path

    for section in SECTIONS:
        module = section.child_specs or section.schemas[0][1]
        package = importlib.import_module(module.split(":")[0].rsplit(".", 1)[0])
        assert package.SECTION is section, section.name
        tree = ast.parse(Path(package.__file__).read_text())
        imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
        assert imported <= {"__future__", "pathlib", "petra.section"}, (section.name, imported)
        folder = Path(package.__file__).parent
        assert (folder / "schema.py").is_file(), section.name
        assert section.child_specs is None or (folder / "children.py").is_file(), section.name


def test_every_hook_a_section_names_resolves_to_a_function():
    """`declares`, `checks`, `commands` and `ctl` name callables; the folder holds the module they name."""
    for section in SECTIONS:
        for hook in (section.declares, section.checks, section.commands, section.ctl):
            assert hook is None or callable(load(hook)), (section.name, hook)


def test_the_petra_command_line_with_every_section_command_loads_no_heavy_library():
    """`petra --help` (or any tool) must not pay for snap7, pymodbus, paho, pyarrow, ... before a command runs."""
    code = ("import sys, petra.cli; petra.cli.build_parser(); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY | {'asyncua'})!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_lines_offer_every_section_command_in_the_order_they_always_had():
    import argparse

    from petra.cli import HELP_ORDER
    from petra.cli import build_parser as petra_parser
    from petra.ctl import build_parser as ctl_parser

    def commands(parser: argparse.ArgumentParser) -> list[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert [action.dest for action in sub._choices_actions] == list(sub.choices)  # help lists what parses
        return list(sub.choices)

    assert commands(petra_parser())[:len(HELP_ORDER)] == list(HELP_ORDER)  # a new section's come after
    assert commands(ctl_parser())[-2:] == ["alarms", "ack"]
