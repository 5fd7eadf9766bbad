"""pyarrow without pandas: import it from here (`from petra.storage.arrow import pa`).

pyarrow looks for pandas once, on its first array built from Python objects
(`pa.array([...])` asks whether the list might be a pandas Series), and imports
it when it is installed: ~55 MB of RSS (pyarrow with numpy alone is ~50 MB)
that PETRA never uses. Here that first look is made while pandas cannot be
imported, so pyarrow records "no pandas" and never loads it on its own. A later
explicit `to_pandas()` still works: pyarrow tries the import again then.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pyarrow as pa

__all__ = ["pa"]


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pyarrow's first look for pandas (PETRA does not use it)", name=fullname)
        return None


def _first_look_without_pandas() -> None:
    if "pandas" in sys.modules:
        return  # someone loaded it already: nothing to save
    finder = _RefusePandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


_first_look_without_pandas()
