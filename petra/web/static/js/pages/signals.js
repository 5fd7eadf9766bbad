// Signals: every signal of GET /v1/signals, filtered by name/description
// (substring, or a * ? glob), quality and forced; a virtualised list (only
// the rows in view exist, and only they are subscribed on the stream), so
// ten thousand signals scroll as smoothly as ten. Live value with unit,
// quality, age (ticking), owner; click a row for its trend pop-up; Write for
// operators (signals no block computes), Force/Release for engineers.
// data-test: signals-filter, signals-quality, signals-forced, signals-count,
// signals-list, signal-row (data-name=<signal>), signal-value, signal-quality,
// signal-age, signal-write, signal-force, signal-unforce.
import { h, fill } from '../dom.js';
import { formatValue, formatAge, matcher } from '../format.js';
import { latest } from '../stream.js';
import { replaceQuery } from '../router.js';
import { trendPopup } from '../trendpopup.js';
import { writeDialog, forceDialog, unforceDialog, offersWrite, offersForce } from '../signaldialogs.js';

const ROW = 48;
const OVERSCAN = 8;

export async function mount(el, ctx, route) {
  const body = await ctx.api.get('/v1/signals?pattern=*');
  const all = body.signals.sort((a, b) => a.name.localeCompare(b.name));
  const byName = new Map(all.map((s) => [s.name, s]));
  let shown = all;

  const filter = h('input', { type: 'search', class: 'grow', placeholder: 'Filter: name or description, or a glob like tank*',
    'data-test': 'signals-filter', value: route.query.get('q') || '', 'aria-label': 'Filter signals' });
  const quality = h('select', { 'data-test': 'signals-quality', 'aria-label': 'Quality' },
    [['', 'any quality'], ['good', 'good'], ['uncertain', 'uncertain'], ['bad', 'bad']].map(([v, l]) =>
      h('option', { value: v, selected: route.query.get('quality') === v }, l)));
  const forced = h('input', { type: 'checkbox', 'data-test': 'signals-forced', checked: route.query.get('forced') === '1',
    style: { width: '22px', height: '22px', minHeight: 0 } });
  const count = h('span', { class: 'muted', 'data-test': 'signals-count' });
  const spacer = h('div', { class: 'spacer' });
  const list = h('div', { class: 'vlist', 'data-test': 'signals-list', role: 'table' },
    h('div', { class: 'vhead', role: 'row' }, h('span', {}, 'signal'), h('span', { class: 'num' }, 'value'),
      h('span', {}, 'quality'), h('span', { class: 'num' }, 'age'), h('span', { class: 'desc' }, 'description / owner'),
      h('span', {}, '')),
    spacer);
  el.append(h('h1', {}, 'Signals'), h('div', { class: 'toolbar' }, filter, quality,
    h('label', { style: { display: 'flex', gap: '0.4rem', alignItems: 'center' } }, forced, 'forced only'), count), list);

  const rows = new Map(); // name -> {el, value, quality, age, ...}
  const listener = { signals: [], onChanges: (changes) => {
    let redraw = false;
    for (const [name, c] of latest(changes)) {
      const s = byName.get(name);
      if (!s || c.timestamp < s.timestamp) continue; // older than what a write's answer already showed
      // the stream flags a forced signal (and says when it is released): FORCED and Force/Release follow live
      const forced = Boolean(c.forced);
      const flipped = forced !== Boolean(s.forced) || (forced && c.force_reason !== s.force_reason);
      Object.assign(s, { value: c.value, quality: c.quality, timestamp: c.timestamp, forced,
        force_reason: forced ? c.force_reason : undefined });
      const row = rows.get(name);
      if (row && flipped) { row.el.remove(); rows.delete(name); redraw = true; } else if (row) paint(row, s);
    }
    if (redraw) render();
  } };
  const unsubscribe = ctx.hub.subscribe(listener);

  const refresh = (after) => {
    const s = byName.get(after.name);
    if (!s) return;
    Object.assign(s, after);
    const row = rows.get(s.name);
    if (row) { row.el.remove(); rows.delete(s.name); }
    render();
  };

  function buildRow(s, index) {
    const value = h('span', { class: 'num live-value', 'data-test': 'signal-value' });
    const q = h('span', { 'data-test': 'signal-quality' });
    const age = h('span', { class: 'num', 'data-test': 'signal-age' });
    const actions = h('span', { class: 'actions' });
    if (offersWrite(ctx, s)) actions.append(h('button', { type: 'button', class: 'btn small', 'data-test': 'signal-write',
      onclick: (e) => { e.stopPropagation(); writeDialog(s, refresh); } }, 'Write'));
    if (offersForce(ctx)) {
      actions.append(s.forced
        ? h('button', { type: 'button', class: 'btn small', 'data-test': 'signal-unforce',
          onclick: (e) => { e.stopPropagation(); unforceDialog(s, refresh); } }, 'Release')
        : h('button', { type: 'button', class: 'btn small', 'data-test': 'signal-force',
          onclick: (e) => { e.stopPropagation(); forceDialog(s, refresh); } }, 'Force'));
    }
    const rowEl = h('div', { class: 'vrow', role: 'row', 'data-test': 'signal-row', 'data-name': s.name,
      style: { top: `${index * ROW}px` }, onclick: () => trendPopup(ctx, s), title: 'Click for its trend' },
      h('span', { class: 'name' }, s.name, s.forced ? h('span', { class: 'forced-mark' }, 'forced') : null),
      value, q, age,
      h('span', { class: 'desc' }, s.description || s.owner || ''),
      actions);
    const row = { el: rowEl, value, q, age, index };
    paint(row, s);
    return row;
  }

  function paint(row, s) {
    const text = formatValue(s.value, s.unit, s.type);
    if (row.value.textContent !== text) row.value.textContent = text;
    if (row.quality !== s.quality) {
      row.quality = s.quality;
      row.q.textContent = s.quality;
      row.q.className = s.quality === 'good' ? '' : `quality-${s.quality}`;
    }
    const age = formatAge(s.timestamp);
    if (row.age.textContent !== age) row.age.textContent = age;
  }

  function applyFilter() {
    const test = matcher(filter.value);
    const q = quality.value;
    const f = forced.checked;
    shown = all.filter((s) => test(s) && (!q || s.quality === q) && (!f || s.forced));
    count.textContent = shown.length === all.length ? `${all.length} signals` : `${shown.length} of ${all.length} signals`;
    spacer.style.height = `${shown.length * ROW}px`;
    for (const row of rows.values()) row.el.remove();
    rows.clear();
    replaceQuery({ ...(filter.value ? { q: filter.value } : {}), ...(q ? { quality: q } : {}), ...(f ? { forced: '1' } : {}) });
    render();
  }

  function render() {
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + OVERSCAN);
    const visible = new Set();
    for (let i = first; i < last; i++) {
      const s = shown[i];
      visible.add(s.name);
      let row = rows.get(s.name);
      if (row && row.index !== i) { row.el.style.top = `${i * ROW}px`; row.index = i; }
      if (!row) { row = buildRow(s, i); rows.set(s.name, row); spacer.append(row.el); }
    }
    for (const [name, row] of rows) if (!visible.has(name)) { row.el.remove(); rows.delete(name); }
    const names = [...visible].sort();
    if (names.join('\n') !== (listener.signals || []).join('\n')) ctx.hub.update(listener, { signals: names });
  }

  let scrollFrame = 0;
  list.addEventListener('scroll', () => {
    if (scrollFrame) return;
    scrollFrame = requestAnimationFrame(() => { scrollFrame = 0; render(); });
  });
  let typing = 0;
  filter.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(applyFilter, 150); });
  quality.addEventListener('change', applyFilter);
  forced.addEventListener('change', applyFilter);
  const resize = new ResizeObserver(() => render());
  resize.observe(list);
  const ticker = setInterval(() => {
    for (const [name, row] of rows) {
      const age = formatAge(byName.get(name).timestamp);
      if (row.age.textContent !== age) row.age.textContent = age;
    }
  }, 1000);
  applyFilter();
  return () => { unsubscribe(); clearInterval(ticker); resize.disconnect(); };
}
