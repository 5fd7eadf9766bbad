"""A config that uses a section whose library is not installed is refused at its key, naming the extra.

These run the real config loader with the lookup of installed libraries
replaced (`check_extras(present=...)`); tests/packaging/test_build.py runs the
same refusal from a wheel installed without the extras.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from petra import extras
from petra.config.context import CheckContext
from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.config.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = [{"name": "a", "type": "float"}]


def problems(config: dict[str, Any] | str, missing: set[str]) -> list[str]:
    """The messages `check_extras` gives `config` (data or YAML text) when the libraries `missing` are not installed."""
    text = config if isinstance(config, str) else yaml.safe_dump({"signals": SIGNALS, **config}, sort_keys=False)
    ctx = CheckContext(parse_yaml(text, "plant.yaml", {}))
    extras.check_extras(ctx, present=lambda library: library.module not in missing)
    return [str(problem) for problem in ctx.errors]


def test_a_plant_without_optional_sections_needs_no_extra() -> None:
    assert problems({"web": {"port": 8080}}, {lib.module for lib in extras.LIBRARIES}) == []


def test_storage_with_clickhouse_needs_history_and_clickhouse_located_at_their_keys() -> None:
    config = """\
signals: [{name: a, type: float}]
storage:
  strategy: local_first
  remote:
    host: 127.0.0.1
"""
    assert problems(config, {"pyarrow", "clickhouse_driver"}) == [
        "plant.yaml:2:1: storage: needs pyarrow, which is not installed: pip install 'petra[history]'",
        "plant.yaml:4:3: storage.remote: needs clickhouse-driver, which is not installed: "
        "pip install 'petra[clickhouse]'",
    ]
    assert problems(config, {"clickhouse_driver"}) == [
        "plant.yaml:4:3: storage.remote: needs clickhouse-driver, which is not installed: "
        "pip install 'petra[clickhouse]'",
    ]
    assert problems({"storage": {"strategy": "local_first"}}, {"clickhouse_driver"}) == []



@pytest.mark.parametrize(("config", "module", "expected"), [
    ({"s7": [{"name": "plc"}]}, "snap7", "s7: needs python-snap7, which is not installed: pip install 'petra[s7]'"),
    ({"modbus": [{"name": "m", "transport": "tcp"}]}, "pymodbus", "modbus: needs pymodbus"),
    ({"mqtt": {"broker_host": "h"}}, "paho",
     "mqtt: needs paho-mqtt, which is not installed: pip install 'petra[mqtt]'"),
    ({"opcua": {"port": 4840}}, "asyncua", "opcua: needs asyncua, which is not installed: pip install 'petra[opcua]'"),
    ({"twilio": {"account_sid": "x"}}, "twilio",
     "twilio: needs twilio, which is not installed: pip install 'petra[twilio]'"),
    ({"sparkplug": {"group_id": "g"}}, "google.protobuf", "sparkplug: needs protobuf, which is not installed: "
                                                          "pip install 'petra[sparkplug]'"),
    ({"sparkplug": {"group_id": "g"}}, "paho", "sparkplug: needs paho-mqtt"),
])
def test_each_section_names_its_extra(config: dict[str, Any], module: str, expected: str) -> None:
    found = problems(config, {module})
    assert len(found) == 1 and expected in found[0], found


def test_every_optional_library_is_asked_for_by_some_part_of_a_config() -> None:
    assert {library for _, library in extras.NEEDS} == set(extras.LIBRARIES)


def test_a_serial_modbus_line_also_needs_pyserial_at_its_transport() -> None:
    config = """\
signals: [{name: a, type: float}]
modbus:
  - {name: tcp, transport: tcp}
  - name: rtu
    transport: rtu
