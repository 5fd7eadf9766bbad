"""The designer page's pure modules (store.js, wires.js, keys.js, form.js), run in the real Chromium as the page
loads them (ES modules from /static, no build step): what a wire means in the config, undo/redo, paste with new
names, the shortcut table, and the property panel's parsing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser import Hmi

MODULES = "/static/js/designer"


@pytest.fixture
def page(hmi: Hmi, browser) -> Any:
    """A page of the served app (the login form is enough: the modules are static files)."""
    page = hmi.page(browser)
    page.goto(hmi.base_url + "/")
    return page


def run(page: Any, body: str) -> Any:
    """Evaluate `body` (an async function body) with the designer's modules imported as S, W, K, F."""
    return page.evaluate(f"""async () => {{
        const S = await import('{MODULES}/store.js');
        const W = await import('{MODULES}/wires.js');
        const K = await import('{MODULES}/keys.js');
        const F = await import('{MODULES}/form.js');
        {body}
    }}""")


GRAPH_JS = """
    const block = (name, type, inputs, outputs, props = {}) => ({
        id: `block:${name}`, kind: 'block', type, label: name,
        ports: { inputs: inputs.map((n) => ({ name: n, type: 'float' })),
                 outputs: outputs.map((n) => ({ name: n, type: 'bool' })) },
        props: { name, type, inputs: {}, outputs: {}, ...props } });
    const other = (kind, id, inputs, outputs) => ({ id: `${kind}:${id}`, kind, label: id, props: { id },
        ports: { inputs: inputs.map((name) => ({ name })), outputs: outputs.map((name) => ({ name })) } });
    const store = new S.Store();
    store.load({ graph: { nodes: [
        block('gen', 'DATA_GENERATOR', ['enable'], ['sine_out']),
        block('gt', 'GT', ['in1', 'in2'], ['out']),
        block('lt', 'LT', ['in1', 'in2'], ['out']),
        other('alarm', 'hot', ['signal'], ['escalation']),
        other('contact', 'ann', ['escalation'], []),
        other('contact', 'bob', ['escalation'], []),
      ], edges: [] }, layout: { 'block:gen': { x: 0, y: 0 }, 'block:gt': { x: 300, y: 0 } }, yaml: 'x: 1\\n' });
    const wireUp = (a, ap, b, bp) => store.applyWire(
        W.planWire(store.graph, store.index, { node: a, port: ap }, { node: b, port: bp }, store.names()));
"""


def test_a_block_to_block_wire_goes_through_a_new_signal_and_a_second_reader_reuses_it(page):
    result = run(page, GRAPH_JS + """
        wireUp('block:gen', 'sine_out', 'block:gt', 'in1');
        wireUp('block:gen', 'sine_out', 'block:lt', 'in1');
        return { gen: store.node('block:gen').props, gt: store.node('block:gt').props, lt: store.node('block:lt').props,
                 signal: store.node('signal:gen_sine_out'), edges: store.graph.edges.map((e) => e.id),
                 placed: store.layout['signal:gen_sine_out'] };
    """)
    assert result["gen"]["outputs"] == {"sine_out": "gen_sine_out"}
    assert result["gt"]["inputs"] == {"in1": "gen_sine_out"}
    assert result["lt"]["inputs"] == {"in1": "gen_sine_out"}
    assert result["signal"]["implicit"] is True
    assert result["signal"]["props"] == {"name": "gen_sine_out", "type": "bool"}
    assert result["edges"] == [
        "wire:block:gen.sine_out->signal:gen_sine_out.in",
        "wire:signal:gen_sine_out.out->block:gt.in1",
        "wire:signal:gen_sine_out.out->block:lt.in1",
    ]
    assert result["placed"] == {"x": 150, "y": 150}, "between the two ends, below them"


def test_an_alarm_wired_to_contacts_gets_one_escalation_chain_in_that_order(page):
    result = run(page, GRAPH_JS + """
        wireUp('block:gt', 'out', 'alarm:hot', 'signal');
        wireUp('alarm:hot', 'escalation', 'contact:ann', 'escalation');
        wireUp('alarm:hot', 'escalation', 'contact:bob', 'escalation');
        return { alarm: store.node('alarm:hot').props, chain: store.node('escalation:hot').props,
                 edges: store.graph.edges.filter((e) => e.kind === 'escalation').map((e) => e.id) };
    """)
    assert result["alarm"] == {"id": "hot", "signal": "gt_out"}
    assert result["chain"] == {"alarm": "hot", "contacts": ["ann", "bob"]}
    assert result["edges"] == [
        "escalation:alarm:hot.escalation->escalation:hot.alarm",
        "escalation:escalation:hot.contacts->contact:ann.escalation",
        "escalation:escalation:hot.contacts->contact:bob.escalation",
    ]


def test_deleting_a_wire_takes_its_name_out_of_the_holder_and_undo_brings_it_back(page):
    result = run(page, GRAPH_JS + """
        wireUp('alarm:hot', 'escalation', 'contact:ann', 'escalation');
        wireUp('alarm:hot', 'escalation', 'contact:bob', 'escalation');
        const ann = store.graph.edges.find((e) => e.to.node === 'contact:ann');
        ann.ref = { node: 'escalation:hot', field: ['contacts', 0] };  // as the server's graph carries it
        store.selection = new Set();
        store.deleteSelected([ann.id], (e) => W.unwire(e, store.index));
        const after = structuredClone(store.node('escalation:hot').props);
        store.undo();
        const undone = structuredClone(store.node('escalation:hot').props);
        store.redo();
        return { after, undone, redone: store.node('escalation:hot').props, yaml: store.yaml };
    """)
    assert result["after"]["contacts"] == ["bob"]
    assert result["undone"]["contacts"] == ["ann", "bob"]
    assert result["redone"]["contacts"] == ["bob"]
    assert result["yaml"] == "x: 1\n"


