"""docs/openapi.yaml describes each route of the web section with the least role its Route carries."""

from __future__ import annotations

import re
from types import SimpleNamespace

import yaml

from petra.control.access import label
from petra.control.routes import RouteTable
from petra.wiring import Wiring
from tests.control.test_openapi import SPEC
from tests.helpers import plant_config
from tests.web.web_support import plant_data


def test_every_web_route_is_documented_with_the_role_it_enforces():
    from petra.web.api import routes

    config = plant_config(plant_data(8080, "users.yaml"))  # type: ignore[arg-type]
    served = routes(SimpleNamespace(config=config), Wiring(routes=RouteTable()))  # type: ignore[arg-type]
    spec = yaml.safe_load(SPEC.read_text())
    wrong = []
    for route in served:
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.pattern)
        operation = spec["paths"].get(template, {}).get(route.method.lower())
        documented = None if operation is None else operation.get("x-petra-role")
        if documented != label(route.role):
            wrong.append(f"{route.method} {template}: documented {documented}, enforced {label(route.role)}")
    assert not wrong, "\n".join(wrong)
    assert {(r.method, r.pattern) for r in served} >= {("GET", r"/v1/stream"), ("GET", r"/v1/audit")}
