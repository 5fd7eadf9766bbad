"""The import graph of petra/ and supervision/ has no cycles.

The rule the graph is built by:

- Every `import` statement counts wherever it stands: at module level, in a
  class body, or inside a function. An import moved into a function to dodge a
  cycle still runs, later and from wherever the function is first called; the
  two modules still cannot be read, tested or moved apart, so the cycle is
  hidden, not gone.
- Imports under `if TYPE_CHECKING:` never run and do not count.
- Importing `a.b.c` also runs the `__init__` of `a` and `a.b`, so those packages
  are edges too, except the importer's own packages: Python has started them
  before the importer runs.
- A package with a module-level `__getattr__` (PEP 562 lazy re-exports) imports
  every project module that a string in it names: the first attribute read runs
  that import.
- Only modules of petra/ and supervision/ are nodes. Names resolved at run time
  from data (the subsystem registry's "module:function" strings, plug-ins named
  in the environment) are look-ups, not imports.
"""

from __future__ import annotations

import ast
from collections import deque
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("petra", "supervision")

# module -> {imported module: line of the first import of it}
Graph = dict[str, dict[str, int]]


def find_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imported_names(module: str, is_package: bool, tree: ast.Module, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(module name, line) of every import that runs, as the docstring's rule says."""
    found: list[tuple[str, int]] = []
    here = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule if submodule in modules else base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body):
        found.extend(
            (node.value, node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules
        )
    return found


def build_graph(modules: dict[str, Path]) -> Graph:
    """Each module's edges to the project modules (and their packages) it runs."""
    graph: Graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        parts = module.split(".")
        own_packages = {".".join(parts[:i]) for i in range(1, len(parts) + is_package)}
        edges: dict[str, int] = {}
        for name, line in _imported_names(module, is_package, ast.parse(path.read_text()), modules):
            name_parts = name.split(".")
            for i in range(1, len(name_parts) + 1):
                target = ".".join(name_parts[:i])
                if target in modules and target != module and target not in own_packages:
                    edges.setdefault(target, line)
        graph[module] = edges
    return graph


def _shortest_cycle(graph: Graph, start: str) -> list[str] | None:
    """The shortest path from `start` back to itself, as a list of modules."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def find_cycles(graph: Graph) -> list[list[str]]:
    """One shortest cycle for every module on a cycle not yet named by another."""
    cycles: list[list[str]] = []
    covered: set[str] = set()
    for module in sorted(graph):
        if module in covered:
            continue
        cycle = _shortest_cycle(graph, module)
        if cycle:
            cycles.append(cycle)
            covered.update(cycle)
    return cycles


def describe(cycle: list[str], graph: Graph, modules: dict[str, Path], root: Path) -> str:
    """`a (a.py:3) -> b (b.py:7) -> a`: each step with the line that imports the next."""
    steps = [
        f"{module} ({modules[module].relative_to(root)}:{graph[module][nxt]})"
        for module, nxt in pairwise(cycle)
    ]
    return " -> ".join([*steps, cycle[-1]])


def test_petra_and_supervision_have_no_import_cycles() -> None:
    modules = find_modules(ROOT, PACKAGES)
    graph = build_graph(modules)
    cycles = [describe(cycle, graph, modules, ROOT) for cycle in find_cycles(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_graph_of_the_real_tree_has_its_modules_and_their_edges() -> None:
    graph = build_graph(find_modules(ROOT, PACKAGES))
    assert "supervision._supervisor" in graph
    assert "petra.logic.graph" in graph["petra.config.checks"]


def _tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return build_graph(find_modules(tmp_path, ("pkg", "other")))


def test_a_cycle_closed_by_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import f\n",
        "pkg/b.py": "def f():\n    from . import a\n",
    })
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_a_lazy_re_export_of_a_package_counts_as_its_import(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "pkg/__init__.py": "HOMES = {'x': 'pkg.a'}\n\ndef __getattr__(name):\n    pass\n",
        "pkg/a.py": "from other.b import g\n",
        "other/__init__.py": "",
        "other/b.py": "import pkg\n",
    })
    assert find_cycles(graph) == [["other.b", "pkg", "pkg.a", "other.b"]]


def test_imports_for_type_checking_and_of_own_packages_close_no_cycle(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "pkg/__init__.py": "from pkg.a import x\n",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import y\nx = 1\n",
        "pkg/b.py": "from pkg.a import x\n",
    })
    assert find_cycles(graph) == []
