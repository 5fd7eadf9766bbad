// The designer's document, without the DOM: the graph (nodes, edges as the
// server's POST /v1/designer/graph gives them), the layout (node id -> {x, y}),
// the YAML text they came from, the selection, undo/redo and the clipboard.
// Every edit is a new snapshot (structuredClone of the graph and layout, ~1 ms
// for 2,000 nodes) so undo is exact and the server stays the only one that
// turns a graph into YAML.

const HISTORY = 100;

/** A node's name (the part of its id after "kind:"). */
export function nodeName(id) {
  const at = id.indexOf(':');
  return at < 0 ? id : id.slice(at + 1);
}

/** A name like `base` not yet used among `taken` (a Set of names): gt, gt_2, gt_3, ... */
export function freshName(base, taken) {
  const clean = String(base || 'node').toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').replace(/^([^a-z_])/, '_$1');
  if (!taken.has(clean)) return clean;
  const stem = clean.replace(/_\d+$/, '');
  for (let i = 2; ; i += 1) {
    const name = `${stem}_${i}`;
    if (!taken.has(name)) return name;
  }
}

/** The key a kind's item is named by in its config (an alarm's and a contact's `id`, most others' `name`). */
export function nameKey(schema) {
  const props = (schema && schema.properties) || {};
  if ('name' in props && !('id' in props)) return 'name';
  if ('id' in props) return 'id';
  return 'name';
}

/**
 * A copy's props with the names of other copied nodes changed to the copies' names (`renamed`: old node id ->
 * new node id); a block output into a signal that was not copied is dropped (it would be its second writer).
 */
export function renameRefs(node, renamed) {
  const byKind = (kind, name) => {
    const id = renamed.get(`${kind}:${name}`);
    return id ? nodeName(id) : name;
  };
  const p = node.props || {};
  const swap = (obj, key, kind) => { if (typeof obj?.[key] === 'string') obj[key] = byKind(kind, obj[key]); };
  if (node.kind === 'block') {
    for (const port of Object.keys(p.inputs || {})) {
      const value = p.inputs[port];
      if (typeof value === 'string' && !/^[-+\d.]|^(true|false)$/i.test(value)) {
        const previous = value.endsWith('@prev');
        const name = previous ? value.slice(0, -5) : value;
        p.inputs[port] = byKind('signal', name) + (previous ? '@prev' : '');
      }
    }
    for (const port of Object.keys(p.outputs || {})) {
      if (renamed.has(`signal:${p.outputs[port]}`)) swap(p.outputs, port, 'signal');
      else delete p.outputs[port];
    }
    swap(p, 'task', 'task');
  } else if (node.kind === 'alarm') {
    for (const key of ['signal', 'setpoint', 'suppress_when']) swap(p, key, 'signal');
  } else if (node.kind === 'escalation') {
    swap(p, 'alarm', 'alarm');
    if (Array.isArray(p.contacts)) p.contacts = p.contacts.map((c) => byKind('contact', c));
  } else if (node.kind === 'task' && Array.isArray(p.trigger)) {
    p.trigger = p.trigger.map((s) => byKind('signal', s));
  } else if (node.kind === 'action') {
    swap(p, 'trigger_signal', 'signal');
  } else if (node.kind === 'mapping') {
    swap(p, 'signal', 'signal');
  }
  return node;
}

/** What the server compares of a node (its kind, type, implicit flag and props). */
export function stamp(node) {
  return JSON.stringify([node.kind, node.type || '', !!node.implicit, node.props || {}]);
}

export class Store {
  constructor() {
    this.graph = { nodes: [], edges: [] };
    this.layout = {};
    this.yaml = '';
    this.file = 'plant.yaml';
    this.selection = new Set();
    this.undoStack = [];
    this.redoStack = [];
    this.listeners = new Set();
    this.index = new Map();
  }

  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(why) { for (const fn of this.listeners) fn(why); }

  /** Replace the whole document (a load, an example, an import, or the server's answer to a YAML edit). */
  load({ graph, layout, yaml, file }, { record = false, why = 'load', server = true, placed = null } = {}) {
    if (record) this.remember();
    const given = placed || new Set(Object.keys(this.layout));
    this.graph = { nodes: graph?.nodes || [], edges: graph?.edges || [] };
    this.layout = { ...(layout || {}) };
    if (server && this.arrange) {
      // nodes the server placed (not in the layout the page sent): its rows are one height, nodes are not
      const fresh = new Set(this.graph.nodes.filter((n) => !given.has(n.id)).map((n) => n.id));
      if (fresh.size) this.arrange(this.layout, this.graph.nodes, fresh);
    }
    if (yaml !== undefined) this.yaml = yaml;
    if (file) this.file = file;
    this.reindex();
    for (const id of [...this.selection]) if (!this.index.has(id)) this.selection.delete(id);
    if (server) {
      this.baseline = new Map(this.graph.nodes.map((n) => [n.id, stamp(n)]));
      this.baselineYaml = this.yaml;
    }
    this.emit(why);
  }

