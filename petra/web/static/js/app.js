// The app shell: who is logged in (GET /v1/session), the header (user, role,
// stream state, log out), the navigation, the alarm banner and the page the
// hash names. A 401 anywhere shows the login form over the page; after the
// login the same page (the same hash) is mounted again.
//
// data-test: app-header, nav, nav-<page>, nav-screen-<name>, user-name, user-role,
// stream-state, logout ("Log in" for an anonymous viewer), alarm-banner,
// banner-ack, page (data-page=<page>), page-forbidden, page-error.
import { api, ApiError, setCsrf, onUnauthorized } from './api.js';
import { showLogin } from './login.js';
import { startRouter, currentRoute, href } from './router.js';
import { StreamHub } from './stream.js';
import { AlarmStore } from './alarmstore.js';
import { may } from './roles.js';
import { h, fill, toast } from './dom.js';
import { mountBanner } from './banner.js';

/** Pages in the order of the navigation; `need` is the least role that sees the page. */
const PAGES = [
  { id: 'overview', title: 'Overview', need: 'viewer', load: () => import('./pages/overview.js') },
  { id: 'signals', title: 'Signals', need: 'viewer', load: () => import('./pages/signals.js') },
  // the chart's module with the page's, not after it (one import less in a row before the history is asked for)
  { id: 'trends', title: 'Trends', need: 'viewer',
    load: () => Promise.all([import('./pages/trends.js'), import('./trendchart.js')]).then(([page]) => page) },
  { id: 'alarms', title: 'Alarms', need: 'viewer', load: () => import('./pages/alarms.js') },
  { id: 'tree', title: 'Tree', need: 'viewer', load: () => import('./pages/tree.js') },
  { id: 'designer', title: 'Designer', need: 'viewer', load: () => import('./designer/page.js') },
  { id: 'audit', title: 'Audit', need: 'admin', load: () => import('./pages/audit.js') },
  { id: 'screen', title: 'Screens', need: 'viewer', load: () => import('./pages/screens.js'), hidden: true },
];

const hub = new StreamHub();
const alarms = new AlarmStore(hub);
const ctx = { api, hub, alarms, session: null, screens: [], may: (need) => may(ctx.session?.role, need) };
let mounted = null;
let mountSeq = 0;
let loggingIn = false;

async function boot() {
  onUnauthorized(() => relogin('Your session has ended: log in again to go on where you were.'));
  let session;
  try {
    session = await api.get('/v1/session');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      fill(document.querySelector('[data-test="page"]'), h('p', { class: 'error' }, error.message));
      document.querySelector('[data-test="page"]').hidden = false;
      return;
    }
    // nobody can log in yet (no user in the users file): the server says how to add one
    session = await loginLoop(error.body?.reason === 'no_users' ? error.message : '');
  }
  await started(session);
  document.querySelector('[data-test="logout"]').addEventListener('click', logout);
  mountBanner(document.querySelector('[data-test="alarm-banner"]'), ctx);
  startRouter(route);
}

async function loginLoop(why) {
  loggingIn = true;
  const session = await showLogin(why);
  loggingIn = false;
  return session;
}

/** A session begins (first load or after a login). */
async function started(session) {
  ctx.session = session;
  setCsrf(session.csrf);
  document.querySelector('[data-test="user-name"]').textContent = session.user || session.name || '';
  const role = document.querySelector('[data-test="user-role"]');
  role.textContent = session.role;
  role.dataset.role = session.role;
  document.body.dataset.role = session.role;
  document.querySelector('[data-test="app-header"]').hidden = false;
  document.querySelector('[data-test="page"]').hidden = false;
  // a login session logs out; an anonymous viewer (security.anonymous_viewer) may log in for more;
  // a token or socket caller has nothing to end
  const logoutButton = document.querySelector('[data-test="logout"]');
  ctx.anonymous = session.via === 'anonymous';
  logoutButton.textContent = ctx.anonymous ? 'Log in' : 'Log out';
  logoutButton.hidden = !ctx.anonymous && session.via !== undefined && session.via !== 'session';
  hub.start();
  api.get('/v1/status').then((status) => {
    ctx.node = status.node_id || '';
    document.querySelector('[data-test="node-id"]').textContent = ctx.node;
    setTitle(currentRoute());
  }).catch(() => {});
  try {
    ctx.screens = (await api.get('/v1/screens')).screens || [];
  } catch {
    ctx.screens = [];
  }
  renderNav();
  alarms.load().catch((error) => toast(`alarms: ${error.message}`, { error: true }));
}

