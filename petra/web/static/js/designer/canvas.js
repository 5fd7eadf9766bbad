// The designer's canvas: one SVG, a viewport group (pan and zoom as one
// transform), and only the nodes and wires inside the view (plus a margin) in
// the DOM, so a 2,000-node plant costs what the ~50 visible nodes cost. A drag
// moves the dragged nodes' groups and their wires directly (no redraw of the
// rest); far out (zoom < LOD_ZOOM) a node is a plain box. A minimap (a 2D
// canvas of every node as a dot) shows where the view is; a click there moves it.
//
// data-test: designer-canvas, designer-node (data-id, data-kind, data-type, data-error),
// node-port (data-port, data-dir in|out), node-error-badge, designer-edge (data-id),
// wire-refusal, designer-minimap, designer-zoom.
const SVG = 'http://www.w3.org/2000/svg';
export const NODE_W = 180;
const HEAD = 40;
const ROW = 20;
const MARGIN = 240;
const LOD_ZOOM = 0.45;
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 3;

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A node's height from its ports. */
export function nodeHeight(node) {
  const rows = Math.max(node.ports?.inputs?.length || 0, node.ports?.outputs?.length || 0, 1);
  return HEAD + rows * ROW + 6;
}

/** Where a port's wire ends, in canvas units, for a node at `at`. */
export function portPoint(node, at, dir, port) {
  const list = dir === 'in' ? node.ports?.inputs || [] : node.ports?.outputs || [];
  let i = list.findIndex((p) => p.name === port);
  if (i < 0) i = 0;
  return { x: at.x + (dir === 'in' ? 0 : NODE_W), y: at.y + HEAD + i * ROW + ROW / 2 };
}

/**
 * Positions for the nodes of `ids` the server placed by its layered layout (rows of one height) moved down
 * within their column where a taller node above would cover them; the others stay where they are.
 */
export function spread(layout, nodes, ids) {
  const columns = new Map();
  for (const n of nodes) {
    if (!ids.has(n.id) || !layout[n.id]) continue;
    const x = layout[n.id].x;
    if (!columns.has(x)) columns.set(x, []);
    columns.get(x).push(n);
  }
  for (const list of columns.values()) {
    list.sort((a, b) => layout[a.id].y - layout[b.id].y);
    let bottom = -Infinity;
    for (const n of list) {
      const p = layout[n.id];
      if (p.y < bottom + 16) layout[n.id] = { x: p.x, y: bottom + 16 };
      bottom = layout[n.id].y + nodeHeight(n);
    }
  }
  return layout;
}

