// The trend pop-up of one signal (click a signal's row, or a value widget):
// its last 10 minutes and then live points, with a link to the Trends page.
// data-test: trend-popup, trend-popup-chart, trend-popup-open, trend-popup-close.
import { h } from './dom.js';
import { href } from './router.js';
import { createTrend } from './trendchart.js';

export function trendPopup(ctx, signal) {
  const chartEl = h('div', { class: 'trend-chart', 'data-test': 'trend-popup-chart' });
  const close = () => dialog.close();
  const dialog = h('dialog', { class: 'dialog trend-popup', 'data-test': 'trend-popup', style: { width: 'min(900px, 96vw)' } },
    h('h2', {}, signal.unit ? `${signal.name} (${signal.unit})` : signal.name),
    signal.description ? h('p', { class: 'muted' }, signal.description) : null,
    chartEl,
    h('div', { class: 'buttons' },
      h('a', { class: 'btn', 'data-test': 'trend-popup-open', href: href('trends', '', { signals: signal.name }),
        onclick: close, style: { display: 'inline-flex', alignItems: 'center', textDecoration: 'none' } }, 'Open in Trends'),
      h('button', { type: 'button', class: 'btn primary', 'data-test': 'trend-popup-close', onclick: close }, 'Close')));
  document.body.append(dialog);
  dialog.showModal();
  let chart = null;
  let closed = false;
  const listener = { signals: [signal.name], onChanges: (changes) => chart?.append(changes) };
  const unsubscribe = ctx.hub.subscribe(listener);
  createTrend(chartEl, { signals: [signal], minutes: 10, height: 300 })
    .then((made) => { if (closed) { made.destroy(); return null; } chart = made; return made.load(); })
    .catch((error) => chartEl.prepend(h('p', { class: 'error' }, error.message)));
  dialog.addEventListener('close', () => { closed = true; unsubscribe(); chart?.destroy(); dialog.remove(); });
}