async function relogin(why) {
  if (loggingIn) return;
  hub.stop();
  const session = await loginLoop(why);
  await started(session);
  route(currentRoute());
}

async function logout() {
  if (!ctx.anonymous) {
    try { await api.post('/v1/logout'); } catch (error) { if (error.status !== 401) toast(error.message, { error: true }); }
  }
  setCsrf(null);
  unmount();
  hub.stop();
  document.querySelector('[data-test="page"]').hidden = true;
  document.querySelector('[data-test="app-header"]').hidden = true;
  await relogin('');
}

function renderNav() {
  const nav = document.querySelector('[data-test="nav"]');
  const links = PAGES.filter((p) => !p.hidden && ctx.may(p.need)).map((p) =>
    h('a', { href: href(p.id), 'data-test': `nav-${p.id}`, 'data-page': p.id }, p.title));
  for (const screen of ctx.screens) {
    links.push(h('a', { href: href('screen', screen.name), 'data-test': `nav-screen-${screen.name}`,
      'data-page': 'screen', 'data-arg': screen.name, class: 'screen-link' }, screen.title || screen.name));
  }
  fill(nav, links);
  markNav(currentRoute());
}

function markNav(r) {
  for (const a of document.querySelectorAll('[data-test="nav"] a')) {
    const on = a.dataset.page === r.page && (r.page !== 'screen' || a.dataset.arg === r.arg);
    a.classList.toggle('current', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function setTitle(r) {
  const page = PAGES.find((p) => p.id === r.page);
  const screen = r.page === 'screen' ? ctx.screens.find((s) => s.name === r.arg) : null;
  const name = screen ? screen.title || screen.name : page ? page.title : '';
  document.title = ['PETRA', ctx.node, name].filter(Boolean).join(' · ');
}

function unmount() {
  if (mounted) {
    try { mounted(); } catch (error) { console.error(error); }
    mounted = null;
  }
}

async function route(r) {
  const page = PAGES.find((p) => p.id === r.page);
  const el = document.querySelector('[data-test="page"]');
  const seq = ++mountSeq;
  unmount();
  markNav(r);
  setTitle(r);
  if (!page) { location.hash = href('overview'); return; }
  el.dataset.page = page.id;
  if (!ctx.may(page.need)) {
    fill(el, h('p', { class: 'notice', 'data-test': 'page-forbidden' },
      `${page.title} needs the ${page.need} role; you are ${ctx.session.role}.`));
    return;
  }
  fill(el, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const module = await page.load();
    if (seq !== mountSeq) return;
    el.replaceChildren();
    mounted = await module.mount(el, ctx, r) || null;
    if (seq !== mountSeq) unmount();
  } catch (error) {
    if (seq !== mountSeq) return;
    if (error instanceof ApiError && error.status === 401) return;
    fill(el, h('p', { class: 'error', 'data-test': 'page-error' }, error.message));
  }
}

hub.onState((state) => {
  const el = document.querySelector('[data-test="stream-state"]');
  el.dataset.state = state;
  el.title = state === 'live' ? 'updates arrive live' : hub.lastError ? `no live updates: ${hub.lastError}` : '';
  el.textContent = state === 'live' ? 'live' : state === 'stale' ? 'stale: reconnecting…' : 'connecting…';
  document.body.classList.toggle('stale', state !== 'live');
});

boot();
