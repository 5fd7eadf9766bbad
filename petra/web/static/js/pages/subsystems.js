// The drivers and storage of GET /v1/status's `subsystems` (actor path ->
// what the actor reports), as two card bodies for the overview.
import { h } from '../dom.js';

const short = (path) => path.split('/').slice(-1)[0];

function entries(map, under) {
  return Object.entries(map).filter(([path]) => path.includes(`/${under}/`));
}

export function subsystemCards(subsystems) {
  const drivers = entries(subsystems, 'drivers');
  const storage = entries(subsystems, 'storage');
  const connected = drivers.filter(([, s]) => s.connected).length;
  const driverCard = {
    abnormal: connected < drivers.length,
    body: drivers.length ? [
      h('p', { class: 'big', 'data-test': 'drivers-connected' }, `${connected} of ${drivers.length} connected`),
      h('dl', { class: 'kv' }, drivers.map(([path, s]) => [
        h('dt', {}, short(path)),
        h('dd', { class: s.connected ? '' : 'error', title: s.last_error || s.error || '' },
          s.error ? s.error : s.connected ? 'connected' : `disconnected${s.last_error ? `: ${s.last_error}` : ''}`)])),
    ] : [h('p', { class: 'muted', 'data-test': 'drivers-connected' }, 'No drivers configured.')],
  };
  const storageCard = {
    abnormal: storage.some(([, s]) => s.error || s.last_error),
    body: storage.length ? h('dl', { class: 'kv' }, storage.flatMap(([path, s]) => [
      h('dt', {}, short(path)),
      h('dd', { class: s.error || s.last_error ? 'error' : '' }, s.error || s.last_error || describe(s))]))
      : h('p', { class: 'muted' }, 'No storage configured (trends come from the in-memory ring).'),
  };
  return { driverCard, storageCard };
}

function describe(s) {
  const parts = [];
  for (const [key, value] of Object.entries(s)) {
    if (typeof value === 'number' && /lag|pending|behind|buffered|committed|rows/.test(key)) parts.push(`${key} ${value}`);
  }
  return parts.join(', ') || 'ok';
}
