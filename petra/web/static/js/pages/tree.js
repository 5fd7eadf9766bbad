// Tree: the supervision tree (GET /v1/tree, every 2 s while shown): each
// actor's state, restarts, uptime, mailbox and last error; a state that is
// not running is the only colour. Engineers get Restart and Inject (fault
// injection for chaos tests), each confirmed in a dialog.
// data-test: tree, tree-node (data-path=<path>, data-state=<state>),
// node-state, node-restarts, node-error, node-restart, node-inject, tree-updated.
import { h, fill, toast } from '../dom.js';
import { formatDuration } from '../format.js';
import { formDialog } from '../dialog.js';

const REFRESH_MS = 2000;

export async function mount(el, ctx) {
  const tree = h('div', { class: 'tree', 'data-test': 'tree' });
  const updated = h('span', { class: 'muted', 'data-test': 'tree-updated' });
  el.append(h('h1', {}, 'Supervision tree'), h('div', { class: 'toolbar' }, updated), tree);
  const engineer = ctx.may('engineer');

  const node = (n) => h('li', {},
    h('div', { class: 'node', 'data-test': 'tree-node', 'data-path': n.path, 'data-state': n.state },
      h('strong', {}, n.name || n.path), h('small', { class: 'muted' }, n.kind),
      h('span', { class: `state state-${n.state}`, 'data-test': 'node-state' }, n.state),
      h('span', { class: 'muted', 'data-test': 'node-restarts' }, `restarts ${n.restarts}`),
      n.uptime_s !== null && n.uptime_s !== undefined ? h('span', { class: 'muted' }, `up ${formatDuration(n.uptime_s)}`) : null,
      n.kind === 'worker' ? h('span', { class: 'muted' }, `mailbox ${n.mailbox_depth ?? 0}`) : null,
      n.hung ? h('span', { class: 'state state-hung' }, `hung ${n.hung}`) : null,
      n.last_error ? h('span', { class: 'last-error', 'data-test': 'node-error', title: n.last_error }, n.last_error) : null,
      engineer ? h('button', { type: 'button', class: 'btn small', 'data-test': 'node-restart',
        onclick: () => restartDialog(ctx, n).then(load) }, 'Restart') : null,
      engineer && n.kind === 'worker' ? h('button', { type: 'button', class: 'btn small', 'data-test': 'node-inject',
        onclick: () => injectDialog(ctx, n).then(load) }, 'Inject') : null),
    n.children && n.children.length ? h('ul', {}, n.children.map(node)) : null);

  let timer = 0;
  let stopped = false;
  async function load() {
    clearTimeout(timer);
    try {
      const root = await ctx.api.get('/v1/tree');
      if (stopped) return;
      if (!document.querySelector('dialog[open]')) fill(tree, h('ul', {}, node(root)));
      updated.textContent = `as of ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
    } catch (error) {
      updated.textContent = error.message;
    }
    if (!stopped) timer = setTimeout(load, document.visibilityState === 'hidden' ? REFRESH_MS * 5 : REFRESH_MS);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

function restartDialog(ctx, n) {
  return formDialog({
    title: `Restart ${n.path}`, submit: 'Restart',
    text: 'The actor stops and starts again with its children (not counted toward restart intensity). Audited.',
    action: async () => { await ctx.api.post('/v1/actors/restart', { path: n.path }); toast(`${n.path} restarted`); },
  });
}

function injectDialog(ctx, n) {
  return formDialog({
    title: `Inject a fault into ${n.path}`, submit: 'Inject',
    text: 'For chaos testing: the supervisor should recover the actor. Audited.',
    fields: [
      { name: 'kind', label: 'Fault', type: 'select', value: 'crash',
        options: [['crash', 'crash'], ['hang', 'hang (seconds)'], ['slow', 'slow (ms per message)'], ['raise-on-next', 'raise on next message']] },
      { name: 'arg', label: 'Argument (hang: s up to 3600; slow: ms up to 60000)', type: 'number', min: 0 },
    ],
    action: async ({ kind, arg }) => {
      await ctx.api.post('/v1/actors/inject', { path: n.path, kind, ...(arg !== null ? { arg } : {}) });
      toast(`${kind} injected into ${n.path}`);
    },
  });
}
