// Screens: one configured screen (web.screens, GET /v1/screens) drawn on its
// grid of `columns` columns; the widgets' signals come from one
// GET /v1/signals and then the stream. #/screen/<name>.
// data-test: screen (data-name=<name>), screen-missing, and the widgets' (widgets.js).
import { h, fill } from '../dom.js';
import { makeWidget } from '../widgets.js';
import { latest } from '../stream.js';

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
  const widgets = screen.widgets.map((w) => ({ view: w, widget: makeWidget(w, ctx) }));
  const grid = h('div', { class: 'screen-grid', 'data-test': 'screen', 'data-name': screen.name,
    style: { gridTemplateColumns: `repeat(${screen.columns || 12}, minmax(0, 1fr))` } }, widgets.map((w) => w.widget.el));
  el.append(h('h1', {}, screen.title || screen.name), grid);

  const bySignal = new Map();
  for (const { view, widget } of widgets) {
    if (!view.signal) continue;
    if (!bySignal.has(view.signal)) bySignal.set(view.signal, []);
    bySignal.get(view.signal).push(widget);
  }
  const names = [...bySignal.keys()];
  if (names.length) {
    const { signals } = await ctx.api.get('/v1/signals?pattern=*');
    for (const s of signals) for (const widget of bySignal.get(s.name) || []) widget.update(s);
  }
  const listener = { signals: names, onChanges: (changes) => {
    for (const [name, c] of latest(changes)) for (const widget of bySignal.get(name) || []) widget.update(c);
  } };
  const unsubscribe = ctx.hub.subscribe(listener);
  return () => { unsubscribe(); for (const { widget } of widgets) widget.destroy?.(); };
}