function wirePath(a, b) {
  const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
  return `M${a.x},${a.y} C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
}

function short(value) {
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.length > 22 ? `${text.slice(0, 21)}…` : text;
}

export class Canvas {
  /**
   * handlers: connect(from, to) -> Promise<{ok, reason}>, drop(item, x, y), select(), open(id),
   * moved(positions, before), changedView()
   */
  constructor(host, store, handlers) {
    this.store = store;
    this.handlers = handlers;
    this.k = 1; this.tx = 40; this.ty = 40;
    this.errors = new Map();
    this.elements = new Map();
    this.edgeElements = new Map();
    this.selectedEdges = new Set();
    this.highlight = new Set();
    this.dragPos = null;
    this.frame = 0;
    this.miniFrame = 0;
    this.adjacency = new Map();
    this.edgesStale = true;

    this.el = document.createElement('div');
    this.el.className = 'designer-canvas';
    this.el.dataset.test = 'designer-canvas';
    this.el.tabIndex = 0;
    this.svg = s('svg', { class: 'designer-svg' });
    this.view = s('g', { class: 'viewport' });
    this.edgeLayer = s('g', { class: 'edges' });
    this.nodeLayer = s('g', { class: 'nodes' });
    this.overlay = s('g', { class: 'overlay' });
    this.view.append(this.edgeLayer, this.nodeLayer, this.overlay);
    this.svg.append(this.view);
    this.band = document.createElement('div');
    this.band.className = 'designer-band';
    this.band.hidden = true;
    this.mini = document.createElement('canvas');
    this.mini.className = 'designer-minimap';
    this.mini.dataset.test = 'designer-minimap';
    this.mini.width = 200; this.mini.height = 130;
    this.zoomLabel = document.createElement('span');
    this.zoomLabel.className = 'designer-zoom';
    this.zoomLabel.dataset.test = 'designer-zoom';
    this.el.append(this.svg, this.band, this.mini, this.zoomLabel);
    host.append(this.el);

    this.el.addEventListener('pointerdown', (e) => this.down(e));
    this.el.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    this.el.addEventListener('dblclick', (e) => {
      const g = e.target.closest?.('[data-test="designer-node"]');
      if (g) handlers.open?.(g.dataset.id);
    });
    this.el.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; });
    this.el.addEventListener('drop', (e) => {
      e.preventDefault();
      const raw = e.dataTransfer.getData('application/x-petra-node') || e.dataTransfer.getData('text/plain');
      let item;
      try { item = JSON.parse(raw); } catch { return; }
      const p = this.toWorld(e.clientX, e.clientY);
      handlers.drop?.(item, p.x, p.y);
    });
    this.mini.addEventListener('pointerdown', (e) => { e.stopPropagation(); this.miniJump(e); });
    this.resizer = new ResizeObserver(() => this.schedule());
    this.resizer.observe(this.el);
    store.onChange((why) => {
      if (why !== 'layout') this.edgesStale = true;
      if (why === 'load' || why === 'history' || why === 'graph' || why === 'props') this.rebuildAll();
      this.schedule();
    });
  }

  destroy() { this.resizer.disconnect(); cancelAnimationFrame(this.frame); cancelAnimationFrame(this.miniFrame); }

  // --- geometry -----------------------------------------------------------

  toWorld(clientX, clientY) {
    const r = this.el.getBoundingClientRect();
    return { x: (clientX - r.left - this.tx) / this.k, y: (clientY - r.top - this.ty) / this.k };
  }

  pos(id) {
    return (this.dragPos && this.dragPos[id]) || this.store.layout[id] || { x: 0, y: 0 };
  }

  viewRect() {
    const w = this.el.clientWidth || 800;
    const h = this.el.clientHeight || 600;
    return { x0: -this.tx / this.k - MARGIN, y0: -this.ty / this.k - MARGIN,
      x1: (w - this.tx) / this.k + MARGIN, y1: (h - this.ty) / this.k + MARGIN };
  }

  bounds() {
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const n of this.store.graph.nodes) {
      const p = this.pos(n.id);
      x0 = Math.min(x0, p.x); y0 = Math.min(y0, p.y);
      x1 = Math.max(x1, p.x + NODE_W); y1 = Math.max(y1, p.y + nodeHeight(n));
    }
    return x0 === Infinity ? { x0: 0, y0: 0, x1: 800, y1: 600 } : { x0, y0, x1, y1 };
  }

  setView(k, tx, ty) {
    const lodBefore = this.k < LOD_ZOOM;
    this.k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
    this.tx = tx; this.ty = ty;
    if (lodBefore !== this.k < LOD_ZOOM) this.rebuildAll();
    this.schedule();
    this.handlers.changedView?.();
  }

  zoomBy(factor, cx, cy) {
    const r = this.el.getBoundingClientRect();
    const px = cx ?? r.left + r.width / 2;
    const py = cy ?? r.top + r.height / 2;
    const w = this.toWorld(px, py);
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.k * factor));
    this.setView(k, px - r.left - w.x * k, py - r.top - w.y * k);
  }

  fit() {
    const b = this.bounds();
    const w = this.el.clientWidth || 800;
    const h = this.el.clientHeight || 600;
    const k = Math.min(1.2, (w - 60) / (b.x1 - b.x0 || 1), (h - 60) / (b.y1 - b.y0 || 1));
    this.setView(k, 30 - b.x0 * k + (w - 60 - (b.x1 - b.x0) * k) / 2, 30 - b.y0 * k);
  }

  /** Center the view on a node (its zoom at least 0.8) and mark it. */
  focus(id) {
    const p = this.pos(id);
    const node = this.store.node(id);
    if (!node) return;
    const k = Math.max(this.k, 0.8);
    const w = this.el.clientWidth || 800;
    const h = this.el.clientHeight || 600;
    this.setView(k, w / 2 - (p.x + NODE_W / 2) * k, h / 2 - (p.y + nodeHeight(node) / 2) * k);
  }

  /** A free spot near the view's center, for a node added without a drop. */
  center() {
    const w = this.el.clientWidth || 800;
    const h = this.el.clientHeight || 600;
    return { x: (w / 2 - this.tx) / this.k - NODE_W / 2, y: (h / 2 - this.ty) / this.k - 30 };
  }

  setErrors(byNode) {
    this.errors = byNode;
    this.rebuildAll();
    this.schedule();
  }

  setHighlight(ids) {
    this.highlight = new Set(ids);
    this.rebuildAll();
    this.schedule();
  }

  // --- drawing ------------------------------------------------------------

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
    if (!this.miniFrame) this.miniFrame = requestAnimationFrame(() => { this.miniFrame = 0; this.drawMini(); });
  }

  rebuildAll() {
    for (const g of this.elements.values()) g.remove();
    this.elements.clear();
  }

  /** Draw now (the benchmark and tests call it through `schedule`'s frame). */
  draw() {
    const v = this.viewRect();
    this.view.setAttribute('transform', `translate(${this.tx},${this.ty}) scale(${this.k})`);
    this.zoomLabel.textContent = `${Math.round(this.k * 100)} %`;
    const want = new Set();
    for (const n of this.store.graph.nodes) {
      const p = this.pos(n.id);
      if (p.x + NODE_W < v.x0 || p.x > v.x1 || p.y + nodeHeight(n) < v.y0 || p.y > v.y1) continue;
      want.add(n.id);
      let g = this.elements.get(n.id);
      if (g && g.__node !== n) {
        // the server's graph replaced the object: keep the drawn group when it would look the same
        const key = this.drawKey(n);
        if (g.__key === key) g.__node = n;
        else { g.remove(); g = null; }
      }
      if (!g) {
        g = this.build(n);
        this.elements.set(n.id, g);
        this.nodeLayer.append(g);
      }
      g.setAttribute('transform', `translate(${p.x},${p.y})`);
      g.classList.toggle('selected', this.store.selection.has(n.id));
    }
    for (const [id, g] of this.elements) {
      if (!want.has(id)) { g.remove(); this.elements.delete(id); }
    }
    this.drawEdges(v);
  }

  /** What a node's drawing depends on (besides its place and selection). */
  drawKey(n) {
    return JSON.stringify([n.label, n.kind, n.type, n.ports, n.props?.inputs]);
  }

  build(n) {
    const lod = this.k < LOD_ZOOM;
    const errs = this.errors.get(n.id) || [];
    const h = nodeHeight(n);
    const g = s('g', { class: `dnode kind-${n.kind}${errs.length ? ' has-error' : ''}${this.highlight.has(n.id) ? ' found' : ''}`,
      'data-test': 'designer-node', 'data-id': n.id, 'data-kind': n.kind, 'data-type': n.type || '',
      'data-error': errs.length ? 'true' : 'false' });
    g.__node = n;
    g.__key = this.drawKey(n);
    g.append(s('rect', { class: 'body', width: NODE_W, height: h, rx: 3 }));
    g.append(s('rect', { class: 'head', width: NODE_W, height: HEAD - 4, rx: 3 }));
    g.append(s('text', { class: 'title', x: 8, y: 16 }, short(n.label || n.id)));
    if (lod) return g;
    g.append(s('text', { class: 'subtitle', x: 8, y: 31 }, `${n.kind}${n.type ? ` · ${n.type}` : ''}`));
    if (errs.length) {
      const badge = s('g', { class: 'err-badge', 'data-test': 'node-error-badge' });
      badge.append(s('rect', { x: NODE_W - 26, y: 4, width: 22, height: 18, rx: 2 }));
      badge.append(s('text', { x: NODE_W - 15, y: 17, 'text-anchor': 'middle' }, String(errs.length)));
      badge.append(s('title', {}, errs.map((e) => e.location ? `${e.location}: ${e.message}` : e.message).join('\n')));
      g.append(badge);
    }
    const inputs = n.ports?.inputs || [];
    const outputs = n.ports?.outputs || [];
    const bound = n.props?.inputs || {};
    inputs.forEach((port, i) => {
      const y = HEAD + i * ROW + ROW / 2;
      g.append(s('circle', { class: `port in type-${port.type || 'any'}`, cx: 0, cy: y, r: 6, 'data-test': 'node-port',
        'data-port': port.name, 'data-dir': 'in', 'data-type': port.type || '' }));
      const constant = bound[port.name];
      const label = typeof constant === 'number' || typeof constant === 'boolean' ? `${port.name} = ${constant}` : port.name;
      g.append(s('text', { class: 'port-label', x: 10, y: y + 4 }, short(label)));
    });
    outputs.forEach((port, i) => {
      const y = HEAD + i * ROW + ROW / 2;
      g.append(s('circle', { class: `port out type-${port.type || 'any'}`, cx: NODE_W, cy: y, r: 6, 'data-test': 'node-port',
        'data-port': port.name, 'data-dir': 'out', 'data-type': port.type || '' }));
      g.append(s('text', { class: 'port-label', x: NODE_W - 10, y: y + 4, 'text-anchor': 'end' }, short(port.name)));
    });
    g.append(s('title', {}, [n.id, ...errs.map((e) => e.message)].join('\n')));
    return g;
  }

  indexEdges() {
    this.adjacency = new Map();
    for (const e of this.store.graph.edges) {
      for (const id of [e.from.node, e.to.node]) {
        if (!this.adjacency.has(id)) this.adjacency.set(id, []);
        this.adjacency.get(id).push(e);
      }
    }
    this.edgesStale = false;
  }

  edgeEnds(e) {
    const a = this.store.node(e.from.node);
    const b = this.store.node(e.to.node);
    if (!a || !b) return null;
    return [portPoint(a, this.pos(a.id), 'out', e.from.port), portPoint(b, this.pos(b.id), 'in', e.to.port)];
  }

  drawEdges(v) {
    if (this.edgesStale) {
      this.indexEdges();
      for (const el of this.edgeElements.values()) el.remove();
      this.edgeElements.clear();
    }
    const want = new Set();
    for (const e of this.store.graph.edges) {
      const ends = this.edgeEnds(e);
      if (!ends) continue;
      const [a, b] = ends;
      if (Math.max(a.x, b.x) < v.x0 || Math.min(a.x, b.x) > v.x1 || Math.max(a.y, b.y) < v.y0 || Math.min(a.y, b.y) > v.y1) continue;
      want.add(e.id);
      let path = this.edgeElements.get(e.id);
      if (!path) {
        path = s('path', { class: `edge kind-${e.kind || 'wire'}`, 'data-test': 'designer-edge', 'data-id': e.id });
        this.edgeElements.set(e.id, path);
        this.edgeLayer.append(path);
      }
      path.setAttribute('d', wirePath(a, b));
      path.classList.toggle('selected', this.selectedEdges.has(e.id));
    }
    for (const [id, el] of this.edgeElements) if (!want.has(id)) { el.remove(); this.edgeElements.delete(id); }
  }

  /** Move the dragged nodes' groups and their wires only. */
  dragFrame(ids) {
    const touched = new Set();
    for (const id of ids) {
      const g = this.elements.get(id);
      const p = this.pos(id);
      if (g) g.setAttribute('transform', `translate(${p.x},${p.y})`);
      for (const e of this.adjacency.get(id) || []) touched.add(e);
    }
    for (const e of touched) {
      const path = this.edgeElements.get(e.id);
      const ends = path && this.edgeEnds(e);
      if (ends) path.setAttribute('d', wirePath(ends[0], ends[1]));
    }
  }

  drawMini() {
    const c = this.mini;
    const ctx = c.getContext('2d');
    const b = this.bounds();
    const v = this.viewRect();
    const x0 = Math.min(b.x0, v.x0 + MARGIN); const y0 = Math.min(b.y0, v.y0 + MARGIN);
    const x1 = Math.max(b.x1, v.x1 - MARGIN); const y1 = Math.max(b.y1, v.y1 - MARGIN);
    const scale = Math.min(c.width / (x1 - x0 || 1), c.height / (y1 - y0 || 1));
    this.miniMap = { x0, y0, scale };
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#7a7a7a';
    for (const n of this.store.graph.nodes) {
      const p = this.pos(n.id);
      ctx.fillStyle = this.errors.has(n.id) ? '#a00000' : this.store.selection.has(n.id) ? '#3a4a5c' : '#8a8a8a';
      ctx.fillRect((p.x - x0) * scale, (p.y - y0) * scale, Math.max(1.5, NODE_W * scale), Math.max(1.5, nodeHeight(n) * scale));
    }
    ctx.strokeStyle = '#3a4a5c';
    ctx.lineWidth = 1.5;
    ctx.strokeRect((v.x0 + MARGIN - x0) * scale, (v.y0 + MARGIN - y0) * scale,
      (v.x1 - v.x0 - 2 * MARGIN) * scale, (v.y1 - v.y0 - 2 * MARGIN) * scale);
  }

  miniJump(e) {
    if (!this.miniMap) return;
    const r = this.mini.getBoundingClientRect();
    const { x0, y0, scale } = this.miniMap;
    const wx = (e.clientX - r.left) / scale + x0;
    const wy = (e.clientY - r.top) / scale + y0;
    this.setView(this.k, this.el.clientWidth / 2 - wx * this.k, this.el.clientHeight / 2 - wy * this.k);
  }

  // --- input --------------------------------------------------------------

  wheel(e) {
    e.preventDefault();
    if (e.ctrlKey || !e.shiftKey) this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY);
    else this.setView(this.k, this.tx - e.deltaX, this.ty - e.deltaY);
  }

  down(e) {
    if (e.button !== 0 && e.button !== 1) return;
    this.clearRefusal();
    this.el.focus({ preventScroll: true });
    const port = e.target.closest?.('[data-test="node-port"]');
    const g = e.target.closest?.('[data-test="designer-node"]');
    const edge = e.target.closest?.('[data-test="designer-edge"]');
    if (port && e.button === 0) return this.startWire(e, g.dataset.id, port.dataset.dir, port.dataset.port);
    if (g && e.button === 0) return this.startDrag(e, g.dataset.id);
    if (edge && e.button === 0) {
      if (!e.shiftKey) { this.store.selection = new Set(); this.selectedEdges = new Set(); }
      this.selectedEdges.add(edge.dataset.id);
      this.rebuildAll(); this.schedule(); this.handlers.select?.();
      return undefined;
    }
    if (e.button === 0 && (e.shiftKey || e.ctrlKey || e.metaKey)) return this.startBand(e);
    return this.startPan(e);
  }

  track(e, move, up) {
    const el = this.el;
    el.setPointerCapture?.(e.pointerId);
    const onMove = (ev) => move(ev);
    const onUp = (ev) => {
      el.removeEventListener('pointermove', onMove);
      el.removeEventListener('pointerup', onUp);
      el.removeEventListener('pointercancel', onUp);
      up(ev);
    };
    el.addEventListener('pointermove', onMove);
    el.addEventListener('pointerup', onUp);
    el.addEventListener('pointercancel', onUp);
  }

  startPan(e) {
    const sx = e.clientX; const sy = e.clientY; const tx = this.tx; const ty = this.ty;
    let moved = false;
    this.track(e, (ev) => {
      if (Math.abs(ev.clientX - sx) + Math.abs(ev.clientY - sy) > 3) moved = true;
      this.setView(this.k, tx + ev.clientX - sx, ty + ev.clientY - sy);
    }, () => {
      if (!moved) { // a click on the background: clear the selection
        this.store.selection = new Set();
        this.selectedEdges = new Set();
        this.schedule();
        this.handlers.select?.();
      }
    });
  }

  startBand(e) {
    const r = this.el.getBoundingClientRect();
    const sx = e.clientX; const sy = e.clientY;
    const a = this.toWorld(sx, sy);
    const box = this.band;
    this.track(e, (ev) => {
      box.hidden = false;
      Object.assign(box.style, { left: `${Math.min(sx, ev.clientX) - r.left}px`, top: `${Math.min(sy, ev.clientY) - r.top}px`,
        width: `${Math.abs(ev.clientX - sx)}px`, height: `${Math.abs(ev.clientY - sy)}px` });
    }, (ev) => {
      box.hidden = true;
      const b = this.toWorld(ev.clientX, ev.clientY);
      const x0 = Math.min(a.x, b.x); const x1 = Math.max(a.x, b.x);
      const y0 = Math.min(a.y, b.y); const y1 = Math.max(a.y, b.y);
      for (const n of this.store.graph.nodes) {
        const p = this.pos(n.id);
        if (p.x >= x0 && p.x + NODE_W <= x1 && p.y >= y0 && p.y + nodeHeight(n) <= y1) this.store.selection.add(n.id);
      }
      this.schedule();
      this.handlers.select?.();
    });
  }

  startDrag(e, id) {
    const sel = this.store.selection;
    if (e.shiftKey || e.ctrlKey || e.metaKey) {
      if (sel.has(id)) sel.delete(id); else sel.add(id);
    } else if (!sel.has(id)) {
      this.store.selection = new Set([id]);
    }
    this.selectedEdges = new Set();
    this.handlers.select?.();
    this.schedule();
    if (!this.store.selection.has(id)) return;
    const ids = [...this.store.selection];
    const start = this.toWorld(e.clientX, e.clientY);
    const before = structuredClone(this.store.layout);
    const origin = Object.fromEntries(ids.map((n) => [n, { ...this.pos(n) }]));
    let moved = false;
    let pending = null;
    this.dragPos = {};
    this.track(e, (ev) => {
      pending = ev;
      if (this.dragFrameId) return;
      this.dragFrameId = requestAnimationFrame(() => {
        this.dragFrameId = 0;
        const p = this.toWorld(pending.clientX, pending.clientY);
        const dx = p.x - start.x; const dy = p.y - start.y;
        if (Math.abs(dx) + Math.abs(dy) > 2) moved = true;
        for (const n of ids) this.dragPos[n] = { x: origin[n].x + dx, y: origin[n].y + dy };
        this.dragFrame(ids);
      });
    }, () => {
      cancelAnimationFrame(this.dragFrameId);
      this.dragFrameId = 0;
      const positions = this.dragPos;
      this.dragPos = null;
      if (moved && Object.keys(positions).length) this.handlers.moved?.(positions, before);
      this.schedule();
    });
  }

  startWire(e, nodeId, dir, port) {
    const node = this.store.node(nodeId);
    const a = portPoint(node, this.pos(nodeId), dir, port);
    const temp = s('path', { class: 'edge drawing' });
    this.overlay.append(temp);
    this.track(e, (ev) => {
      const b = this.toWorld(ev.clientX, ev.clientY);
      temp.setAttribute('d', dir === 'out' ? wirePath(a, b) : wirePath(b, a));
    }, async (ev) => {
      const hit = document.elementFromPoint(ev.clientX, ev.clientY)?.closest?.('[data-test="node-port"]');
      const target = hit?.closest('[data-test="designer-node"]');
      if (!hit || !target || hit.dataset.dir === dir || target.dataset.id === nodeId) { temp.remove(); return; }
      const here = { node: nodeId, port };
      const there = { node: target.dataset.id, port: hit.dataset.port };
      const [from, to] = dir === 'out' ? [here, there] : [there, here];
      const b = this.toWorld(ev.clientX, ev.clientY);
      temp.classList.add('asking');
      let answer;
      try {
        answer = await this.handlers.connect(from, to);
      } catch (error) {
        answer = { ok: false, reason: error.message };
      }
      temp.remove();
      if (!answer.ok) this.showRefusal(a, b, dir, answer.reason || 'refused');
    });
  }

  /** The refused wire stays drawn (dashed) with the server's reason beside it until the next click. */
  showRefusal(a, b, dir, reason) {
    this.clearRefusal();
    const g = s('g', { class: 'refusal', 'data-test': 'wire-refusal' });
    g.append(s('path', { class: 'edge refused', d: dir === 'out' ? wirePath(a, b) : wirePath(b, a) }));
    // the reason beside the end the mouse let go of, kept inside the view
    const v = this.viewRect();
    const left = v.x0 + MARGIN + 8 / this.k;
    const right = v.x1 - MARGIN - 8 / this.k;
    // lines that fit the view (about 7 px a character at 12 px), the last one just above the wire's end
    const perLine = Math.max(24, Math.floor((right - left - 24) / 7));
    const lines = [];
    for (const word of String(reason).split(' ')) {
      if (lines.length && `${lines[lines.length - 1]} ${word}`.length <= perLine) lines[lines.length - 1] += ` ${word}`;
      else lines.push(word);
    }
    const label = s('text', { x: b.x, y: b.y - 14 - (lines.length - 1) * 15, 'text-anchor': 'middle', class: 'refusal-text' });
    lines.forEach((text, i) => label.append(s('tspan', { x: b.x, dy: i ? 15 : 0 }, text)));
    g.append(label);
    this.overlay.append(g);
    const width = label.getBBox().width;
    const x = Math.max(left + width / 2, Math.min(right - width / 2, b.x));
    label.setAttribute('x', String(x));
    for (const span of label.children) span.setAttribute('x', String(x));
    const box = label.getBBox();
    g.insertBefore(s('rect', { class: 'refusal-box', x: box.x - 6, y: box.y - 3, width: box.width + 12, height: box.height + 6, rx: 3 }), label);
    this.refusal = g;
  }

  clearRefusal() {
    if (this.refusal) { this.refusal.remove(); this.refusal = null; }
  }
}
