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
 * A live value's box: the value is drawn on a canvas, not written as DOM text. A text change in the DOM costs a
 * style, layout, paint and raster pass over every changed text (with 200 widgets at 10 Hz that was most of the
 * page's CPU, even with each text a `contain: strict` relayout boundary); a canvas redraw is one fillText and
 * the raster of its bitmap, with no style or layout at all. The text drawn is also the canvas's fallback
 * content (one Text node, `data-test="widget-value"` is the canvas): a canvas's children are never laid out
 * or painted, so keeping it costs nothing on screen, and it is what a screen reader reads and the tests check.
 * The colour is the box's CSS colour (grey, magenta for bad quality, muted while the stream is stale), read
 * again only when the look changes.
 */
function liveValue(ctx) {
  const text = document.createTextNode('—');
  const canvas = h('canvas', { class: 'value-canvas', 'data-test': 'widget-value' }, text);
  const box = h('div', { class: 'value live-value' }, canvas);
  box.canvas = canvas;
  box.textNode = text;
  box.drawn = { text: '', color: '', width: 0, height: 0 };
  box.next = '—';
  box.draw = () => drawValue(box, box.next);
  box.ratio = 1;
  sizes.observe(canvas, { box: 'device-pixel-content-box' });
  // a stale stream greys the values (body.stale): the colour changes without a new value
  const offState = ctx?.hub?.onState ? ctx.hub.onState(() => { box.color = ''; box.draw(); }) : null;
  box.off = () => { sizes.unobserve(canvas); offState?.(); };
  return box;
}

/** One observer for every value canvas: its backing store follows its CSS size (and the pixel ratio). */
const sizes = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const canvas = entry.target;
    const box = canvas.parentElement;
    const size = entry.devicePixelContentBoxSize?.[0];
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(size ? size.inlineSize : entry.contentRect.width * ratio));
    const height = Math.max(1, Math.round(size ? size.blockSize : entry.contentRect.height * ratio));
    if (!box?.draw) continue;
    // setting either clears the canvas, even to the same number: only when it changed, then drawn again
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    box.drawn.width = 0;
    box.ratio = canvas.width / Math.max(1, entry.contentRect.width);
    box.font = '';
    box.draw();
  }
});

/**
 * Boxes whose value changed in this task, drawn together at its end (a microtask): first every canvas, then
 * every fallback text. A Text node changed inside a canvas marks its style dirty, and the next canvas draw
 * would recompute style first (once per widget, ~1,000 times a second with 200); in this order it is
 * recomputed once, in the frame.
 */
let dirty = new Set();
function schedule(box) {
  if (!dirty.size) queueMicrotask(flushDraws);
  dirty.add(box);
}
function flushDraws() {
  const boxes = dirty;
  dirty = new Set();
  for (const box of boxes) drawValue(box, box.next);
  for (const box of boxes) if (box.textNode.data !== box.next) box.textNode.data = box.next;
}

/** Draw `text` on the box's canvas when the text, colour or size changed; cut with … when too wide. */
function drawValue(box, text = box.textNode.data) {
  const { canvas } = box;
  if (!canvas.isConnected) return;
  if (!box.color || !box.font) {
    const style = getComputedStyle(canvas);
    box.color = style.color;
    box.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  }
  const d = box.drawn;
  if (d.text === text && d.color === box.color && d.width === canvas.width && d.height === canvas.height) return;
  const g = box.g || (box.g = canvas.getContext('2d'));
  const ratio = box.ratio;
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  if (d.font !== box.font || d.width !== canvas.width || d.height !== canvas.height) {
    g.font = box.font; // a canvas resize resets the context's state
    g.textBaseline = 'middle';
    d.font = box.font;
  }
  g.fillStyle = box.color;
  const room = canvas.width / ratio;
  let shown = text;
  // most values fit: measure only a text longer than the box has held whole so far (digits and units
  // of a signal's values are of a width; a rare same-length wider text is clipped at the edge, not cut)
  if (shown.length > (d.fits || 0)) {
    if (g.measureText(shown).width > room) {
      while (shown.length > 1 && g.measureText(`${shown}…`).width > room) shown = shown.slice(0, -1);
      shown = `${shown}…`;
    } else d.fits = shown.length;
  }
  g.fillText(shown, 0, canvas.height / ratio / 2);
  Object.assign(d, { text, color: box.color, width: canvas.width, height: canvas.height });
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
  schedule(valueEl);
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
