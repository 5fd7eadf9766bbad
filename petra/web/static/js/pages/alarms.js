// Alarms: the live ISA-18.2 list (the tab's AlarmStore: GET /v1/alarms, then
// the stream's `alarms` events), highest priority first, then the newest;
// acknowledge with a comment, shelve with a duration and reason, unshelve,
// reset (operators); out of service and back (engineers); the event history
// with who did what (GET /v1/alarms/history, of every alarm or one, reloaded
// after changes).
// "Standing only" (default) hides alarms that are normal and acknowledged.
// data-test: alarms-table, alarm-row (data-id=<id>, data-state=<state>),
// alarm-state, alarm-ack, alarm-shelve, alarm-unshelve, alarm-reset,
// alarm-disable, alarm-enable, alarms-all, alarms-history, alarms-history-alarm (the
// history's alarm picker), alarm-event (data-alarm, data-event), alarms-none.
import { h, fill } from '../dom.js';
import { formatValue, formatTime, formatDuration } from '../format.js';
import { stateLabel } from '../alarmstore.js';
import { formDialog } from '../dialog.js';
import { ackDialog, shelveDialog, simpleCommand } from './alarmdialogs.js';
import { api, enc } from '../api.js';
import { replaceQuery } from '../router.js';

export async function mount(el, ctx, route) {
  if (ctx.alarms.available === null) await ctx.alarms.load();
  const all = h('input', { type: 'checkbox', 'data-test': 'alarms-all', checked: route.query.get('all') === '1',
    style: { width: '22px', height: '22px', minHeight: 0 } });
  const table = h('div', { 'data-test': 'alarms-table' });
  const history = h('div', { 'data-test': 'alarms-history' });
  const which = h('select', { 'data-test': 'alarms-history-alarm', 'aria-label': 'Events of' },
    h('option', { value: '' }, 'every alarm'),
    ctx.alarms.sorted().map((a) => h('option', { value: a.id, selected: route.query.get('alarm') === a.id }, a.name)));
  el.append(h('h1', {}, 'Alarms'),
    h('div', { class: 'toolbar' }, h('label', { style: { display: 'flex', gap: '0.4rem', alignItems: 'center' } }, all,
      'show normal alarms too'), h('span', { class: 'grow' }),
      h('a', { class: 'btn', href: '#/alarms', onclick: (e) => { e.preventDefault(); loadHistory(); },
        style: { display: 'inline-flex', alignItems: 'center', textDecoration: 'none' } }, 'Refresh history')),
    table, h('div', { class: 'toolbar' }, h('h2', {}, 'Event history'), which), history);

  const operator = ctx.may('operator');
  const engineer = ctx.may('engineer');

  const actions = (a) => {
    const out = [];
    const unacked = a.acked === false && a.state !== 'normal';
    if (operator && unacked) out.push(btn('alarm-ack', 'Acknowledge', () => ackDialog(ctx, a)));
    if (operator && a.state !== 'shelved' && !a.out_of_service) out.push(btn('alarm-shelve', 'Shelve', () => shelveDialog(ctx, a)));
    if (operator && a.state === 'shelved') out.push(btn('alarm-unshelve', 'Unshelve', () => simpleCommand(ctx, a, 'unshelve')));
    if (operator && a.latched) out.push(btn('alarm-reset', 'Reset', () => simpleCommand(ctx, a, 'reset')));
    if (engineer && !a.out_of_service) out.push(btn('alarm-disable', 'Out of service', () => disableDialog(ctx, a)));
    if (engineer && a.out_of_service) out.push(btn('alarm-enable', 'In service', () => simpleCommand(ctx, a, 'enable')));
    return out;
  };

  const render = () => {
    if (ctx.alarms.available === false) {
      fill(table, h('p', { class: 'notice', 'data-test': 'alarms-none' }, 'This plant has no alarms configured.'));
      return;
    }
    const list = all.checked ? ctx.alarms.sorted() : ctx.alarms.standing();
    if (!list.length) {
      fill(table, h('p', { class: 'notice', 'data-test': 'alarms-none' }, 'No standing alarms.'));
      return;
    }
    fill(table, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['priority', 'alarm', 'state', 'value', 'raised', 'acknowledged by', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, list.map((a) => {
        const unacked = a.acked === false && a.state !== 'normal';
        const quiet = a.state === 'normal' || a.state === 'shelved' || a.out_of_service || a.suppressed;
        return h('tr', { 'data-test': 'alarm-row', 'data-id': a.id, 'data-state': a.state },
          h('td', {}, h('span', { class: `prio ${quiet ? 'normal' : `prio-${a.severity}`}${unacked && !quiet ? ' unacked' : ''}` },
            a.severity)),
          h('td', {}, h('div', {}, a.name), h('small', { class: 'muted' }, `${a.signal} ${a.condition} ${a.setpoint ?? ''}`)),
          h('td', { 'data-test': 'alarm-state' }, stateLabel(a.state), shelveText(a), a.chattering ? h('div', { class: 'muted' }, 'chattering') : null),
          h('td', { class: 'num' }, formatValue(a.value)),
          h('td', {}, formatTime(a.raised_at)),
          h('td', {}, a.acked_by || ''),
          h('td', {}, h('div', { class: 'actions', style: { display: 'flex', gap: '0.3rem', flexWrap: 'wrap' } }, actions(a))));
      }))));
  };

  async function loadHistory() {
    const one = which.value ? `&id=${enc(which.value)}` : '';
    const body = await api.get(`/v1/alarms/history?limit=100${one}`).catch((error) => ({ error }));
    if (body.error) { fill(history, h('p', { class: 'muted' }, body.error.message)); return; }
    fill(history, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['time', 'alarm', 'event', 'state', 'value', 'who', 'note'].map((c) => h('th', {}, c)))),
      h('tbody', {}, body.events.map((e) => h('tr', { 'data-test': 'alarm-event', 'data-alarm': e.alarm, 'data-event': e.event },
        h('td', {}, formatTime(e.time)), h('td', {}, e.alarm), h('td', {}, e.event), h('td', {}, stateLabel(e.state)),
        h('td', { class: 'num' }, formatValue(e.value)), h('td', {}, e.who || ''),
        h('td', { class: 'muted' }, e.details ? Object.entries(e.details).map(([k, v]) => `${k}: ${k === 'until' && typeof v === 'number' ? formatTime(v) : v}`).join(', ') : ''))))));
  }

  let historyTimer = 0;
  const changed = () => {
    render();
    clearTimeout(historyTimer);
    historyTimer = setTimeout(loadHistory, 1000);
  };
  const remember = () => replaceQuery({ ...(all.checked ? { all: '1' } : {}), ...(which.value ? { alarm: which.value } : {}) });
  all.addEventListener('change', () => { remember(); render(); });
  which.addEventListener('change', () => { remember(); loadHistory(); });
  const off = ctx.alarms.onChange(changed);
  render();
  if (ctx.alarms.available !== false) await loadHistory();
  return () => { off(); clearTimeout(historyTimer); };
}

function btn(test, label, onclick) {
  return h('button', { type: 'button', class: 'btn small', 'data-test': test, onclick }, label);
}

function shelveText(a) {
  if (!a.shelve) return null;
  const s = a.shelve;
  const left = s.until ? ` for ${formatDuration(s.until - Date.now() / 1000)} more` : '';
  return h('div', { class: 'muted' }, `by ${s.by || s.who || '?'}${left}${s.reason ? `: ${s.reason}` : ''}`);
}

function disableDialog(ctx, alarm) {
  return formDialog({
    title: `Take ${alarm.name} out of service`, submit: 'Out of service',
    text: 'It is not evaluated or annunciated until someone puts it back in service.',
    fields: [{ name: 'reason', label: 'Reason (audited)', type: 'text', required: true }],
    action: async ({ reason }) => {
      const view = await api.post(`/v1/alarms/${enc(alarm.id)}/disable`, { reason });
      if (view && view.id) ctx.alarms.apply(view);
      return view;
    },
  });
}
