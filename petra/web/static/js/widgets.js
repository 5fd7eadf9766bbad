// The screens' widgets, one function per type, each returning
// {el, signals: [names it shows], update(signal)} where `signal` is the
// latest {name, value, quality, timestamp}. Write widgets (button, switch,
// setpoint) are drawn only when GET /v1/screens says the caller may write
// (`writable`); otherwise the widget shows the value and why not.
// data-test: widget (data-type=<type>, data-signal=<signal>), widget-label,
// widget-value, widget-lamp (data-on), widget-bar, widget-gauge,
// widget-button, widget-switch-on, widget-switch-off, widget-setpoint-input,
// widget-setpoint-set, widget-readonly, widget-trend, widget-alarms.
import { h, fill, toast } from './dom.js';
import { formatValue, formatTime, globRegExp } from './format.js';
import { api, enc } from './api.js';
import { createTrend } from './trendchart.js';
import { trendPopup } from './trendpopup.js';
import { byPriority, stateLabel } from './alarmstore.js';
import { ackDialog } from './pages/alarmdialogs.js';

const LAMP = { red: 'var(--prio-emergency)', orange: 'var(--prio-critical)', yellow: 'var(--prio-warning)',
  magenta: 'var(--bad)', cyan: 'var(--prio-info)' };

function frame(w, ...children) {
  return h('div', { class: `widget widget-${w.type}`, 'data-test': 'widget', 'data-type': w.type,
    'data-signal': w.signal || (w.signals || []).join(','),
    style: { gridColumn: `${w.x + 1} / span ${w.w || 1}`, gridRow: `${w.y + 1} / span ${w.h || 1}` } },
    h('div', { class: 'label', 'data-test': 'widget-label', title: w.description || '' },
      w.label || w.signal || (w.signals || []).join(', ') || (w.type === 'alarms' ? `Alarms${w.filter ? ` (${w.filter})` : ''}` : w.type)),
    ...children);
}

const fraction = (w, v) => (typeof v === 'number' && w.max > w.min ? Math.min(1, Math.max(0, (v - w.min) / (w.max - w.min))) : 0);

function valueWidget(w, ctx) {
  const value = liveValue(ctx);
  const el = frame(w, value);
  el.style.cursor = 'pointer';
  el.addEventListener('click', () => trendPopup(ctx, { name: w.signal, unit: w.unit, description: w.description,
    value: el.current?.value, timestamp: el.current?.timestamp }));
  return { el, update: (s) => { el.current = s; paintValue(el, value, w, s); }, destroy: value.off };
}

/**
 * A live value's box. Its value is drawn on the screen's value layer (ValueLayer: one canvas over the grid),
 * not written as DOM text: a DOM text change costs style, layout, paint and raster of every changed text, and
 * with 200 widgets that was most of the page's CPU even with each text a `contain: strict` relayout boundary.
 * The text drawn is also kept in the box as the fallback content of an undrawn <canvas> (`data-test=
 * "widget-value"`, one Text node): a canvas's children are never laid out or painted, so it costs nothing on
 * screen, and it is what a screen reader reads and the tests check. Without a layer (`ctx.values`), the text
 * is plain DOM text.
 */
function liveValue(ctx) {
  const text = document.createTextNode('—');
  const layer = ctx?.values;
  const holder = layer ? h('canvas', { class: 'value-canvas', 'data-test': 'widget-value' }, text)
    : h('div', { class: 'value-text', 'data-test': 'widget-value' }, text);
  const box = h('div', { class: 'value live-value' }, holder);
  box.textNode = text;
  box.next = '—';
  box.show = layer ? () => layer.mark(box) : () => { if (text.data !== box.next) text.data = box.next; };
  box.off = layer ? () => layer.remove(box) : () => {};
  layer?.add(box);
  return box;
}

