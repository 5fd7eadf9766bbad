// One trend chart (uPlot, vendored at /static/vendor/uplot/): the history of
// its signals from one GET /v1/trend, downsampled by the server to the chart's
// width in pixels (each pixel's first, min, max and last), then live points
// appended from the stream. Used by the
// Trends page, the signal pop-up and the screens' trend widget.
//
// Zoom: drag across the plot (x); wheel zooms around the cursor; Shift+wheel
// or the ◀ ▶ buttons pan; on a tablet, pinch zooms and a sideways drag pans;
// double-click returns to the live range. A zoom or
// pan stops following live and freezes the view (no live points are added;
// the history of the range shown is loaded, at the chart's resolution);
// follow() loads the live range again and follows it. The legend shows the
// values under the cursor. exportCsv() and exportPng() download what is shown.
// The chart's element carries data-history (rows loaded from the history),
// data-points (rows drawn now, live ones included) and data-range (the x
// range shown, "min,max" epoch seconds) for tests.
import { api, ApiError, enc } from './api.js';

const UPLOT = '../vendor/uplot/uPlot.esm.js';
let uPlot = null;
let uPlotLoading = null;

/** uPlot, imported on first use (once): a page without a chart never loads it. */
export function loadPlot() {
  uPlotLoading ||= import(UPLOT).then((module) => { uPlot = module.default; return uPlot; }, (error) => {
    uPlotLoading = null; // a later chart tries again
    throw new Error(`the chart library did not load (${UPLOT}: ${error.message})`);
  });
  return uPlotLoading;
}

/**
 * Ask for a chart's history before the chart exists: GET /v1/trend for `names` over the last `minutes`, at
 * the pixel width `el` has now, and uPlot's import, both at once. createTrend({early}) uses the answer when
 * it asks for the same signals and range (and load() when the chart is as wide), so a page can start it
 * while it still waits for other things (the Trends page: its signal list).
 */
export function prefetchTrend(el, names, minutes = 10) {
  const now = Date.now() / 1000;
  const range = { since: now - minutes * 60, until: now };
  const early = { key: `${minutes}|${names.join(',')}`, range, points: chartPoints(chartWidth(el)), at: Date.now() };
  early.answer = fetchTrend(names.map((name) => ({ name })), range, early.points);
  loadPlot().catch(() => {}); // createTrend reports a failure
  return early;
}

/**
 * A TrendChart once uPlot is loaded. uPlot is imported on first use, so a page without a chart never loads it
 * and a missing vendor file breaks only the chart (with a message), not the page. `options.early` is a
 * prefetchTrend() of the same signals and minutes, used instead of asking again.
 */
export async function createTrend(el, options) {
  // the history is asked for first, so the server works on it while uPlot loads and builds the chart
  const minutes = options.minutes || 10;
  const names = options.signals.map((s) => s.name);
  let early = options.early;
  if (!early || early.key !== `${minutes}|${names.join(',')}` || Date.now() - early.at >= EARLY_MS) {
    early = prefetchTrend(el, names, minutes);
  }
  await loadPlot();
  const chart = new TrendChart(el, options);
  chart.early = early;
  return chart;
}

const chartWidth = (el) => Math.max(300, el.clientWidth || 800);
const chartPoints = (width) => Math.max(100, Math.round(width));
const EARLY_MS = 5000;
const EARLY_PX = 24;

/**
 * GET /v1/trend for `signals` over a range: {series, from, note}, series null with the server's message as
 * the note when it has no history (404). The promise is also caught here, so a chart never loaded leaves no
 * unhandled rejection; load() awaits it and reports the error.
 */
function fetchTrend(signals, { since, until }, points) {
  const names = signals.map((s) => enc(s.name)).join(',');
  const answer = api.get(`/v1/trend?signals=${names}&since=${since}&until=${until}&points=${points}`).then(
    (body) => ({ series: body.signals, from: body.since, note: '' }),
    (error) => {
      if (error instanceof ApiError && error.status === 404) return { series: null, from: since, note: error.message };
      throw error;
    });
  answer.catch(() => {});
  return answer;
}

/** Pens for trends: distinct, dark, none of the alarm priority colours. */
export const PENS = ['#1f1f1f', '#1f4e8c', '#2e6b3a', '#7a4a22', '#5b3a8c', '#2f7f7f', '#8c3a6b', '#5a5a5a'];
const MAX_ROWS = 200000;