"""
    assert problems(config, {"serial"}) == [
        "plant.yaml:5:5: modbus[1].transport: needs pyserial, which is not installed: pip install 'petra[modbus]'",
    ]


def test_the_loader_refuses_the_config_with_every_other_problem_and_loads_it_when_the_library_is_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = yaml.safe_dump({"signals": SIGNALS, "storage": {"strategy": "local_first"}}, sort_keys=False)
    load_config_text(text, "plant.yaml")  # pyarrow is installed here
    monkeypatch.setattr(extras, "installed", lambda library: library.module != "pyarrow")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "plant.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "plant.yaml:4:1: storage: needs pyarrow, which is not installed: pip install 'petra[history]'"]


def test_checking_for_a_library_imports_nothing() -> None:
    for library in extras.LIBRARIES:
        was_loaded = library.module in sys.modules
        assert extras.installed(library)  # the project venv has every extra
        assert (library.module in sys.modules) == was_loaded, library.module


def test_a_command_that_needs_a_missing_library_names_the_extra() -> None:
    def missing(name: str) -> ModuleNotFoundError:
        return ModuleNotFoundError(f"No module named {name!r}", name=name)

    assert extras.missing_extra_message(missing("pyarrow.parquet"), "petra history") == (
        "petra history needs pyarrow, which is not installed: pip install 'petra[history]'")
    assert extras.missing_extra_message(missing("google"), "petra run") == (
        "petra run needs protobuf, which is not installed: pip install 'petra[sparkplug]'")
    assert extras.missing_extra_message(missing("petra.nothing"), "petra run") is None


# --- pyproject.toml and the code agree ------------------------------------------------------------------


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def closure(extra: str) -> set[str]:
    """Every distribution name `petra[extra]` installs besides the base, following petra[...] self-references."""
    table = pyproject()["project"]["optional-dependencies"]
    names: set[str] = set()
    todo, seen = [extra], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in table[name]:
            req = Requirement(line)
            if req.name == "petra":
                todo.extend(req.extras)
            else:
                names.add(req.name.lower())
    return names


def base() -> set[str]:
    return {Requirement(line).name.lower() for line in pyproject()["project"]["dependencies"]}


def test_each_library_is_in_its_extra_and_not_in_the_base_install() -> None:
    for library in extras.LIBRARIES:
        assert library.distribution in closure(library.extra), library
        assert library.distribution not in base(), library


def test_all_is_every_extra_and_the_test_extra_installs_all() -> None:
    table = pyproject()["project"]["optional-dependencies"]
    every = set().union(*(closure(name) for name in table if name not in {"all", "test"}))
    assert closure("all") == every
    assert every <= closure("test")  # `make` (pip install -e '.[test]') keeps installing everything


def test_an_edge_box_with_plcs_and_mqtt_gets_no_pyarrow_and_no_clickhouse() -> None:
    edge = closure("s7") | closure("modbus") | closure("mqtt")
    assert edge == {"python-snap7", "pymodbus", "pyserial", "paho-mqtt"}


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(names: set[str]) -> set[str]:
    """`names` and everything their installed distributions require (without extras)."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = normal(todo.pop())
        if name in found:
            continue
        found.add(name)
        for line in importlib.metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def test_every_library_petra_imports_is_in_the_base_install_or_has_an_extra() -> None:
    """A new section importing a new library must add it to pyproject and to petra.extras (what a declared
    library itself requires, such as twilio's requests, comes with it)."""
    owners = importlib.metadata.packages_distributions()
    allowed = installed_closure(base() | {library.distribution for library in extras.LIBRARIES})
    unknown: dict[str, set[str]] = {}
    for package in ("petra", "supervision"):
        for path in (ROOT / package).rglob("*.py"):
            for module in _imports(path):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in {"petra", "supervision"}:
                    continue
                dists = {normal(name) for name in owners.get(top, [])}
                if top == "google":
                    dists = {"protobuf"} if module.startswith("google.protobuf") else dists
                if not dists & allowed:
                    unknown.setdefault(f"{top} ({', '.join(sorted(dists)) or 'not installed'})", set()).add(
                        str(path.relative_to(ROOT)))
    assert not unknown, f"imported but neither a base dependency nor an extra: {unknown}"