def test_a_deleted_node_leaves_no_reference_behind_in_the_nodes_that_stay(page):
    result = run(page, GRAPH_JS + """
        wireUp('block:gen', 'sine_out', 'block:gt', 'in1');
        store.selection = new Set(['signal:gen_sine_out']);
        store.deleteSelected([], (e) => W.unwire(e, store.index));
        return { gen: store.node('block:gen').props, gt: store.node('block:gt').props,
                 edges: store.graph.edges.length };
    """)
    assert result["gen"]["outputs"] == {} and result["gt"]["inputs"] == {} and result["edges"] == 0


def test_paste_gives_new_names_and_rewires_the_copies_among_themselves(page):
    result = run(page, GRAPH_JS + """
        wireUp('block:gen', 'sine_out', 'block:gt', 'in1');
        store.selection = new Set(['block:gen', 'signal:gen_sine_out', 'block:gt']);
        const clip = store.copy();
        const added = store.paste(clip, 40, () => 'name');
        const ids = new Set(store.graph.nodes.map((n) => n.id));
        return { added, unique: ids.size === store.graph.nodes.length,
                 pasted: store.graph.edges.filter((e) => added.includes(e.from.node))
                     .map((e) => `${e.from.node}->${e.to.node}`),
                 name: store.node('block:gen_2').props.name, selected: [...store.selection],
                 genOut: store.node('block:gen_2').props.outputs, gtIn: store.node('block:gt_2').props.inputs,
                 at: store.layout['block:gen_2'] };
    """)
    assert sorted(result["added"]) == ["block:gen_2", "block:gt_2", "signal:gen_sine_out_2"]
    assert result["unique"]
    assert sorted(result["pasted"]) == ["block:gen_2->signal:gen_sine_out_2", "signal:gen_sine_out_2->block:gt_2"]
    assert result["name"] == "gen_2" and result["selected"] == result["added"]
    assert result["at"] == {"x": 40, "y": 40}
    assert result["genOut"] == {"sine_out": "gen_sine_out_2"} and result["gtIn"] == {"in1": "gen_sine_out_2"}


def test_fresh_names_and_search(page):
    result = run(page, GRAPH_JS + """
        return { a: S.freshName('GT', new Set(['gt'])), b: S.freshName('gt_2', new Set(['gt', 'gt_2'])),
                 c: S.freshName('9 lives', new Set()), found: store.search('GT'), none: store.search('  ') };
    """)
    assert (result["a"], result["b"], result["c"]) == ("gt_2", "gt_3", "_9_lives")
    assert result["found"] == ["block:gt"] and result["none"] == []


def test_every_shortcut_in_the_help_table_reaches_its_action(page):
    result = run(page, """
        const ev = (key, o = {}) => ({ key, ctrlKey: false, metaKey: false, shiftKey: false, ...o });
        const parse = (spec) => {
            const parts = spec.split('+').filter(Boolean);
            const key = spec.endsWith('++') || spec === '+' ? '+' : parts[parts.length - 1];
            const shift = parts.includes('Shift');
            const named = key.length === 1 ? (shift ? key.toUpperCase() : key.toLowerCase()) : key;
            return ev(named, { ctrlKey: parts.includes('Ctrl'), shiftKey: shift });
        };
        const misses = [];
        for (const s of K.SHORTCUTS) for (const k of s.keys) {
            const got = K.actionOf(parse(k));
            if (got !== s.action) misses.push(`${k}: ${got} != ${s.action}`);
        }
        return { misses, nudge: K.actionOf(ev('ArrowUp', { shiftKey: true })), typing: K.actionOf(ev('x')) };
    """)
    assert result["misses"] == []
    assert result["nudge"] == "nudgeUp" and result["typing"] is None


def test_the_property_panel_reads_each_field_as_its_schema_type(page):
    result = run(page, """
        return {
            kinds: [{ enum: ['a'] }, { type: 'boolean' }, { type: 'integer' }, { type: 'number' },
                    { type: ['number', 'string'] }, { type: 'array' }, { type: 'string' }].map(F.fieldKind),
            values: [F.parseField('number', '2.5'), F.parseField('integer', '7'), F.parseField('bool', 'false'),
                     F.parseField('scalar', 'setpoint_sig'), F.parseField('scalar', '80'),
                     F.parseField('json', '["a", "b"]'), F.parseField('text', '') === undefined],
            units: [F.unitOf('delay_seconds', {}), F.unitOf('scan_time_ms', {}),
                    F.unitOf('setpoint', { 'x-unit': 'bar' }), F.unitOf('name', {})],
        };
    """)
    assert result["kinds"] == ["enum", "bool", "integer", "number", "scalar", "json", "text"]
    assert result["values"] == [2.5, 7, False, "setpoint_sig", 80, ["a", "b"], True]
    assert result["units"] == ["s", "ms", "bar", ""]