/**
 * One canvas over a screen's grid (absolutely placed, transparent, no pointer events) on which every live
 * value box of the screen is drawn. One canvas and not one per widget: in Chromium each drawn canvas is a
 * composited layer with its own resource, and 200 of them cost more to commit and composite than the text
 * they replace (measured: ~33 % of a core at 10 Hz against ~31 % for DOM text, headless software
 * compositing). The boxes' places are read when the grid or a box changes size (a ResizeObserver); a value
 * is drawn in its box's rectangle, in the box's CSS colour and font (grey; magenta for bad quality; muted
 * while the stream is stale), cut with … when too wide.
 */
export class ValueLayer {
  constructor(grid, hub) {
    this.grid = grid;
    this.canvas = h('canvas', { class: 'value-layer', 'data-test': 'value-layer', 'aria-hidden': 'true' });
    grid.append(this.canvas);
    this.boxes = new Set();
    this.dirty = new Set();
    this.ratio = 1;
    this.sizes = new ResizeObserver(() => this.layout());
    this.sizes.observe(grid);
    // a stale stream greys the values (body.stale): the colour changes without a new value
    this.offState = hub?.onState ? hub.onState(() => { for (const box of this.boxes) box.color = ''; this.drawAll(); }) : null;
  }

  add(box) { this.boxes.add(box); this.sizes.observe(box); }

  remove(box) { this.boxes.delete(box); this.dirty.delete(box); this.sizes.unobserve(box); }

  destroy() { this.sizes.disconnect(); this.offState?.(); this.boxes.clear(); this.canvas.remove(); }

  /** Size the canvas to the grid and read every box's rectangle (in a ResizeObserver callback: layout is done). */
  layout() {
    const { grid, canvas } = this;
    if (!grid.isConnected) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(grid.clientWidth * ratio));
    const height = Math.max(1, Math.round(grid.clientHeight * ratio));
    if (canvas.width !== width) canvas.width = width; // either clears the canvas: only when it changed
    if (canvas.height !== height) canvas.height = height;
    this.ratio = ratio;
    this.font = '';
    const origin = grid.getBoundingClientRect();
    const ox = origin.left + grid.clientLeft;
    const oy = origin.top + grid.clientTop;
    for (const box of this.boxes) {
      const r = box.getBoundingClientRect();
      const w = box.parentElement?.getBoundingClientRect() || r; // drawn within its widget, as the DOM clips it
      const left = Math.max(r.left, w.left);
      const top = Math.max(r.top, w.top);
      const right = Math.min(r.right, w.right);
      const bottom = Math.min(r.bottom, w.bottom);
      box.rect = { x: left - ox, y: top - oy, w: Math.max(0, right - left), h: Math.max(0, bottom - top),
        mid: r.top - oy + r.height / 2, clipped: top > r.top || bottom < r.bottom };
      box.color = '';
    }
    this.drawAll();
  }

  drawAll() {
    const g = this.context();
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const box of this.boxes) { box.drawn = null; this.draw(box); }
  }

  context() {
    if (!this.g) this.g = this.canvas.getContext('2d');
    return this.g;
  }

  /**
   * A box's value changed: drawn at the end of this task (a microtask) with the others that changed, first
   * every drawing, then every fallback text. A Text node changed inside a canvas marks its style dirty, and the
   * colour or font read for the next drawing would recompute style first; in this order it is done once.
   */
  mark(box) {
    if (!this.dirty.size) queueMicrotask(() => this.flush());
    this.dirty.add(box);
  }

  flush() {
    const boxes = this.dirty;
    this.dirty = new Set();
    for (const box of boxes) this.draw(box);
    for (const box of boxes) if (box.textNode.data !== box.next) box.textNode.data = box.next;
  }

  draw(box) {
    const { rect } = box;
    if (!rect || !this.canvas.isConnected) return;
    if (!box.color) {
      const style = getComputedStyle(box);
      box.color = style.color;
      box.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    }
    const text = box.next;
    if (box.drawn && box.drawn.text === text && box.drawn.color === box.color) return;
    const g = this.context();
    g.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    g.clearRect(rect.x, rect.y, rect.w, rect.h);
    box.drawn = { text, color: box.color };
    if (!rect.w || !rect.h) return;
    if (this.font !== box.font) {
      g.font = box.font;
      g.textBaseline = 'middle';
      this.font = box.font;
    }
    g.fillStyle = box.color;
    const shown = this.fit(g, text, rect.w, box.font);
    if (rect.clipped) { // its widget cuts the box: so does the drawing
      g.save();
      g.beginPath();
      g.rect(rect.x, rect.y, rect.w, rect.h);
      g.clip();
    }
    g.fillText(shown, rect.x, rect.mid);
    if (rect.clipped) g.restore();
  }

  /**
   * `text` as drawn in `room` pixels: whole, or cut with … (as text-overflow: ellipsis). A text too short to be
   * wider than the room even in its font's widest letters is not measured (a clip per drawing cost more than
   * the drawing, so the text must fit, not be clipped).
   */
  fit(g, text, room, font) {
    if (this.wideFont !== font) {
      this.wideFont = font;
      this.wide = Math.max(...['W', 'M', '@', '—', '%'].map((c) => g.measureText(c).width));
      this.ellipsis = g.measureText('…').width;
    }
    if (text.length * this.wide <= room) return text;
    const width = g.measureText(text).width;
    if (width <= room) return text;
    let n = Math.max(0, Math.floor((text.length * (room - this.ellipsis)) / width));
    while (n < text.length - 1 && g.measureText(text.slice(0, n + 1)).width + this.ellipsis <= room) n += 1;
    while (n > 0 && g.measureText(text.slice(0, n)).width + this.ellipsis > room) n -= 1;
    return `${text.slice(0, n)}…`;
  }
}

