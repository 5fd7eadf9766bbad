// Overview: plant health from GET /v1/status, then the stream's `status`
// event (once a second): scan lateness and work against the scan time,
// overruns, actors down, drivers connected, storage, active alarms by
// priority. A card turns abnormal (a coloured edge) only when something is.
// data-test: overview-scan, overview-tasks, overview-actors, overview-drivers,
// overview-storage, overview-alarms, alarms-<severity> (count), scan-lateness,
// scan-work, scan-overruns, actors-running, actors-down, drivers-connected, uptime.
import { h, fill } from '../dom.js';
import { formatDuration, ms } from '../format.js';
import { SEVERITIES } from '../alarmstore.js';
import { subsystemCards } from './subsystems.js';

export async function mount(el, ctx) {
  const scan = h('section', { class: 'card', 'data-test': 'overview-scan' });
  const actors = h('section', { class: 'card', 'data-test': 'overview-actors' });
  const alarms = h('section', { class: 'card', 'data-test': 'overview-alarms' });
  const drivers = h('section', { class: 'card', 'data-test': 'overview-drivers' });
  const storage = h('section', { class: 'card', 'data-test': 'overview-storage' });
  const tasks = h('section', { class: 'card wide', 'data-test': 'overview-tasks' });
  const title = h('h1', {}, 'Overview');
  el.append(title, h('div', { class: 'cards' }, scan, actors, alarms, drivers, storage), h('h2', {}, 'Tasks'), tasks);

  const render = (status) => {
    document.querySelector('[data-test="node-id"]').textContent = status.node_id || '';
    const s = status.scan || {};
    const period = status.scan_time_ms || 0;
    const late = (s.lateness_p99_ms ?? 0) > period * 0.5 || (s.work_p99_ms ?? 0) > period;
    scan.classList.toggle('abnormal', late);
    fill(scan, h('h2', {}, `Scan (every ${period} ms)`), h('dl', { class: 'kv' },
      h('dt', {}, 'lateness p99'), h('dd', { 'data-test': 'scan-lateness' }, ms(s.lateness_p99_ms)),
      h('dt', {}, 'work p50 / p99'), h('dd', { 'data-test': 'scan-work' }, `${ms(s.work_p50_ms)} / ${ms(s.work_p99_ms)}`),
      h('dt', {}, 'overruns'), h('dd', { 'data-test': 'scan-overruns' }, String(s.overruns ?? '—')),
      h('dt', {}, 'missed ticks'), h('dd', {}, String(s.missed_ticks ?? '—')),
      h('dt', {}, 'uptime'), h('dd', { 'data-test': 'uptime' }, formatDuration(status.uptime_s))));
    const a = status.actors || {};
    const down = (a.total ?? 0) - (a.running ?? 0);
    actors.classList.toggle('abnormal', down > 0 || (a.hung ?? 0) > 0);
    fill(actors, h('h2', {}, 'Actors'), h('dl', { class: 'kv' },
      h('dt', {}, 'running'), h('dd', { 'data-test': 'actors-running' }, `${a.running ?? '—'} of ${a.total ?? '—'}`),
      h('dt', {}, 'down'), h('dd', { 'data-test': 'actors-down' }, String(down)),
      h('dt', {}, 'hung'), h('dd', {}, String(a.hung ?? 0)),
      h('dt', {}, 'restarts'), h('dd', {}, String(a.restarts ?? 0)),
      h('dt', {}, 'signals (forced)'), h('dd', {}, `${status.signals ?? '—'} (${status.forced ?? 0})`)));
    const { driverCard, storageCard } = subsystemCards(status.subsystems || {});
    fill(drivers, h('h2', {}, 'Drivers'), driverCard.body);
    drivers.classList.toggle('abnormal', driverCard.abnormal);
    fill(storage, h('h2', {}, 'Storage'), storageCard.body);
    storage.classList.toggle('abnormal', storageCard.abnormal);
    fill(tasks, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['task', 'kind', 'every / trigger', 'runs', 'overruns', 'missed', 'lateness p99',
        'work p50', 'work p99'].map((c) => h('th', {}, c)))),
      h('tbody', {}, Object.entries(status.tasks || {}).map(([name, t]) => h('tr', {},
        h('td', {}, name), h('td', {}, t.kind),
        h('td', {}, t.interval_ms ? `${t.interval_ms} ms` : (t.trigger || []).join(', ')),
        h('td', { class: 'num' }, String(t.runs)),
        h('td', { class: 'num' }, String(t.overruns)), h('td', { class: 'num' }, String(t.missed)),
        h('td', { class: 'num' }, ms(t.lateness_p99_ms)), h('td', { class: 'num' }, ms(t.work_p50_ms)),
        h('td', { class: 'num' }, ms(t.work_p99_ms)))))));
  };

  const renderAlarms = () => {
    if (ctx.alarms.available === false) {
      fill(alarms, h('h2', {}, 'Active alarms'), h('p', { class: 'muted' }, 'No alarms configured.'));
      return;
    }
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
    let unacked = 0;
    for (const a of ctx.alarms.alarms.values()) {
      if (a.active) counts[a.severity] = (counts[a.severity] || 0) + 1;
      if (a.acked === false && a.state !== 'normal') unacked += 1;
    }
    fill(alarms, h('h2', {}, 'Active alarms'), h('dl', { class: 'kv' },
      SEVERITIES.map((s) => [h('dt', {}, counts[s] ? h('span', { class: `prio prio-${s}` }, s) : s),
        h('dd', { 'data-test': `alarms-${s}` }, String(counts[s]))]),
      h('dt', {}, 'unacknowledged'), h('dd', { 'data-test': 'alarms-unacked' }, String(unacked))));
  };

  render(await ctx.api.get('/v1/status'));
  renderAlarms();
  const listener = { status: true, onStatus: render };
  const unsubscribe = ctx.hub.subscribe(listener);
  const offAlarms = ctx.alarms.onChange(renderAlarms);
  return () => { unsubscribe(); offAlarms(); };
}
