// Screens: one configured screen (web.screens, GET /v1/screens) drawn on its
// grid of `columns` columns; the widgets' signals come from one
// GET /v1/signals and then the stream. #/screen/<name>.
// data-test: screen (data-name=<name>), screen-missing, and the widgets' (widgets.js).
import { h, fill } from '../dom.js';
import { makeWidget, ValueLayer } from '../widgets.js';
import { latest } from '../stream.js';

const APPLY_MS = 250;

export async function mount(el, ctx, route) {
  const body = await ctx.api.get('/v1/screens');
  ctx.screens = body.screens || [];
  const screen = ctx.screens.find((s) => s.name === route.arg) || (!route.arg && ctx.screens[0]);
  if (!screen) {
    fill(el, h('p', { class: 'notice', 'data-test': 'screen-missing' }, ctx.screens.length
      ? `There is no screen "${route.arg}"; the configured ones are in the menu.`
      : 'No screens are configured (web.screens in the plant config).'));
    return null;
  }
  const grid = h('div', { class: 'screen-grid', 'data-test': 'screen', 'data-name': screen.name,
    style: { gridTemplateColumns: `repeat(${screen.columns || 12}, minmax(0, 1fr))` } });
  // the live values of the screen are drawn on one canvas over its grid (widgets.js ValueLayer)
  const layer = new ValueLayer(grid, ctx.hub);
  const widgetCtx = Object.assign(Object.create(ctx), { values: layer });
  const widgets = screen.widgets.map((w) => ({ view: w, widget: makeWidget(w, widgetCtx) }));
  grid.prepend(...widgets.map((w) => w.widget.el));
  el.append(h('h1', {}, screen.title || screen.name), grid);

  const bySignal = new Map();
  for (const { view, widget } of widgets) {
    if (!view.signal) continue;
    if (!bySignal.has(view.signal)) bySignal.set(view.signal, []);
    bySignal.get(view.signal).push(widget);
  }
  const names = [...bySignal.keys()];
  const shownAt = new Map(); // name -> timestamp shown: an older value (one in flight, the first GET) is not drawn
  const show = (c) => {
    if (c.timestamp < (shownAt.get(c.name) ?? -Infinity)) return;
    shownAt.set(c.name, c.timestamp);
    for (const widget of bySignal.get(c.name) || []) widget.update(c);
  };
  // Values are applied at most every APPLY_MS, each signal's latest: nobody reads a number that changes ten
  // times a second, and every apply costs the page a frame's style, layout and paint of the changed values.
  // A change after a quiet spell is applied at once (the next frame); one during the spell waits at most
  // APPLY_MS, and no change is ever lost, only superseded by a later one of the same signal.
  const held = new Map();
  let lastApply = -Infinity;
  let timer = 0;
  const apply = () => {
    timer = 0;
    lastApply = performance.now();
    const batch = [...held.values()];
    held.clear();
    for (const c of batch) show(c);
  };
  const receive = (changes) => {
    for (const c of latest(changes).values()) held.set(c.name, c);
    if (timer) return;
    const wait = lastApply + APPLY_MS - performance.now();
    if (wait <= 0) apply(); else timer = setTimeout(apply, wait);
  };
  // subscribe first, then read the values: nothing that changes in between is missed
  const listener = { signals: names, onChanges: receive };
  const unsubscribe = ctx.hub.subscribe(listener);
  const cleanup = () => {
    unsubscribe();
    clearTimeout(timer);
    for (const { widget } of widgets) widget.destroy?.();
    layer.destroy();
  };
  if (names.length) {
    try {
      const { signals } = await ctx.api.get('/v1/signals?pattern=*');
      for (const s of signals) if (bySignal.has(s.name)) show(s);
    } catch (error) {
      cleanup();
      throw error;
    }
  }
  return cleanup;
}