/** Write only what changed: at 10 Hz per widget every DOM write counts. */
function paintValue(el, valueEl, w, s) {
  const text = formatValue(s.value, w.unit, w.signal_type);
  const out = typeof s.value === 'number' && ((w.min !== undefined && s.value < w.min) || (w.max !== undefined && s.value > w.max));
  const look = `${s.quality}|${out}`;
  if (el.look !== look) {
    el.look = look;
    el.classList.toggle('bad', s.quality !== 'good');
    el.title = s.quality !== 'good' ? `quality ${s.quality}` : '';
    el.classList.toggle('out-of-range', Boolean(out));
    valueEl.color = ''; // read again from the CSS (.widget.bad .value)
  }
  valueEl.next = text;
  valueEl.show();
}

function gauge(w) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 200 120');
  const arc = (from, to, r) => {
    const p = (t) => { const a = Math.PI * (1 - t); return [100 + r * Math.cos(a), 105 - r * Math.sin(a)]; };
    const [x1, y1] = p(from); const [x2, y2] = p(to);
    return `M ${x1} ${y1} A ${r} ${r} 0 0 1 ${x2} ${y2}`; // at most half a turn: never the large arc
  };
  const track = document.createElementNS(ns, 'path');
  track.setAttribute('d', arc(0, 1, 80)); track.setAttribute('stroke', '#c4c4c4');
  const fill_ = document.createElementNS(ns, 'path');
  fill_.setAttribute('stroke', '#5a5a5a');
  for (const p of [track, fill_]) { p.setAttribute('fill', 'none'); p.setAttribute('stroke-width', '18'); svg.append(p); }
  const text = document.createElementNS(ns, 'text');
  Object.entries({ x: 100, y: 100, 'text-anchor': 'middle', 'font-size': 22 }).forEach(([k, v]) => text.setAttribute(k, v));
  svg.append(text);
  const value = h('div', { class: 'gauge', 'data-test': 'widget-gauge' }, svg,
    h('div', { class: 'muted', style: { display: 'flex', justifyContent: 'space-between' } },
      h('span', {}, formatValue(w.min, w.unit)), h('span', {}, formatValue(w.max, w.unit))));
  const el = frame(w, value);
  return { el, update: (s) => {
    const f = fraction(w, s.value);
    if (f > 0.001) fill_.setAttribute('d', arc(0, f, 80)); else fill_.removeAttribute('d');
    text.textContent = formatValue(s.value, w.unit, w.signal_type);
    el.dataset.value = String(s.value);
    el.classList.toggle('bad', s.quality !== 'good');
    el.classList.toggle('out-of-range', typeof s.value === 'number' && (s.value < w.min || s.value > w.max));
  } };
}

