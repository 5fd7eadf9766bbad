// The Designer page (#/designer): palette, canvas, property panel, live YAML,
// continuous check and deploy. Everything it knows about PETRA's config comes
// from the server (palette from the generated schema, graph <-> YAML, check,
// plan, deploy: petra/designer/api.py); a new block type appears here without
// a change to this code.
//
// data-test: designer, designer-palette, palette-search, palette-item (data-kind, data-type), designer-new,
// designer-examples, designer-import, designer-export-yaml, designer-export-layout, designer-save,
// designer-undo, designer-redo, designer-delete, designer-fit, designer-zoom-in, designer-zoom-out,
// designer-search, designer-help-button, designer-deployed, designer-check (data-state checking|ok|errors|failed),
// designer-deploy (engineers only), designer-yaml, designer-yaml-error, designer-problems, problem (data-node,
// data-field), designer-status, designer-draft; the canvas's and the property panel's in canvas.js, form.js.
import { h, fill, toast } from '../dom.js';
import { Store, freshName, nameKey, nodeName } from './store.js';
import { Canvas, NODE_W, spread } from './canvas.js';
import { Sync } from './sync.js';
import { schemaFields, showFieldErrors } from './form.js';
import { deployDialog, download } from './deploy.js';
import { SHORTCUTS, actionOf } from './keys.js';
import { planWire, signalNode, unwire } from './wires.js';
import { YamlPane } from './yamlpane.js';

const NEW_PLANT = '# A new PETRA plant, drawn in the designer.\nnode_id: new-plant\nscan_time_ms: 100\n';
const DRAFT_KEY = 'petra.designer.draft';

function ensureStyles() {
  if (document.querySelector('link[data-designer-css]')) return;
  document.head.append(h('link', { rel: 'stylesheet', href: '/static/designer.css', 'data-designer-css': 'true' }));
}

/** The palette's entries: every block type, then every type of every other node kind the server names. */
export function paletteItems(palette) {
  const items = (palette.blocks || []).map((b) => ({ kind: 'block', type: b.type, title: b.type, description: b.description || '' }));
  for (const [kind, spec] of Object.entries(palette.kinds || {})) {
    if (kind === 'block' || kind === 'mapping') continue; // a mapping belongs to a connection: drawn from its signal
    const types = spec.types ? Object.entries(spec.types) : [['', spec]];
    for (const [type, sub] of types) {
      if (kind === 'section' && type === 'plant') continue; // always there
      items.push({ kind, type, title: type ? `${kind} · ${type}` : kind,
        description: sub.schema?.description || spec.schema?.description || '', section: sub.section });
    }
  }
  return items;
}

/** The schema of one item of a node kind (and type). */
export function kindSchema(palette, kind, type) {
  const spec = palette.kinds?.[kind];
  return spec?.types?.[type]?.schema || spec?.schema || null;
}

/** The key a kind's item is named by (null: the kind's id is its type, e.g. tier:local, notifier:email). */
export function keyFor(kind, palette) {
  if (kind === 'block') return 'name';
  if (kind === 'escalation') return 'alarm';
  if (kind === 'notifier' || kind === 'tier' || kind === 'section') return null;
  return nameKey(palette.kinds?.[kind]?.schema);
}

/** A new node of a palette item (a block's ports from the palette; the server completes the rest). */
export function newNode(item, palette, taken, existing = new Set()) {
  if (item.kind === 'block') {
    const spec = (palette.blocks || []).find((b) => b.type === item.type) || { inputs: [], outputs: [] };
    const name = freshName(item.type.toLowerCase(), taken);
    return { id: `block:${name}`, kind: 'block', type: item.type, label: name, path: null,
      ports: { inputs: spec.inputs.map((p) => ({ name: p.name, type: p.type })), outputs: spec.outputs.map((p) => ({ name: p.name, type: p.type })) },
      props: { name, type: item.type, inputs: {}, outputs: {} } };
  }
  const key = keyFor(item.kind, palette);
  const fixed = key === null || (item.kind === 'connection' && item.type === 'mqtt');
  const name = fixed ? item.type : freshName(item.type || item.kind, taken);
  const id = item.kind === 'connection' && !fixed ? `connection:${item.type}/${name}` : `${item.kind}:${name}`;
  if (existing.has(id)) return null;
  const props = key && !fixed ? { [key]: name } : {};
  if (item.kind === 'connection' && !fixed) props.name = name;
  if (item.kind === 'tier' && item.type === 'remote') props.type = 'clickhouse';
  if (item.kind === 'escalation') props.contacts = [];
  if (item.kind === 'signal') return { ...signalNode(name, ''), implicit: false, props: { name, type: 'float' }, type: 'float' };
  return { id, kind: item.kind, type: item.type || '', label: name, path: null, ports: { inputs: [], outputs: [] }, props };
}

