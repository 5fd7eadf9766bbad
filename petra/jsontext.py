"""JSON text every reader can parse, with NaN and the infinities in it.

Python's `json.dumps` writes a float NaN or infinity as a bare `NaN` / `Infinity`, which is not JSON: a
browser's `JSON.parse` refuses the whole body, so one signal reading NaN (a division by zero in logic, a
Modbus register that is not a float) would break every value on the page. PETRA's API and streams write them
as the strings "NaN", "Infinity" and "-Infinity" instead: what JavaScript's `String()` writes and `Number()`
reads back, and what the page shows as it is.
"""

from __future__ import annotations

import json
import math
from typing import Any


def nonfinite_text(value: float) -> str:
    """"NaN", "Infinity" or "-Infinity" for a float that is not finite."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def dumps(obj: Any, **options: Any) -> str:
    """`json.dumps(obj, **options)`, with each non-finite float as its string (`nonfinite_text`). The walk that
    replaces them runs only for a body that has one."""
    try:
        return json.dumps(obj, allow_nan=False, **options)
    except ValueError:  # "Out of range float values are not JSON compliant"
        return json.dumps(_finite(obj), allow_nan=False, **options)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else nonfinite_text(obj)
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(value) for value in obj]
    return obj