  /**
   * What to post to POST /v1/designer/yaml: only the nodes that differ from the server's graph of the base text
   * and the ids of those removed ("partial": a 2,000-node plant's graph is not sent whole for one edit), or the
   * whole graph when the base text is not the one that graph was read from.
   */
  changes() {
    if (!this.baseline || this.baselineYaml !== this.yaml) return { ...this.graph };
    const nodes = this.graph.nodes.filter((n) => this.baseline.get(n.id) !== stamp(n));
    const removed = [...this.baseline.keys()].filter((id) => !this.index.has(id));
    return { nodes, edges: [], partial: true, removed };
  }

  reindex() {
    this.index = new Map(this.graph.nodes.map((n) => [n.id, n]));
  }

  node(id) { return this.index.get(id); }

  names() { return new Set(this.graph.nodes.map((n) => nodeName(n.id))); }

  snapshot() {
    return { graph: structuredClone(this.graph), layout: structuredClone(this.layout), yaml: this.yaml };
  }

  /** Keep the current state for undo (before an edit). */
  remember() {
    this.undoStack.push(this.snapshot());
    if (this.undoStack.length > HISTORY) this.undoStack.shift();
    this.redoStack.length = 0;
  }

  undo() { return this.step(this.undoStack, this.redoStack); }

  redo() { return this.step(this.redoStack, this.undoStack); }

  step(from, to) {
    if (!from.length) return false;
    to.push(this.snapshot());
    const state = from.pop();
    this.graph = state.graph;
    this.layout = state.layout;
    this.yaml = state.yaml;
    this.reindex();
    for (const id of [...this.selection]) if (!this.index.has(id)) this.selection.delete(id);
    this.emit('history');
    return true;
  }

  /** Add a node at (x, y); returns it. */
  addNode(node, x, y) {
    this.remember();
    this.graph.nodes.push(node);
    this.index.set(node.id, node);
    this.layout[node.id] = { x: Math.round(x), y: Math.round(y) };
    this.selection = new Set([node.id]);
    this.emit('graph');
    return node;
  }

  addEdge(edge) {
    this.remember();
    this.graph.edges.push(edge);
    this.emit('graph');
  }

  /**
   * Remove the selected nodes (and their edges) and the given edge ids; `unwire(edge)` names the prop edit
   * that takes a removed edge out of the config (its holder's field), applied where the holder stays.
   */
  deleteSelected(edgeIds = [], unwire = () => null) {
    const ids = this.selection;
    const dropEdges = new Set(edgeIds);
    if (!ids.size && !dropEdges.size) return false;
    this.remember();
    for (const e of this.graph.edges) {
      if (!dropEdges.has(e.id) && !ids.has(e.from.node) && !ids.has(e.to.node)) continue;
      const change = unwire(e);
      if (change && !ids.has(change.node)) this.change(change);
    }
    this.graph.nodes = this.graph.nodes.filter((n) => !ids.has(n.id));
    this.graph.edges = this.graph.edges.filter((e) =>
      !dropEdges.has(e.id) && !ids.has(e.from.node) && !ids.has(e.to.node));
    for (const id of ids) delete this.layout[id];
    this.selection = new Set();
    this.reindex();
    this.emit('graph');
    return true;
  }

  /**
   * One prop edit without its own undo step: {node, path, value} sets (undefined removes), `append` adds
   * `value` to the list at `path`, `removeAt` / `removeValue` take an item out of it.
   */
  change({ node: id, path, value, append = false, removeAt, removeValue }) {
    const node = this.node(id);
    if (!node) return;
    node.props = node.props || {};
    let at = node.props;
    for (const key of path.slice(0, -1)) {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
      at = at[key];
    }
    const last = path[path.length - 1];
    if (append) {
      const list = Array.isArray(at[last]) ? at[last] : at[last] === undefined || at[last] === null ? [] : [at[last]];
      if (!list.includes(value)) list.push(value);
      at[last] = list;
    } else if (removeAt !== undefined || removeValue !== undefined) {
      if (Array.isArray(at[last])) {
        at[last] = at[last].filter((item, i) => (removeAt !== undefined ? i !== removeAt : item !== removeValue));
      }
    } else if (value === undefined) {
      delete at[last];
    } else {
      at[last] = value;
    }
  }