/** A history row's value: a bucket's mean, else the raw sample's. */
export function rowValue(row) {
  if (row.mean !== undefined) return row.mean;
  if (row.value_float !== null && row.value_float !== undefined) return row.value_float;
  if (row.value_int !== null && row.value_int !== undefined) return row.value_int;
  if (row.value_bool !== null && row.value_bool !== undefined) return row.value_bool ? 1 : 0;
  return null;
}

/** The value a series holds at row `index`: its own, else the last one before (the rows of other signals are gaps). */
function heldAt(column, index, value) {
  if (value !== null && value !== undefined) return value;
  if (index === null || index === undefined || !column) return value;
  for (let i = index; i >= 0; i--) if (column[i] !== null && column[i] !== undefined) return column[i];
  return null;
}

const numeric = (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : null);

export class TrendChart {
  /** Use createTrend. signals: [{name, unit}]; minutes: the range shown; height in px. */
  constructor(el, { signals, minutes = 10, height = 360, onZoom = null }) {
    this.el = el;
    this.signals = signals;
    this.minutes = minutes;
    this.following = true;
    this.onZoom = onZoom;
    this.index = new Map(signals.map((s, i) => [s.name, i + 1]));
    this.data = [[], ...signals.map(() => [])];
    this.note = '';
    const width = chartWidth(el);
    const stamp = uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}');
    this.plot = new uPlot({
      width, height,
      scales: { x: { time: true } },
      fmtDate: (tpl) => uPlot.fmtDate(tpl.replace(/\{h\}/g, '{HH}').replace(/\{aa\}/g, '')), // 24-hour clock
      cursor: { drag: { x: true, y: false } },
      series: [{ label: 'time', value: (u, ts) => (ts === null || ts === undefined ? '—' : stamp(new Date(ts * 1000))) },
        ...signals.map((s, i) => ({
          label: s.unit ? `${s.name} (${s.unit})` : s.name, stroke: PENS[i % PENS.length], width: 1.5, spanGaps: true,
          value: (u, v, si, di) => {
            v = heldAt(u.data[si], di, v);
            return v === null || v === undefined ? '—' : `${+v.toFixed(3)}${s.unit ? ` ${s.unit}` : ''}`;
          },
        }))],
      axes: [{ stroke: '#3a3a3a', grid: { stroke: '#c8c8c8' } }, { stroke: '#3a3a3a', grid: { stroke: '#c8c8c8' } }],
      hooks: {
        setSelect: [(u) => { if (u.select.width > 0) this.stopFollowing(); }],
        setScale: [(u, key) => {
          if (key !== 'x') return;
          this.el.dataset.range = `${u.scales.x.min},${u.scales.x.max}`;
          if (!this.following && !this.quiet) this.scheduleReload();
        }],
      },
    }, this.data, el);
    this.plot.over.addEventListener('wheel', (event) => this.wheel(event), { passive: false });
    this.touch(this.plot.over);
    this.plot.over.addEventListener('dblclick', () => this.follow());
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(el);
  }

  fit() {
    const width = Math.max(300, this.el.clientWidth);
    if (Math.abs(width - this.plot.width) > 2) this.plot.setSize({ width, height: this.plot.height });
  }

  /** The range shown now, epoch seconds. */
  range() {
    const now = Date.now() / 1000;
    return { since: now - this.minutes * 60, until: now };
  }

  /**
   * Load each signal's history for a range (the server downsamples to the pixel width): by default the
   * live range (the last `minutes`), else the range a zoom or pan shows (loaded again for that range, so
   * zooming into a day of buckets brings the finer points).
   */
  async load(since = null, until = null) {
    const live = since === null;
    const seq = (this.loads = (this.loads || 0) + 1);
    const points = chartPoints(this.plot.width);
    const early = this.early;
    this.early = null;
    let answer;
    // asked at a width a scroll bar or so away from the chart's: as good (a bucket a little off a pixel)
    if (live && early && Math.abs(early.points - points) <= EARLY_PX && Date.now() - early.at < EARLY_MS) {
      ({ since, until } = early.range); // asked for by createTrend while the chart was being built
      answer = early.answer;
    } else {
      if (live) ({ since, until } = this.range());
      answer = fetchTrend(this.signals, { since, until }, points);
    }
    // no history here (or a signal gone since the page listed it): the note says so, live points only
    const { series, from, note } = await answer;
    this.note = note;
    const tables = await Promise.all(this.signals.map(async (s) => {
      const column = series?.[s.name];
      if (column && column.t_us.length) {
        // history records changes: the last value holds until now (so a steady signal still draws a line)
        const x = column.t_us;
        for (let i = 0; i < x.length; i++) x[i] = from + x[i] / 1e6;
        const y = column.v;
        if (x[x.length - 1] < until) { x.push(until); y.push(y[y.length - 1]); }
        return [x, y];
      }
      return live ? this.held(s, since, until) : [[], []];
    }));
    if (seq !== this.loads || this.destroyed) return this.data[0].length; // a newer load is on its way
    this.data = join(tables);
    if (live && !this.following) this.show(since, until); // live mode off: the range as loaded, frozen
    else this.redraw();
    this.showNote();
    this.el.dataset.history = String(this.data[0].length);
    return this.data[0].length;
  }

  showNote() {
    this.noteEl?.remove();
    this.noteEl = null;
    if (!this.note) return;
    this.noteEl = document.createElement('p');
    this.noteEl.className = 'muted trend-note';
    this.noteEl.dataset.test = 'trend-note';
    this.noteEl.textContent = `${this.note}: live points only.`;
    this.el.append(this.noteEl);
  }

  /** No recorded point in the range: a signal's value, unchanged since its timestamp, held as a flat line. */
  async held(signal, since, until) {
    if (signal.value === undefined) signal = await api.get(`/v1/signals/${enc(signal.name)}`).catch(() => signal);
    const value = numeric(signal.value);
    if (value === null || !signal.timestamp) return [[], []];
    const from = Math.max(signal.timestamp, since);
    return from < until ? [[from, until], [value, value]] : [[until], [value]];
  }

  scheduleReload() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      const { min, max } = this.plot.scales.x;
      if (!this.following && Number.isFinite(min) && Number.isFinite(max) && max > min) {
        this.load(min, max).catch((error) => console.warn('trend:', error.message));
      }
    }, 350);
  }

  /** Append live changes (from the stream) of this chart's signals; a zoomed or panned view stays as it is. */
  append(changes) {
    if (!this.following) return;
    let added = 0;
    for (const c of changes) {
      const column = this.index.get(c.name);
      const value = numeric(c.value);
      if (column === undefined || value === null) continue;
      const x = this.data[0];
      const last = x.length ? x[x.length - 1] : -Infinity;
      if (c.timestamp < last) continue; // older than what is drawn: the history has it
      if (c.timestamp === last && this.data[column][x.length - 1] === null) {
        this.data[column][x.length - 1] = value;
      } else {
        x.push(c.timestamp);
        for (let i = 1; i < this.data.length; i++) this.data[i].push(i === column ? value : null);
      }
      added += 1;
    }
    if (!added) return;
    if (this.data[0].length > MAX_ROWS) for (const column of this.data) column.splice(0, column.length - MAX_ROWS / 2);
    this.redraw();
  }

  redraw() {
    this.el.dataset.points = String(this.data[0].length);
    if (this.following) {
      const { since, until } = this.range();
      this.plot.batch(() => {
        this.plot.setData(this.data, false);
        this.plot.setScale('x', { min: since, max: until });
      });
    } else {
      this.quiet = true;
      try { this.plot.setData(this.data, false); } finally { this.quiet = false; }
    }
  }

  /** Draw the data over [since, until] without following. */
  show(since, until) {
    this.el.dataset.points = String(this.data[0].length);
    this.quiet = true;
    try {
      this.plot.batch(() => {
        this.plot.setData(this.data, false);
        this.plot.setScale('x', { min: since, max: until });
      });
    } finally { this.quiet = false; }
  }

  stopFollowing() {
    if (!this.following) return;
    this.following = false;
    this.onZoom?.(false);
  }

  /** Follow the live end again (after a zoom or pan): the live range is loaded afresh. */
  follow() {
    clearTimeout(this.reloadTimer);
    this.following = true;
    this.onZoom?.(true);
    this.redraw();
    this.load().catch((error) => console.warn('trend:', error.message));
  }

  /** Pan by a fraction of the range shown (negative: back in time). */
  pan(fraction) {
    const { min, max } = this.plot.scales.x;
    const shift = (max - min) * fraction;
    this.stopFollowing();
    this.plot.setScale('x', { min: min + shift, max: max + shift });
  }

  wheel(event) {
    event.preventDefault();
    if (event.shiftKey) { this.pan(event.deltaY > 0 ? 0.1 : -0.1); return; }
    const { min, max } = this.plot.scales.x;
    const rect = this.plot.over.getBoundingClientRect();
    const at = this.plot.posToVal(event.clientX - rect.left, 'x');
    const factor = event.deltaY > 0 ? 1.25 : 0.8;
    this.stopFollowing();
    this.plot.setScale('x', { min: at - (at - min) * factor, max: at + (max - at) * factor });
  }

  /**
   * Tablet gestures: one finger dragged sideways pans, two fingers pinch to zoom around their middle (both
   * stop following live, as the wheel does). Vertical one-finger moves still scroll the page (touch-action).
   */
  touch(over) {
    over.style.touchAction = 'pan-y';
    let start = null;
    const xs = (event) => [...event.touches].map((t) => t.clientX - over.getBoundingClientRect().left);
    const begin = (event) => {
      const { min, max } = this.plot.scales.x;
      const at = xs(event);
      start = at.length ? { min, max, at, width: this.plot.over.clientWidth || this.plot.width } : null;
    };
    over.addEventListener('touchstart', (event) => begin(event), { passive: true });
    over.addEventListener('touchend', (event) => begin(event), { passive: true });
    over.addEventListener('touchcancel', () => { start = null; }, { passive: true });
    over.addEventListener('touchmove', (event) => {
      if (!start || !Number.isFinite(start.min) || !Number.isFinite(start.max)) return;
      const at = xs(event);
      const span = start.max - start.min;
      const perPx = span / start.width;
      if (at.length >= 2 && start.at.length >= 2) {
        const before = Math.abs(start.at[1] - start.at[0]);
        const now = Math.abs(at[1] - at[0]);
        if (before < 10 || now < 10) return;
        event.preventDefault();
        const centre = start.min + ((start.at[0] + start.at[1]) / 2) * perPx; // the time under the fingers
        const scale = before / now;
        const middle = (at[0] + at[1]) / 2;
        const min = centre - middle * perPx * scale;
        this.stopFollowing();
        this.plot.setScale('x', { min, max: min + span * scale });
      } else if (at.length === 1 && start.at.length === 1) {
        const dx = at[0] - start.at[0];
        if (Math.abs(dx) < 4) return;
        event.preventDefault();
        this.stopFollowing();
        this.plot.setScale('x', { min: start.min - dx * perPx, max: start.max - dx * perPx });
      }
    }, { passive: false });
  }

  /** The rows shown (within the x range) as CSV: time (ISO 8601, UTC), then one column per signal. */
  csv() {
    const { min, max } = this.plot.scales.x;
    const lines = [['time', ...this.signals.map((s) => (s.unit ? `${s.name} [${s.unit}]` : s.name))].join(',')];
    const x = this.data[0];
    for (let r = 0; r < x.length; r++) {
      if (x[r] < min || x[r] > max) continue;
      lines.push([new Date(x[r] * 1000).toISOString(), ...this.data.slice(1).map((col) => col[r] ?? '')].join(','));
    }
    return lines.join('\n') + '\n';
  }

  exportCsv(name = 'trend') {
    download(new Blob([this.csv()], { type: 'text/csv' }), `${name}.csv`);
  }

  exportPng(name = 'trend') {
    const source = this.plot.ctx.canvas;
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    const g = canvas.getContext('2d');
    g.fillStyle = '#f4f4f4';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.drawImage(source, 0, 0);
    canvas.toBlob((blob) => download(blob, `${name}.png`), 'image/png');
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.reloadTimer);
    this.resize.disconnect();
    this.plot.destroy();
  }
}

/**
 * One table of [x, y1, y2, ...] (plain arrays: live points are pushed) from each signal's [x, y], in time
 * order, null where a signal has no point at a time: one merge pass over the sorted columns.
 */
export function join(tables) {
  if (tables.length === 1) return [Array.from(tables[0][0]), Array.from(tables[0][1])];
  const n = tables.length;
  const at = new Array(n).fill(0);
  let total = 0;
  for (const [x] of tables) total += x.length;
  const xs = new Array(total);
  const ys = tables.map(() => new Array(total));
  let row = 0;
  for (;;) {
    let next = Infinity;
    for (let k = 0; k < n; k++) {
      const x = tables[k][0];
      if (at[k] < x.length && x[at[k]] < next) next = x[at[k]];
    }
    if (next === Infinity) break;
    xs[row] = next;
    for (let k = 0; k < n; k++) {
      const [x, y] = tables[k];
      // equal times within one signal (M4's min and max): one row each
      if (at[k] < x.length && x[at[k]] === next) { ys[k][row] = y[at[k]]; at[k] += 1; } else ys[k][row] = null;
    }
    row += 1;
  }
  xs.length = row;
  for (const y of ys) y.length = row;
  return [xs, ...ys];
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
