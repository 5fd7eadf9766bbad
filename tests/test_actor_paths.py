"""Actor paths are spelled in one module, petra/paths.py.

The rule: outside petra/paths.py, no string in petra/ that is code (not a
docstring) starts with ``petra/`` followed by a name: neither a plain literal
(``"petra/core/clock"``) nor the literal head of an f-string
(``f"petra/storage/{name}"``). Docstrings may show paths: they document the
API, which paths are part of. ``"petra/"`` alone is not a path (it is the S3
key prefix's default), and the bare root name ``"petra"`` cannot be told
apart from the other uses of the word (logger, database, topic prefix), so
it is held by review, not by this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

from petra import paths

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = ROOT / "petra" / "paths.py"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the constant nodes that are docstrings (module, class, function, attribute)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)):
                found.add(id(statement.value))
    return found


def path_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string in `source` that spells an actor path, as the module docstring says."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            text = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
            whole = len(node.values) > 1 or len(text) > len("petra/")
            if text.startswith("petra/") and whole:
                found.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and id(node) not in inside_fstrings and node.value.startswith("petra/") and node.value != "petra/"):
            found.append((node.lineno, node.value))
    return found


def test_no_module_but_petra_paths_spells_an_actor_path():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in sorted((ROOT / "petra").rglob("*.py"))
        if path != ALLOWED
        for line, text in path_literals(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_rule_catches_literals_and_fstring_heads_but_not_docstrings_or_the_bare_prefix():
    source = '''
"""Module doc: petra/core/clock is fine here."""
A = "petra/core/clock"
def f(name):
    """petra/storage/wal in a docstring is fine."""
    return f"petra/storage/{name}", "petra/", f"x petra/{name}"
'''
    assert path_literals(source) == [(3, "petra/core/clock"), (6, "f'petra/storage/{name}'")]


def test_the_helpers_spell_the_paths_the_api_documents():
    assert paths.chain_path("mixer") == "petra/core/logic/mixer"
    assert paths.group_path("process") == "petra/core/signals/process"
    assert (paths.CLOCK, paths.WAL, paths.CONTROL, paths.METRICS) == (
        "petra/core/clock", "petra/storage/wal", "petra/services/control", "petra/services/metrics")
    assert paths.section_group("drivers") == "petra/drivers"
    assert paths.child_path(paths.section_group("alarms"), "alarm-router") == "petra/alarms/alarm-router"
    assert paths.in_core(paths.chain_path("mixer")) == "logic/mixer"
    assert paths.is_under("petra/storage/wal", paths.STORAGE) and not paths.is_under("petra/storagex", paths.STORAGE)
