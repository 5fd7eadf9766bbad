"""Shared steps of sub-commands: plugins, loading a config, printing its problems."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from petra.config.model import PlantConfig
from petra.plant import Plant
from petra.plugins import PluginError, load_plugins

DEMO = "<embedded demo>"


def load_plugins_or_report(plugins: list[str]) -> bool:
    try:
        load_plugins(plugins)
    except PluginError as exc:
        print(f"petra: {exc}", file=sys.stderr)
        return False
    import petra.blocks  # noqa: F401  (registers the built-in block types)

    return True


def load_or_report(
    path: str | None, plugins: list[str], text: str | None = None, name: str = DEMO, *, raw: bytes | None = None
) -> tuple[PlantConfig, Plant] | None:
    """Load, validate and compile; on any problem print it plainly and return None.

    With no `path`, `text` (named `name` in messages) or else the embedded demo.
    `raw` is the file's bytes when the caller already read them (to verify a signature).
    """
    if not load_plugins_or_report(plugins):
        return None
    from petra.config.errors import ConfigError
    from petra.config.loader import load_config, load_config_bytes, load_config_text
    from petra.logic.compiler import CompileError
    from petra.logs import apply_config_level
    from petra.plant import build_plant

    try:
        if path is None:
            if text is None:
                text = resources.files("petra").joinpath("demo.yaml").read_text(encoding="utf-8")
            config = load_config_text(text, name)
        elif raw is not None:
            config = load_config_bytes(raw, path, source=Path(path))
        else:
            if not Path(path).is_file():
                print(f"petra: {path}: no such file", file=sys.stderr)
                return None
            config = load_config(path)
        apply_config_level(config)  # logging.level, unless --log-level or PETRA_LOG chose
        from petra.security.users import users_file_problems

        errors, warnings = users_file_problems(config.security.users_file, path or name)
        if errors:
            raise ConfigError(errors)
        for warning in (*config.warnings, *map(str, warnings)):
            print(f"warning: {warning}", file=sys.stderr)
        return config, build_plant(config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return None
    except CompileError as exc:
        print(f"{path or name}: {exc}", file=sys.stderr)
        return None


def load_sections_or_report(path: str, sections: tuple[str, ...]) -> PlantConfig | None:
    """For a tool that needs only `sections`: load and check just those (other sections'
    ${VAR}s need not be set); on any problem print it plainly and return None."""
    from petra.config.errors import ConfigError
    from petra.config.loader import load_sections

    try:
        return load_sections(path, sections)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return None
