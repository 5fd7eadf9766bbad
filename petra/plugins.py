"""Load user modules that register extra block types before a config is read.

`--plugin PATH_OR_MODULE` (repeatable) or `PETRA_PLUGINS` (colon-separated):
a `.py` file path or an importable module name. A plugin is plain Python
that defines `@block_type` classes.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path


class PluginError(RuntimeError):
    pass


def load_plugins(names: Iterable[str] = ()) -> list[str]:
    wanted = [*names, *filter(None, os.environ.get("PETRA_PLUGINS", "").split(":"))]
    loaded = []
    for name in wanted:
        try:
            if name.endswith(".py") or os.sep in name:
                path = Path(name)
                spec = importlib.util.spec_from_file_location(f"petra_plugin_{path.stem}", path)
                if spec is None or spec.loader is None:
                    raise PluginError(f"cannot load plugin file {name}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {name}: {type(exc).__name__}: {exc}") from exc
        loaded.append(name)
    return loaded