export async function mount(el, ctx) {
  performance.mark('designer:mount'); // the marks: benchmarks/designer.py splits the time to interactive
  ensureStyles();
  const api = ctx.api;
  const engineer = ctx.may('engineer');
  const store = new Store();
  store.arrange = spread;
  const palette = await api.get('/v1/designer/palette');
  performance.mark('designer:palette');
  let examples = [];
  try { examples = (await api.get('/v1/designer/examples')).examples || []; } catch { examples = []; }
  let clipboard = null;
  let requireSigned = false;
  let errorsByNode = new Map();

  // --- layout ---------------------------------------------------------------
  const check = h('span', { class: 'designer-check', 'data-test': 'designer-check', 'data-state': 'checking' }, 'checking…');
  const status = h('span', { class: 'muted designer-status', 'data-test': 'designer-status' });
  const deployed = h('span', { class: 'muted', 'data-test': 'designer-deployed', hidden: true });
  const search = h('input', { type: 'search', placeholder: 'Search nodes', 'data-test': 'designer-search', class: 'designer-search' });
  const fileInput = h('input', { type: 'file', accept: '.yaml,.yml,.json', hidden: true, 'data-test': 'designer-import-file' });
  const exampleSelect = h('select', { 'data-test': 'designer-examples', title: 'Start from an example in configs/' },
    h('option', { value: '' }, 'Examples…'),
    examples.map((x) => h('option', { value: x.name, title: x.description || x.file || '' }, x.name)));
  const button = (test, label, onclick, title) => h('button', { type: 'button', class: 'btn small', 'data-test': test, onclick, title }, label);
  const deployButton = engineer ? h('button', { type: 'button', class: 'btn primary', 'data-test': 'designer-deploy',
    disabled: true, onclick: () => deploy() }, 'Deploy…') : null;
  const toolbar = h('div', { class: 'toolbar designer-toolbar' },
    button('designer-new', 'New', () => newPlant(), 'An empty canvas (this plant\'s other settings kept)'),
    exampleSelect,
    button('designer-import', 'Import…', () => fileInput.click(), 'A YAML config or its .layout.json'), fileInput,
    button('designer-export-yaml', '⤓ YAML', () => download(store.file.split('/').pop(), store.yaml), 'Download the YAML'),
    button('designer-export-layout', '⤓ Layout', () => download(`${store.file.split('/').pop()}.layout.json`,
      `${JSON.stringify(store.layoutFile(), null, 2)}\n`, 'application/json'), 'Download the layout side file'),
    button('designer-save', 'Save', () => saveDraft(), 'Keep the draft and its layout in this browser (Ctrl+S)'),
    h('span', { class: 'sep' }),
    button('designer-undo', 'Undo', () => act('undo'), 'Ctrl+Z'),
    button('designer-redo', 'Redo', () => act('redo'), 'Ctrl+Shift+Z'),
    button('designer-delete', 'Delete', () => act('delete'), 'Delete'),
    h('span', { class: 'sep' }),
    button('designer-zoom-out', '−', () => act('zoomOut'), 'Zoom out (-)'),
    button('designer-zoom-in', '+', () => act('zoomIn'), 'Zoom in (+)'),
    button('designer-fit', 'Fit', () => act('fit'), 'Fit (0)'),
    search,
    button('designer-help-button', '?', () => toggleHelp(), 'Keyboard shortcuts (?)'),
    h('span', { class: 'grow' }),
    deployed, check, deployButton);

  const paletteSearch = h('input', { type: 'search', placeholder: 'Filter', 'data-test': 'palette-search' });
  const paletteList = h('div', { class: 'palette-list' });
  const items = paletteItems(palette);
  const renderPalette = () => {
    const needle = paletteSearch.value.trim().toLowerCase();
    const groups = new Map();
    for (const item of items) {
      if (needle && !`${item.title} ${item.description}`.toLowerCase().includes(needle)) continue;
      const group = item.kind === 'block' ? 'Blocks' : 'Plant';
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(item);
    }
    fill(paletteList, [...groups].map(([group, list]) => h('section', {},
      h('h3', {}, `${group} (${list.length})`),
      list.map((item) => {
        const entry = h('div', { class: `palette-item kind-${item.kind}`, draggable: 'true', tabindex: 0, 'data-test': 'palette-item',
          'data-kind': item.kind, 'data-type': item.type, title: item.description },
        h('strong', {}, item.title), item.description ? h('small', { class: 'muted' }, item.description) : null);
        entry.addEventListener('dragstart', (e) => {
          e.dataTransfer.setData('application/x-petra-node', JSON.stringify(item));
          e.dataTransfer.effectAllowed = 'copy';
        });
        const place = () => { const c = canvas.center(); addFromPalette(item, c.x, c.y); };
        entry.addEventListener('dblclick', place);
        entry.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); place(); } });
        return entry;
      }))));
  };
  paletteSearch.addEventListener('input', renderPalette);

  const props = h('div', { class: 'designer-props', 'data-test': 'props' });
  const yamlArea = new YamlPane((text) => {
    yamlError.hidden = true;
    sync.textChanged(text);
  });
  const yamlError = h('p', { class: 'error', 'data-test': 'designer-yaml-error', hidden: true });
  const problems = h('ul', { class: 'designer-problems', 'data-test': 'designer-problems' });
  const help = h('div', { class: 'designer-help', 'data-test': 'designer-help', hidden: true },
    h('h2', {}, 'Keyboard shortcuts'),
    h('table', { class: 'grid' }, h('tbody', {}, SHORTCUTS.map((s) => h('tr', { 'data-test': 'shortcut', 'data-action': s.action },
      h('td', {}, s.keys.map((k) => h('kbd', {}, k))), h('td', {}, s.what))))),
    h('p', { class: 'muted' }, 'Mouse: drag a palette entry onto the canvas (or double-click it); drag from an output port to an input port to wire; '
      + 'drag the background to pan, the wheel zooms; Shift-drag selects many; a double-click opens a node\'s properties.'),
    button('designer-help-close', 'Close', () => toggleHelp(false)));
  const draft = h('div', { class: 'notice designer-draft', 'data-test': 'designer-draft', hidden: true });
  const center = h('div', { class: 'designer-center' }, status);
  const root = h('div', { class: 'designer', 'data-test': 'designer' },
    toolbar, draft,
    h('div', { class: 'designer-main' },
      h('aside', { class: 'designer-palette', 'data-test': 'designer-palette' }, paletteSearch, paletteList),
      center,
      h('aside', { class: 'designer-side' },
        h('h2', {}, 'Properties'), props,
        h('h2', {}, 'YAML ', h('small', { class: 'muted', 'data-test': 'designer-file' })), yamlArea.el, yamlError,
        h('h2', {}, 'Problems'), problems)),
    help);
  el.append(root);

  const sync = new Sync(api, store, {
    yaml: (text) => { yamlArea.value = text; },
    checked: (result) => showCheck(result),
    unreadable: (error) => {
      yamlError.textContent = `${error.location || ''}: ${error.message} (the graph shows the last text that was YAML)`;
      yamlError.hidden = false;
    },
    failed: (error, stage) => {
      if (stage === 'text') { yamlError.textContent = error.message; yamlError.hidden = false; }
      check.dataset.state = 'failed';
      check.textContent = stage === 'text' ? 'not YAML' : `${stage} failed`;
      check.title = error.message;
      if (stage !== 'text') toast(error.message, { error: true });
      updateDeploy();
    },
    busy: (flag) => { if (flag) { check.dataset.state = 'checking'; check.textContent = 'checking…'; updateDeploy(); } },
  });

  const canvas = new Canvas(center, store, {
    connect: async (from, to) => {
      await sync.flush();
      const answer = await api.post('/v1/designer/connect', { yaml: store.yaml, from, to });
      if (answer.ok) store.applyWire(planWire(store.graph, store.index, from, to, store.names()));
      return answer;
    },
    drop: (item, x, y) => addFromPalette(item, x - NODE_W / 2, y - 20),
    select: () => renderProps(),
    open: (id) => { store.selection = new Set([id]); renderProps(); props.querySelector('input, select, textarea')?.focus(); },
    moved: (positions, before) => store.moveNodes(positions, before),
  });

  store.onChange((why) => {
    if (why === 'graph' || why === 'props') sync.graphChanged();
    if (why === 'history') { yamlArea.value = store.yaml; sync.graphChanged(); }
    if (why !== 'layout') renderProps();
    status.textContent = `${store.graph.nodes.length} nodes · ${store.graph.edges.length} wires`;
  });

  // --- actions --------------------------------------------------------------
  function addFromPalette(item, x, y) {
    const node = newNode(item, palette, store.names(), new Set(store.index.keys()));
    if (!node) {
      const id = `${item.kind}:${item.type}`;
      toast(`${id} is there already: one per plant`);
      if (store.node(id)) { store.selection = new Set([id]); canvas.focus(id); renderProps(); }
      return;
    }
    store.addNode(node, x, y);
    canvas.el.focus({ preventScroll: true });
  }

  /** From the click that asks for another document until its check: "checking", not deployable. */
  function loading() {
    sync.lastCheck = null;
    check.dataset.state = 'checking';
    check.textContent = 'checking…';
    updateDeploy();
  }

  async function loadDoc(doc, { record = true, why = 'load' } = {}) {
    yamlError.hidden = true;
    loading();
    performance.mark('designer:graph-asked');
    const answer = await api.post('/v1/designer/graph', { yaml: doc.yaml, layout: doc.layout || null, file: doc.file || store.file });
    performance.mark('designer:graph-answered');
    const placed = new Set(Object.keys(doc.layout?.nodes || {}));
    store.load({ graph: answer.graph, layout: answer.layout?.nodes || answer.layout, yaml: doc.yaml, file: doc.file },
      { record, why, placed });
    yamlArea.value = doc.yaml;
    fill(root.querySelector('[data-test="designer-file"]'), store.file);
    performance.mark('designer:graph-loaded');
    canvas.setView(1, 40, 40);
    sync.loaded(answer);
    performance.mark('designer:checked');
    requestAnimationFrame(() => performance.mark('designer:drawn'));
  }

  async function newPlant() {
    // the plant's settings (section nodes: plant, web, security, ...) stay: everything drawn goes
    store.remember();
    const kept = store.graph.nodes.filter((n) => n.kind === 'section');
    const ids = new Set(kept.map((n) => n.id));
    store.load({ graph: { nodes: kept, edges: [] },
      layout: Object.fromEntries(Object.entries(store.layout).filter(([id]) => ids.has(id))) }, { why: 'graph', server: false });
  }

  function saveDraft() {
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify({ yaml: store.yaml, layout: store.layoutFile(), file: store.file, at: Date.now() }));
      toast('Draft and layout kept in this browser (Deploy puts them on the plant)');
    } catch (error) {
      toast(`cannot keep the draft: ${error.message}`, { error: true });
    }
  }

  function offerDraft() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(DRAFT_KEY) || 'null'); } catch { saved = null; }
    if (!saved || saved.yaml === store.yaml) return;
    fill(draft, `A draft saved ${new Date(saved.at).toLocaleString()} is kept in this browser. `,
      button('designer-draft-restore', 'Open it', async () => { draft.hidden = true; await loadDoc(saved); }),
      ' ', button('designer-draft-discard', 'Discard', () => { localStorage.removeItem(DRAFT_KEY); draft.hidden = true; }));
    draft.hidden = false;
  }

  async function deploy() {
    if (!engineer) return;
    await sync.flush();
    if (!sync.deployable()) { toast('Not deployable: the check has errors', { error: true }); return; }
    const answer = await deployDialog(api, { yaml: store.yaml, layout: store.layoutFile(), file: store.file });
    if (answer?.applied) {
      toast('Deployed: the running PETRA reloaded');
      deployed.textContent = `deployed ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
      deployed.hidden = false;
    }
  }

  function toggleHelp(show) {
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  function nudge(dx, dy) {
    if (!store.selection.size) return;
    const before = structuredClone(store.layout);
    const positions = {};
    for (const id of store.selection) {
      const p = store.layout[id] || { x: 0, y: 0 };
      positions[id] = { x: p.x + dx, y: p.y + dy };
    }
    store.moveNodes(positions, before);
  }

  function act(action) {
    const step = 80;
    switch (action) {
      case 'undo': if (!store.undo()) toast('Nothing to undo'); break;
      case 'redo': if (!store.redo()) toast('Nothing to redo'); break;
      case 'copy': clipboard = store.copy(); if (clipboard) toast(`${clipboard.nodes.length} copied`); break;
      case 'cut': clipboard = store.copy(); store.deleteSelected([], unwiring); break;
      case 'paste': store.paste(clipboard, 40, keyOf); break;
      case 'duplicate': store.paste(store.copy(), 40, keyOf); break;
      case 'selectAll': store.selection = new Set(store.graph.nodes.map((n) => n.id)); canvas.schedule(); renderProps(); break;
      case 'delete': {
        const edges = [...canvas.selectedEdges];
        canvas.selectedEdges = new Set();
        store.deleteSelected(edges, unwiring);
        break;
      }
      case 'save': saveDraft(); break;
      case 'search': search.focus(); search.select(); break;
      case 'zoomIn': canvas.zoomBy(1.25); break;
      case 'zoomOut': canvas.zoomBy(0.8); break;
      case 'fit': canvas.fit(); break;
      case 'panLeft': canvas.setView(canvas.k, canvas.tx + step, canvas.ty); break;
      case 'panRight': canvas.setView(canvas.k, canvas.tx - step, canvas.ty); break;
      case 'panUp': canvas.setView(canvas.k, canvas.tx, canvas.ty + step); break;
      case 'panDown': canvas.setView(canvas.k, canvas.tx, canvas.ty - step); break;
      case 'nudgeLeft': nudge(-20, 0); break;
      case 'nudgeRight': nudge(20, 0); break;
      case 'nudgeUp': nudge(0, -20); break;
      case 'nudgeDown': nudge(0, 20); break;
      case 'escape': store.selection = new Set(); canvas.selectedEdges = new Set(); toggleHelp(false); canvas.schedule(); renderProps(); break;
      case 'deploy': deploy(); break;
      case 'help': toggleHelp(); break;
      default: return false;
    }
    return true;
  }

  function unwiring(edge) { return unwire(edge, store.index); }

  function keyOf(kind) {
    return keyFor(kind, palette) || 'name';
  }

  const onKey = (event) => {
    if (document.querySelector('dialog[open]')) return;
    const target = event.target;
    const editing = target instanceof HTMLElement && (target.closest('input, textarea, select, [contenteditable]'));
    if (editing) {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') { event.preventDefault(); saveDraft(); }
      if (event.key === 'Escape' && target === search) { search.value = ''; canvas.setHighlight([]); canvas.el.focus(); }
      return;
    }
    const action = actionOf(event);
    if (action && act(action)) event.preventDefault();
  };
  document.addEventListener('keydown', onKey);

  search.addEventListener('input', () => {
    const found = store.search(search.value);
    canvas.setHighlight(found);
    search.dataset.found = String(found.length);
  });
  search.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const found = store.search(search.value);
    if (!found.length) { toast(`No node matches "${search.value}"`); return; }
    const i = (Number(search.dataset.at || -1) + 1) % found.length;
    search.dataset.at = String(i);
    store.selection = new Set([found[i]]);
    canvas.focus(found[i]);
    renderProps();
  });


  exampleSelect.addEventListener('change', async () => {
    const name = exampleSelect.value;
    exampleSelect.value = '';
    if (!name) return;
    loading();
    try {
      const doc = await api.get(`/v1/designer/examples/${encodeURIComponent(name)}`);
      const file = examples.find((x) => x.name === name)?.file?.split('/').pop() || `${name}.yaml`;
      await loadDoc({ yaml: doc.yaml, layout: doc.layout, file });
      toast(`Example ${name} opened`);
    } catch (error) {
      toast(error.message, { error: true });
      sync.checkNow();
    }
  });

  fileInput.addEventListener('change', async () => {
    const chosen = fileInput.files?.[0];
    fileInput.value = '';
    if (!chosen) return;
    const text = await chosen.text();
    try {
      if (chosen.name.endsWith('.json')) {
        const layout = JSON.parse(text);
        store.remember();
        store.layout = { ...store.layout, ...(layout.nodes || layout) };
        store.emit('load');
        toast(`Layout ${chosen.name} applied`);
      } else {
        await loadDoc({ yaml: text, file: chosen.name });
        toast(`${chosen.name} imported`);
      }
    } catch (error) {
      toast(`${chosen.name}: ${error.message}`, { error: true });
    }
  });

  // --- check results ----------------------------------------------------------
  function showCheck(result) {
    yamlError.hidden = true;
    const errors = result.errors || [];
    const warnings = result.warnings || [];
    errorsByNode = new Map();
    for (const e of errors) {
      if (!e.node) continue;
      if (!errorsByNode.has(e.node)) errorsByNode.set(e.node, []);
      errorsByNode.get(e.node).push(e);
    }
    canvas.setErrors(errorsByNode);
    check.dataset.state = result.ok ? 'ok' : 'errors';
    check.textContent = result.ok ? (warnings.length ? `valid · ${warnings.length} warnings` : 'valid')
      : `${errors.length} error${errors.length === 1 ? '' : 's'}`;
    check.title = result.ok ? 'petra check finds nothing wrong' : errors.map((e) => `${e.location}: ${e.message}`).join('\n');
    const line = (e, level) => h('li', { class: `problem ${level}`, 'data-test': 'problem', 'data-level': level,
      'data-node': e.node || '', 'data-field': e.field || '', tabindex: 0, onclick: () => gotoProblem(e) },
    h('code', {}, e.location || ''), ' ', e.path?.length ? h('span', { class: 'muted' }, `${formatPath(e.path)}: `) : null, e.message);
    fill(problems, errors.map((e) => line(e, 'error')), warnings.map((e) => line(e, 'warning')),
      errors.length || warnings.length ? null : h('li', { class: 'muted', 'data-test': 'problems-none' }, 'none'));
    renderProps();
    updateDeploy();
  }

  function formatPath(path) {
    return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
  }

  function gotoProblem(e) {
    if (e.node && store.node(e.node)) {
      store.selection = new Set([e.node]);
      canvas.focus(e.node);
      renderProps();
      const key = fieldKey(e);
      if (key) props.querySelector(`[data-key="${CSS.escape(key)}"]`)?.closest('.prop')?.querySelector('input, select, textarea')?.focus();
    }
    if (e.line) yamlArea.select(e.line);
  }

  function updateDeploy() {
    if (!deployButton) return;
    const ok = sync.deployable();
    deployButton.disabled = !ok;
    deployButton.title = ok ? (requireSigned ? 'Plan first; this PETRA requires a signature' : 'Plan first, then apply')
      : 'Fix the problems first: the check must pass';
  }

  // --- property panel ---------------------------------------------------------
  function renderProps() {
    const ids = [...store.selection];
    if (ids.length !== 1) {
      delete props.dataset.node;
      fill(props, h('p', { class: 'muted', 'data-test': 'props-none' },
        ids.length ? `${ids.length} nodes selected` : 'Select a node to see its properties.'));
      return;
    }
    const node = store.node(ids[0]);
    if (!node) return;
    const fieldErrors = new Map();
    for (const e of errorsByNode.get(node.id) || []) {
      const key = fieldKey(e);
      if (!fieldErrors.has(key)) fieldErrors.set(key, []);
      fieldErrors.get(key).push(e.message);
    }
    if (props.dataset.node === node.id && props.contains(document.activeElement)) {
      // not redrawn under the engineer's cursor (drawn again when the focus leaves the panel): the errors are
      // shown on the fields as they are
      props.__stale = true;
      showFieldErrors(props, fieldErrors);
      return;
    }
    props.__stale = false;
    props.dataset.node = node.id;
    const general = fieldErrors.get('') || [];
    const set = (path) => (key, value) => {
      // by id, not the node drawn: a sync may have loaded the server's graph (new node objects) while the panel,
      // focused, was kept as it was
      if (key === keyFor(node.kind, palette) && path.length === 0 && value && node.kind !== 'escalation') {
        const current = store.node(node.id);
        return current ? rename(current, value) : undefined;
      }
      store.setProp(node.id, [...path, key], value);
      return undefined;
    };
    const parts = [h('p', { class: 'props-title' }, h('strong', {}, node.label || node.id), ' ',
      h('span', { class: 'muted' }, `${node.kind}${node.type ? ` · ${node.type}` : ''}`))];
    const generalLine = h('p', { class: 'error', 'data-test': 'props-error', hidden: !general.length }, general.join('; '));
    parts.push(generalLine);
    if (node.kind === 'block') {
      const spec = (palette.blocks || []).find((b) => b.type === node.type);
      parts.push(...schemaFields({ properties: { name: { type: 'string', description: 'Unique block name.' } }, required: ['name'] },
        node.props, set([]), fieldErrors));
      if (spec?.description) parts.push(h('p', { class: 'muted' }, spec.description));
      const wired = new Set(store.graph.edges.filter((e) => e.to.node === node.id).map((e) => e.to.port));
      const open = (spec?.inputs || []).filter((p) => !wired.has(p.name));
      if (open.length) {
        parts.push(h('h3', {}, 'Unwired inputs (a constant, or empty)'));
        parts.push(...schemaFields({ properties: Object.fromEntries(open.map((p) => [p.name,
          { type: p.type === 'bool' ? 'boolean' : p.type === 'int' ? 'integer' : p.type === 'string' ? 'string' : 'number',
            description: `${p.type || ''}${p.required ? ', required' : ''}${p.description ? `: ${p.description}` : ''}`,
            default: p.default ?? undefined }])), required: open.filter((p) => p.required).map((p) => p.name) },
        node.props?.inputs || {}, set(['inputs']), fieldErrors, { prefix: 'prop-input' }));
      }
      if (spec?.params && Object.keys(spec.params.properties || {}).length) {
        parts.push(h('h3', {}, 'Parameters'));
        parts.push(...schemaFields(spec.params, node.props?.params || {}, set(['params']), fieldErrors));
      }
    } else {
      const schema = kindSchema(palette, node.kind, node.type);
      if (schema) parts.push(...schemaFields(schema, node.props || {}, set([]), fieldErrors));
      else parts.push(h('pre', { class: 'props-raw' }, JSON.stringify(node.props || {}, null, 2)));
    }
    fill(props, parts);
    // an error of a field the panel has no input for (e.g. a wired input) is said above the fields
    const shown = new Set([...props.querySelectorAll('.field-error')].map((el) => el.dataset.key));
    const rest = [...fieldErrors].filter(([key]) => key && !shown.has(key)).map(([key, m]) => `${key}: ${m.join('; ')}`);
    if (rest.length) {
      generalLine.textContent = [...general, ...rest].join('; ');
      generalLine.hidden = false;
    }
  }

  /** The property panel's key for an error: the field, or within params/inputs/outputs the key under it. */
  function fieldKey(e) {
    if (!e.field) return '';
    const path = e.path || [];
    const at = path.lastIndexOf(e.field);
    const below = at >= 0 ? path[at + 1] : undefined;
    if (['params', 'inputs', 'outputs'].includes(e.field) && typeof below === 'string') return below;
    return e.field;
  }

  function rename(node, name) {
    // the node keeps its id until the server's graph of the new text names it anew (the server renames the
    // references to it: roundtrip.py); its place is kept under both ids
    const taken = store.names();
    taken.delete(nodeName(node.id));
    if (taken.has(name)) { toast(`${name} is taken`, { error: true }); renderProps(); return; }
    const id = node.kind === 'connection' ? `connection:${node.type}/${name}` : `${node.kind}:${name}`;
    store.remember();
    node.label = name;
    node.props = { ...node.props, [keyOf(node.kind)]: name };
    if (store.layout[node.id]) store.layout[id] = { ...store.layout[node.id] };
    store.selection.add(id);
    store.emit('props');
  }

  props.addEventListener('focusout', (event) => {
    if (props.__stale && !props.contains(event.relatedTarget)) setTimeout(renderProps, 0);
  });

  // --- start ------------------------------------------------------------------
  renderPalette();
  let first = { yaml: NEW_PLANT, layout: null, file: 'plant.yaml' };
  if (engineer) {
    try {
      const current = await api.get('/v1/designer/current');
      requireSigned = !!current.require_signed_config;
      first = { yaml: current.yaml, layout: current.layout, file: current.file || 'plant.yaml' };
    } catch (error) {
      toast(`the running config: ${error.message}`, { error: true });
    }
  }
  await loadDoc(first, { record: false });
  offerDraft();

  // for benchmarks/designer.py and the tests: the page's parts, read-only use
  window.__designer = { store, canvas, sync };
  return () => {
    document.removeEventListener('keydown', onKey);
    canvas.destroy();
    clearTimeout(sync.timer);
    delete window.__designer;
  };
}
