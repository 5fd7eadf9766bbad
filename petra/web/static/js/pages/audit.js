// Audit (admins): the newest entries of the audit trail, newest first
// (GET /v1/audit?limit=100&before_seq=S), paged with "Older"; a text filter
// over event, actor and details of the loaded entries.
// data-test: audit-table, audit-row (data-seq, data-event), audit-older,
// audit-filter, audit-empty, audit-path.
import { h, fill } from '../dom.js';

const PAGE = 100;

export async function mount(el, ctx) {
  const filter = h('input', { type: 'search', class: 'grow', placeholder: 'Filter: event, who, details',
    'data-test': 'audit-filter', 'aria-label': 'Filter audit entries' });
  const table = h('div', { 'data-test': 'audit-table' });
  const older = h('button', { type: 'button', class: 'btn', 'data-test': 'audit-older', hidden: true }, 'Older entries');
  const path = h('small', { class: 'muted', 'data-test': 'audit-path' });
  el.append(h('h1', {}, 'Audit trail'), h('div', { class: 'toolbar' }, filter, path), table, h('p', {}, older));
  let entries = [];
  let next = null;

  async function load(before) {
    const body = await ctx.api.get(`/v1/audit?limit=${PAGE}${before ? `&before_seq=${before}` : ''}`);
    entries = before ? [...entries, ...body.entries] : body.entries;
    next = body.next_before_seq;
    path.textContent = body.path || '';
    older.hidden = !next;
    render();
  }

  function render() {
    const t = filter.value.trim().toLowerCase();
    const shown = t ? entries.filter((e) => JSON.stringify([e.event, e.actor, e.details]).toLowerCase().includes(t)) : entries;
    if (!shown.length) { fill(table, h('p', { class: 'notice', 'data-test': 'audit-empty' }, 'No entries.')); return; }
    fill(table, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['#', 'time (UTC)', 'event', 'who', 'details'].map((c) => h('th', {}, c)))),
      h('tbody', {}, shown.map((e) => h('tr', { 'data-test': 'audit-row', 'data-seq': e.seq, 'data-event': e.event },
        h('td', { class: 'num' }, String(e.seq)), h('td', { style: { whiteSpace: 'nowrap' } }, String(e.ts || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
        h('td', {}, e.event), h('td', {}, e.actor),
        h('td', { class: 'muted' }, Object.entries(e.details || {}).map(([k, v]) =>
          `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')))))));
  }

  filter.addEventListener('input', render);
  older.addEventListener('click', () => load(next).catch((error) => fill(table, h('p', { class: 'error' }, error.message))));
  await load(null);
}