function bar(w, ctx) {
  const inner = h('div', {});
  const value = liveValue(ctx);
  const el = frame(w, value, h('div', { class: 'bar', 'data-test': 'widget-bar' }, inner),
    h('div', { class: 'muted', style: { display: 'flex', justifyContent: 'space-between', fontSize: '0.85rem' } },
      h('span', {}, formatValue(w.min, w.unit)), h('span', {}, formatValue(w.max, w.unit))));
  return { el, update: (s) => { inner.style.width = `${fraction(w, s.value) * 100}%`; paintValue(el, value, w, s); },
    destroy: value.off };
}

function lamp(w) {
  const dot = h('div', { class: 'lamp', 'data-test': 'widget-lamp', 'data-on': 'false' });
  const text = h('span', { 'data-test': 'widget-value' }, '—');
  const el = frame(w, h('div', { style: { display: 'flex', alignItems: 'center', gap: '0.6rem' } }, dot, text));
  return { el, update: (s) => {
    const on = Boolean(s.value);
    dot.dataset.on = String(on);
    dot.classList.toggle('on', on);
    dot.style.background = on ? LAMP[w.color] || LAMP.yellow : '';
    text.textContent = on ? 'on' : 'off';
    el.classList.toggle('bad', s.quality !== 'good');
  } };
}

async function write(w, value) {
  try {
    const after = await api.put(`/v1/signals/${enc(w.signal)}`, { value });
    toast(`${w.label || w.signal} = ${formatValue(after.value, after.unit, after.type)}`);
  } catch (error) {
    toast(error.message, { error: true });
  }
}

function readOnly(w) {
  return h('small', { class: 'muted', 'data-test': 'widget-readonly', title: w.refusal || '' }, w.refusal ? 'read-only' : '');
}

function button(w, ctx) {
  const value = liveValue(ctx);
  const control = w.writable
    ? h('button', { type: 'button', class: 'btn primary', 'data-test': 'widget-button', onclick: () => write(w, w.value) },
      w.label || `${w.signal} := ${w.value}`)
    : readOnly(w);
  const el = frame(w, value, control);
  return { el, update: (s) => paintValue(el, value, w, s), destroy: value.off };
}

function switchWidget(w, ctx) {
  const value = liveValue(ctx);
  if (!w.writable) { const el = frame(w, value, readOnly(w)); return { el, update: (s) => paintValue(el, value, w, s), destroy: value.off }; }
  const off = h('button', { type: 'button', class: 'btn', 'data-test': 'widget-switch-off', onclick: () => write(w, false) }, 'Off');
  const on = h('button', { type: 'button', class: 'btn', 'data-test': 'widget-switch-on', onclick: () => write(w, true) }, 'On');
  const el = frame(w, h('div', { class: 'switch' }, off, on), value);
  return { el, update: (s) => {
    on.setAttribute('aria-pressed', String(s.value === true));
    off.setAttribute('aria-pressed', String(s.value === false));
    paintValue(el, value, w, s);
  }, destroy: value.off };
}

/** The tighter of two bounds (either may be missing); `pick` is Math.max for a low one, Math.min for a high one. */
const bound = (pick, a, b) => (a === undefined ? b : b === undefined ? a : pick(a, b));

