"""`Section.reads`: a reload that changes a setting a section's actors read at start restarts them."""

from __future__ import annotations

import pytest

from petra.config.schema import build_schema
from petra.registry import SECTIONS
from petra.reload import rereading
from tests.config.support import load

BASE = """
signals: [{name: x, type: float}]
mqtt: {broker_host: 127.0.0.1}
security: {allowed_cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384], users_file: a.yaml}
"""


def test_every_setting_a_section_reads_is_one_the_schema_has():
    schema = build_schema()
    for section in SECTIONS:
        for path in section.reads:
            node = schema
            for part in path.split("."):
                node = node["properties"][part]  # a KeyError names a setting that does not exist
            assert path.split(".")[0] not in section.keys, f"{section.name} reads its own key {path}"


@pytest.mark.parametrize(("change", "expected"), [
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]", []),  # nothing changed
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]", ["control", "mqtt"]),  # alarms is not configured
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384], require_tls: true", ["control"]),
])
def test_a_changed_tls_setting_restarts_the_sections_that_read_it_and_no_other(change, expected):
    old = load(BASE)
    new = load(BASE.replace("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]", change))
    assert rereading(old, new, set()) == expected


def test_a_setting_nobody_reads_at_start_restarts_nothing():
    old = load(BASE)
    assert rereading(old, load(BASE.replace("a.yaml", "b.yaml")), {"security"}) == []


def test_a_section_whose_own_keys_changed_is_restarted_for_that_already():
    old = load(BASE)
    new = load(BASE.replace("AES_256_GCM_SHA384]", "AES_128_GCM_SHA256]").replace("127.0.0.1", "127.0.0.2"))
    assert rereading(old, new, {"security", "mqtt"}) == ["control"]
