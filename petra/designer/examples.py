"""The example configs the designer starts from: `configs/*.yaml` of the source tree and the embedded demo."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import petra

EMPTY = "# A new plant.\nscan_time_ms: 100\n\nsignals: []\n\nblocks: []\n"


def configs_dir() -> Path | None:
    """`configs/` beside the `petra` package (a source checkout or an editable install), None when absent."""
    found = Path(petra.__file__).resolve().parent.parent / "configs"
    return found if found.is_dir() else None


def describe(text: str) -> str:
    """The first comment line that says something (not a rule of dashes), without its file-name prefix."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        words = stripped.lstrip("#").strip()
        if words and set(words) - set("-=*# "):
            head, sep, rest = words.partition(": ")
            return rest if sep and head.endswith((".yaml", ".yml")) else words
    return ""


def demo_text() -> str:
    return resources.files("petra").joinpath("demo.yaml").read_text(encoding="utf-8")


def list_examples() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": "empty", "file": None, "description": "An empty plant to build from the palette."},
        {"name": "demo", "file": "petra:demo.yaml",  # the package resource
         "description": describe(demo_text())}]
    folder = configs_dir()
    for path in sorted(folder.glob("*.yaml")) if folder is not None else []:
        out.append({"name": path.stem, "file": f"configs/{path.name}",
                    "description": describe(path.read_text(encoding="utf-8"))})
    return out


def find_example(name: str) -> tuple[str, Path | None] | None:
    """(text, path) of the example `name`; None when there is none."""
    if name == "empty":
        return EMPTY, None
    if name == "demo":
        return demo_text(), None
    folder = configs_dir()
    if folder is None or "/" in name or name.startswith("."):
        return None
    path = folder / f"{name}.yaml"
    return (path.read_text(encoding="utf-8"), path) if path.is_file() else None