function setpoint(w, ctx) {
  const value = liveValue(ctx);
  if (!w.writable) { const el = frame(w, value, readOnly(w)); return { el, update: (s) => paintValue(el, value, w, s), destroy: value.off }; }
  // the widget's own range within the signal's write limits (which the server enforces)
  const low = bound(Math.max, w.min, w.signal_min);
  const high = bound(Math.min, w.max, w.signal_max);
  const input = h('input', { type: 'number', step: w.signal_type === 'int' ? 1 : 'any', min: low, max: high,
    'data-test': 'widget-setpoint-input', style: { width: '7rem' }, 'aria-label': `New ${w.label || w.signal}` });
  const error = h('small', { class: 'error', 'data-test': 'widget-setpoint-error' });
  const set = h('button', { type: 'button', class: 'btn primary', 'data-test': 'widget-setpoint-set' }, 'Set');
  set.addEventListener('click', async () => {
    const v = Number(input.value);
    error.textContent = '';
    if (input.value === '' || !Number.isFinite(v)) { error.textContent = 'enter a number'; return; }
    if ((low !== undefined && v < low) || (high !== undefined && v > high)) {
      error.textContent = low === undefined ? `at most ${formatValue(high, w.unit)}`
        : high === undefined ? `at least ${formatValue(low, w.unit)}`
          : `between ${formatValue(low, w.unit)} and ${formatValue(high, w.unit)}`;
      return;
    }
    try {
      await api.put(`/v1/signals/${enc(w.signal)}`, { value: v });
      input.value = '';
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  const el = frame(w, value, h('div', { style: { display: 'flex', gap: '0.4rem', flexWrap: 'wrap' } }, input,
    w.unit ? h('span', { class: 'unit', style: { alignSelf: 'center' } }, w.unit) : null, set), error);
  return { el, update: (s) => paintValue(el, value, w, s), destroy: value.off };
}

function trend(w, ctx) {
  const holder = h('div', { 'data-test': 'widget-trend', style: { flex: 1, minHeight: 0 } });
  const el = frame(w, holder);
  const signals = (w.series || (w.signals || []).map((signal) => ({ signal }))).map((s) => ({ name: s.signal, unit: s.unit }));
  let chart = null;
  let gone = false;
  const listener = { signals: signals.map((s) => s.name), onChanges: (changes) => chart?.append(changes) };
  requestAnimationFrame(() => {
    if (gone) return;
    createTrend(holder, { signals, minutes: w.minutes || 10, height: Math.max(150, (w.h || 2) * 100 - 70) })
      .then((made) => { if (gone) { made.destroy(); return null; } chart = made; return made.load(); })
      .catch((error) => holder.prepend(h('p', { class: 'error' }, error.message)));
  });
  const unsubscribe = ctx.hub.subscribe(listener);
  return { el, update: () => {}, destroy: () => { gone = true; unsubscribe(); chart?.destroy(); } };
}

function alarmTable(w, ctx) {
  const body = h('div', { 'data-test': 'widget-alarms', style: { overflow: 'auto' } });
  const el = frame(w, body);
  const pattern = w.filter ? globRegExp(w.filter, { ignoreCase: false }) : null; // as the config's alarm ids
  const render = () => {
    const list = ctx.alarms.standing().filter((a) => !pattern || pattern.test(a.id)).sort(byPriority);
    if (ctx.alarms.available === false) { fill(body, h('p', { class: 'muted' }, 'No alarms configured.')); return; }
    if (!list.length) { fill(body, h('p', { class: 'muted' }, 'No standing alarms.')); return; }
    fill(body, h('table', { class: 'grid' }, h('tbody', {}, list.map((a) => h('tr', { 'data-test': 'alarm-row', 'data-id': a.id, 'data-state': a.state },
      h('td', {}, h('span', { class: `prio prio-${a.severity}${a.acked === false ? ' unacked' : ''}` }, a.severity)),
      h('td', { title: `raised ${formatTime(a.raised_at)}` }, h('div', {}, a.name),
        h('small', { class: 'muted', 'data-test': 'alarm-state' }, stateLabel(a.state))),
      h('td', {}, ctx.may('operator') && a.acked === false && a.state !== 'normal'
        ? h('button', { type: 'button', class: 'btn small', 'data-test': 'alarm-ack', onclick: () => ackDialog(ctx, a) }, 'Acknowledge')
        : ''))))));
  };
  const off = ctx.alarms.onChange(render);
  render();
  return { el, update: () => {}, destroy: off };
}

const TYPES = { value: valueWidget, gauge, bar, lamp, button, switch: switchWidget, setpoint, trend, alarms: alarmTable };

/** The widget for a GET /v1/screens widget view; an unknown type draws a notice instead of breaking the screen. */
export function makeWidget(view, ctx) {
  const make = TYPES[view.type];
  if (!make) return { el: frame(view, h('p', { class: 'error' }, `unknown widget type ${view.type}`)), update: () => {} };
  return make(view, ctx);
}
