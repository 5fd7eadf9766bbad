// The banner under the header: the newest unacknowledged alarm, its priority
// colour, and Acknowledge for operators. data-test: alarm-banner,
// banner-text, banner-ack, banner-count.
import { h, fill } from './dom.js';
import { ackDialog } from './pages/alarmdialogs.js';
import { stateLabel } from './alarmstore.js';

export function mountBanner(el, ctx) {
  const render = () => {
    const alarm = ctx.alarms.newestUnacked();
    el.hidden = !alarm;
    if (!alarm) return;
    const unacked = [...ctx.alarms.alarms.values()].filter((a) => a.acked === false && a.state !== 'normal').length;
    el.dataset.severity = alarm.severity;
    fill(el,
      h('span', { class: `prio prio-${alarm.severity} unacked` }, alarm.severity),
      h('a', { href: '#/alarms', class: 'banner-text', 'data-test': 'banner-text' },
        `${alarm.name}: ${stateLabel(alarm.state)}`),
      h('span', { class: 'muted', 'data-test': 'banner-count' }, unacked > 1 ? `${unacked} unacknowledged` : ''),
      ctx.may('operator') ? h('button', { type: 'button', class: 'btn', 'data-test': 'banner-ack',
        onclick: () => ackDialog(ctx, alarm) }, 'Acknowledge') : null);
  };
  ctx.alarms.onChange(render);
  render();
}
