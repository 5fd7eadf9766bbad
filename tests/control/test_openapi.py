"""docs/openapi.yaml describes every built-in control API route, and only real ones."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from petra.control.api import ControlApi

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def _template(regex: str) -> str:
    """`/v1/signals/(?P<name>[^/]+)/force/?` -> `/v1/signals/{name}/force`."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex).removesuffix("/?")


def test_every_built_in_route_is_documented_with_its_method():
    spec = yaml.safe_load(SPEC.read_text())
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "put", "post", "delete")}
    routes = {(_template(pattern.pattern), method) for method, pattern, _ in ControlApi(runtime=None).routes()}
    routes.add(("/v1/events", "GET"))  # served by the HTTP server itself (a stream)
    missing = routes - documented
    assert not missing, f"routes missing from docs/openapi.yaml: {sorted(missing)}"
    assert spec["openapi"].startswith("3.")
