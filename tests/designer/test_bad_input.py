"""Malformed bodies get a 4xx with a message, never a 500: the designer's routes called as the API calls them."""

from __future__ import annotations

import json

import pytest

from petra.config.loader import load_config_text
from petra.control.calls import ApiError, Request
from petra.designer.api import DesignerApi
from petra.plant import build_plant
from petra.wiring import Wiring

TEXT = "signals:\n  - {name: a, type: float}\nblocks:\n  - {name: g, type: GT, inputs: {in1: a, in2: 1.0}, " \
       "outputs: {out: b}}\n"


@pytest.fixture(scope="module")
def api() -> DesignerApi:
    return DesignerApi(build_plant(load_config_text(TEXT)), Wiring())


def post(api: DesignerApi, route: str, body: object) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return getattr(api, route)(Request("POST", f"/v1/designer/{route}", {}, raw, "uid:0"), {})


@pytest.mark.parametrize(("route", "body", "status"), [
    ("graph", b"not json", 400),
    ("graph", {"yaml": 5}, 400),
    ("graph", {"yaml": TEXT, "layout": {"version": 2}}, 400),
    ("graph", {"yaml": TEXT, "layout": {"nodes": {"block:g": {"x": "left", "y": 1}}}}, 400),
    ("yaml", {"yaml": TEXT}, 400),
    ("yaml", {"yaml": TEXT, "graph": {"nodes": "all"}}, 422),
    ("yaml", {"yaml": TEXT, "graph": {"nodes": [{"id": "block:g"}]}}, 422),
    ("yaml", {"yaml": TEXT, "graph": {"nodes": [{"id": "x:y", "kind": "planet", "props": {}}]}}, 422),
    ("yaml", {"yaml": "a: [", "graph": {"nodes": []}}, 422),
    ("yaml", {"yaml": "- just\n- a list\n", "graph": {"nodes": [
        {"id": "block:n", "kind": "block", "props": {"name": "n", "type": "NOT"}}]}}, 422),
    ("connect", {"yaml": TEXT, "from": "block:g"}, 400),
    ("check", {"file": "plant.yaml"}, 400),
    ("check", {"yaml": TEXT, "file": "a\nb"}, 400),
])
def test_a_malformed_body_is_a_client_error(api, route, body, status):
    with pytest.raises(ApiError) as refused:
        post(api, route, body)
    assert refused.value.status == status and refused.value.message


def test_a_wire_into_props_of_a_shape_no_block_has_is_refused_with_a_reason(api):
    text = TEXT.replace("inputs: {in1: a, in2: 1.0}", "inputs: [a, 1.0]")
    answer = post(api, "connect", {"yaml": text, "from": {"node": "signal:a", "port": "out"},
                                   "to": {"node": "block:g", "port": "in1"}})
    assert answer["ok"] is False and answer["reason"]


def test_a_wire_to_a_node_that_is_not_there_is_refused(api):
    answer = post(api, "connect", {"yaml": TEXT, "from": {"node": "signal:a", "port": "out"},
                                   "to": {"node": "block:nope", "port": "in1"}})
    assert answer == {"ok": False, "reason": "no node 'block:nope'"}


def test_a_text_with_aliases_is_edited_with_the_aliases_written_out_and_means_what_it_meant(api):
    text = ("signals:\n  - &s {name: a, type: float}\nblocks:\n  - name: g\n    type: DATA_GENERATOR\n"
            "    params: &p {frequency: 2.0}\n  - name: h   # keeps its comment\n    type: DATA_GENERATOR\n"
            "    params: *p\n  - name: k\n    type: DATA_GENERATOR\n    params:\n      <<: *p\n      amplitude: 4.0\n")
    from petra.designer.graph import build_graph

    graph = build_graph(text).to_json()
    next(n for n in graph["nodes"] if n["id"] == "block:h")["props"]["params"]["amplitude"] = 3.0
    out = post(api, "yaml", {"yaml": text, "graph": graph})["yaml"]
    blocks = {b.name: b.params for b in load_config_text(out).blocks}
    assert blocks["g"] == load_config_text(text).blocks[0].params  # g is not changed by h's edit
    assert blocks["h"]["amplitude"] == 3.0 and blocks["h"]["frequency"] == 2.0
    assert blocks["k"]["amplitude"] == 4.0 and blocks["k"]["frequency"] == 2.0
    assert "  - name: h   # keeps its comment\n" in out and "*" not in out and "&p" not in out
