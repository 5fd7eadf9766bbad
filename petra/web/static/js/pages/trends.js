// Trends: pick up to 8 numeric or bool signals and a range; the chart loads
// their history (one GET /v1/trend, downsampled by the server to the chart's
// width; without a storage section PETRA answers from its in-memory ring),
// then, in live mode, appends the stream's points and keeps "now" at the
// right edge. Zoom by dragging or the wheel, pan with Shift+wheel or ◀ ▶,
// double-click or "Follow live" to return; CSV and PNG of what is shown.
// The picks and the range live in the hash (#/trends?signals=a,b&minutes=60).
// data-test: trend-picker, trend-filter, trend-pick (data-name=<signal>),
// trend-range, trend-live, trend-pan-back, trend-pan-forward, trend-follow,
// trend-csv, trend-png, trend-chart, trend-empty, trend-points, trend-error.
import { h, fill } from '../dom.js';
import { replaceQuery } from '../router.js';
import { createTrend, prefetchTrend, PENS } from '../trendchart.js';
import { matcher } from '../format.js';

const MAX_SIGNALS = 8;
const RANGES = [[5, '5 min'], [15, '15 min'], [60, '1 h'], [480, '8 h'], [1440, '24 h'], [10080, '7 d']];

export async function mount(el, ctx, route) {
  // the signal list and the chart's history are asked for at once: the page is built first (so the chart's
  // width is known) and the history of the hash's signals is prefetched; it is used if they all exist
  const asked = (route.query.get('signals') || '').split(',').filter(Boolean).slice(0, MAX_SIGNALS);
  let candidates = [];
  let known = new Map();
  let picked = [];
  let minutes = Number(route.query.get('minutes')) || 15;
  let live = route.query.get('live') !== '0';

  const filter = h('input', { type: 'search', placeholder: 'Find a signal', 'data-test': 'trend-filter',
    style: { width: '100%' }, 'aria-label': 'Find a signal' });
  const pickList = h('div', {});
  const picker = h('div', { class: 'trend-picker', 'data-test': 'trend-picker' }, filter, pickList);
  const range = h('select', { 'data-test': 'trend-range', 'aria-label': 'Range' },
    RANGES.map(([m, label]) => h('option', { value: m, selected: m === minutes }, label)));
  const liveBox = h('input', { type: 'checkbox', 'data-test': 'trend-live', checked: live,
    style: { width: '22px', height: '22px', minHeight: 0 } });
  const follow = h('button', { type: 'button', class: 'btn', 'data-test': 'trend-follow', hidden: true }, 'Follow live');
  const points = h('span', { class: 'muted', 'data-test': 'trend-points' });
  const chartEl = h('div', { class: 'trend-chart', 'data-test': 'trend-chart' });
  let chart = null;
  let builds = 0;
  let stopped = false;
  const button = (test, label, onclick, title) => h('button', { type: 'button', class: 'btn', 'data-test': test, onclick, title }, label);
  el.append(h('h1', {}, 'Trends'), h('div', { class: 'trend-layout' }, picker, h('div', { style: { minWidth: 0 } },
    h('div', { class: 'toolbar' }, range,
      h('label', { style: { display: 'flex', gap: '0.4rem', alignItems: 'center' } }, liveBox, 'live'),
      button('trend-pan-back', '◀', () => chart?.pan(-0.25), 'Back in time'),
      button('trend-pan-forward', '▶', () => chart?.pan(0.25), 'Forward in time'),
      follow, h('span', { class: 'grow' }), points,
      button('trend-csv', 'CSV', () => chart?.exportCsv(fileName())), button('trend-png', 'PNG', () => chart?.exportPng(fileName()))),
    chartEl)));
  let early = asked.length ? prefetchTrend(chartEl, asked, minutes) : null;
  const body = await ctx.api.get('/v1/signals?pattern=*');
  candidates = body.signals.filter((s) => s.type !== 'string').sort((a, b) => a.name.localeCompare(b.name));
  known = new Map(candidates.map((s) => [s.name, s]));
  picked = asked.filter((n) => known.has(n));

  const listener = { signals: [], onChanges: (changes) => { if (chart && live) { chart.append(changes); count(); } } };
  const unsubscribe = ctx.hub.subscribe(listener);
  const fileName = () => `petra-trend-${picked.join('+') || 'none'}-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}`;
  const count = () => { points.textContent = chart ? `${chart.data[0].length} points` : ''; };

  function renderPicks() {
    const test = matcher(filter.value);
    const list = [...picked.map((n) => known.get(n)), ...candidates.filter((s) => !picked.includes(s.name) && test(s))].slice(0, 300);
    fill(pickList, list.map((s) => {
      const index = picked.indexOf(s.name);
      const box = h('input', { type: 'checkbox', checked: index >= 0, disabled: index < 0 && picked.length >= MAX_SIGNALS,
        onchange: () => toggle(s.name) });
      return h('label', { 'data-test': 'trend-pick', 'data-name': s.name },
        box, h('span', { style: { color: index >= 0 ? PENS[index % PENS.length] : '', fontWeight: index >= 0 ? 600 : 400 } },
          s.name), s.unit ? h('small', { class: 'muted' }, s.unit) : null);
    }));
  }

  function toggle(name) {
    picked = picked.includes(name) ? picked.filter((n) => n !== name) : [...picked, name].slice(0, MAX_SIGNALS);
    renderPicks();
    rebuild();
  }

  async function rebuild() {
    replaceQuery({ ...(picked.length ? { signals: picked.join(',') } : {}), minutes, ...(live ? {} : { live: '0' }) });
    chart?.destroy();
    chart = null;
    chartEl.replaceChildren();
    ctx.hub.update(listener, { signals: live ? [...picked] : [] });
    if (!picked.length) {
      fill(chartEl, h('p', { class: 'notice', 'data-test': 'trend-empty' }, 'Pick up to 8 signals on the left.'));
      count();
      return;
    }
    const seq = ++builds;
    try {
      if (seq > 1) early = null; // the prefetch was for the first chart only
      const made = await createTrend(chartEl, {
        signals: picked.map((n) => known.get(n)), minutes, height: Math.max(300, window.innerHeight - 260), early,
        onZoom: (following) => { follow.hidden = following || !live; },
      });
      if (seq !== builds || stopped) { made.destroy(); return; }
      chart = made;
      chart.following = live;
      await chart.load();
    } catch (error) {
      if (seq === builds) chartEl.prepend(h('p', { class: 'error', 'data-test': 'trend-error' }, error.message));
    }
    count();
  }

  filter.addEventListener('input', renderPicks);
  range.addEventListener('change', () => { minutes = Number(range.value); rebuild(); });
  liveBox.addEventListener('change', () => { live = liveBox.checked; rebuild(); });
  follow.addEventListener('click', () => chart?.follow());
  renderPicks();
  await rebuild();
  return () => { stopped = true; unsubscribe(); chart?.destroy(); };
}
