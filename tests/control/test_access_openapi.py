"""docs/openapi.yaml states each built-in operation's least role (`x-petra-role`) as petra.control.access has it."""

from __future__ import annotations

import re

import yaml

from petra.control.access import BUILT_IN, label
from tests.control.test_openapi import SPEC


def test_every_built_in_operation_documents_the_role_the_server_enforces():
    spec = yaml.safe_load(SPEC.read_text())
    wrong = []
    for rule in BUILT_IN:
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", rule.pattern)
        operation = spec["paths"].get(template, {}).get(rule.method.lower())
        documented = None if operation is None else operation.get("x-petra-role")
        if documented != label(rule.role):
            wrong.append(f"{rule.method} {template}: documented {documented}, enforced {label(rule.role)}")
    assert not wrong, "\n".join(wrong)


def test_only_the_login_is_documented_as_open():
    spec = yaml.safe_load(SPEC.read_text())
    open_ones = [(path, method) for path, item in spec["paths"].items() for method, operation in item.items()
                 if isinstance(operation, dict) and operation.get("x-petra-role") == "open"]
    assert open_ones == [("/v1/login", "post")]