  /** A wire's plan (wires.js planWire): its new nodes placed between the two ends, its edits, its edges. */
  applyWire(plan) {
    this.remember();
    const a = this.layout[plan.ask.from.node] || { x: 0, y: 0 };
    const b = this.layout[plan.ask.to.node] || { x: 0, y: 0 };
    plan.nodes.forEach((node, i) => {
      if (this.index.has(node.id)) return;
      this.graph.nodes.push(node);
      this.index.set(node.id, node);
      // below the two ends, between them: not on top of either
      this.layout[node.id] = { x: Math.round((a.x + b.x) / 2), y: Math.round(Math.max(a.y, b.y) + 150 + i * 80) };
    });
    for (const change of plan.props) this.change(change);
    const have = new Set(this.graph.edges.map((e) => e.id));
    for (const edge of plan.edges) if (!have.has(edge.id)) this.graph.edges.push(edge);
    this.emit('graph');
  }

  /** Set one of a node's props (`path` a key list, e.g. ['params', 'frequency']); undefined removes it. */
  setProp(id, path, value) {
    const node = this.node(id);
    if (!node) return;
    this.remember();
    node.props = node.props || {};
    let at = node.props;
    for (const key of path.slice(0, -1)) {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
      at = at[key];
    }
    const last = path[path.length - 1];
    if (value === undefined) delete at[last]; else at[last] = value;
    this.emit('props');
  }

  /** Move nodes (a drag ended): positions, one undo step for the whole drag. */
  moveNodes(positions, before) {
    this.undoStack.push({ graph: structuredClone(this.graph), layout: before, yaml: this.yaml });
    this.redoStack.length = 0;
    for (const [id, p] of Object.entries(positions)) this.layout[id] = { x: Math.round(p.x), y: Math.round(p.y) };
    this.emit('layout');
  }

  /** The selected nodes and the edges between them, for the clipboard. */
  copy() {
    const ids = this.selection;
    if (!ids.size) return null;
    return {
      nodes: this.graph.nodes.filter((n) => ids.has(n.id)).map((n) => structuredClone(n)),
      edges: this.graph.edges.filter((e) => ids.has(e.from.node) && ids.has(e.to.node)).map((e) => structuredClone(e)),
      layout: Object.fromEntries([...ids].map((id) => [id, this.layout[id] || { x: 0, y: 0 }])),
    };
  }

  /** Paste a clipboard: fresh names (and ids) for its nodes, moved by `offset`; the pasted nodes are selected. */
  paste(clip, offset = 40, keyOf = () => 'name') {
    if (!clip || !clip.nodes.length) return [];
    this.remember();
    const taken = this.names();
    const renamed = new Map();
    const added = [];
    for (const original of clip.nodes) {
      const node = structuredClone(original);
      const kind = node.kind;
      const name = freshName(nodeName(original.id), taken);
      taken.add(name);
      node.id = `${kind}:${name}`;
      node.label = name;
      node.path = null;
      node.props = node.props || {};
      node.props[keyOf(kind)] = name;
      renamed.set(original.id, node.id);
      const at = clip.layout[original.id] || { x: 0, y: 0 };
      this.layout[node.id] = { x: at.x + offset, y: at.y + offset };
      this.graph.nodes.push(node);
      added.push(node.id);
    }
    for (const id of added) renameRefs(this.graph.nodes.find((n) => n.id === id), renamed);
    for (const edge of clip.edges) {
      this.graph.edges.push({ ...structuredClone(edge), id: `${renamed.get(edge.from.node)}.${edge.from.port}->${renamed.get(edge.to.node)}.${edge.to.port}`,
        from: { ...edge.from, node: renamed.get(edge.from.node) }, to: { ...edge.to, node: renamed.get(edge.to.node) } });
    }
    this.reindex();
    this.selection = new Set(added);
    this.emit('graph');
    return added;
  }

  /** Nodes whose id, label, type or props' text contains `text` (case-insensitive). */
  search(text) {
    const needle = text.trim().toLowerCase();
    if (!needle) return [];
    return this.graph.nodes.filter((n) =>
      `${n.id} ${n.label || ''} ${n.type || ''} ${n.props?.description || ''}`.toLowerCase().includes(needle)).map((n) => n.id);
  }

  /** The layout side file's content. */
  layoutFile() {
    return { version: 1, nodes: this.layout };
  }
}
