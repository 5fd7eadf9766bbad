// The drivers and storage of GET /v1/status's `subsystems` (actor path ->
// what the actor reports), as two card bodies for the overview.
// data-test: drivers-connected, storage-status (data-actor=<wal, history:parquet, ...>).
import { h } from '../dom.js';
import { formatTime } from '../format.js';

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
    abnormal: storage.some(([, s]) => troubled(s)),
    body: storage.length ? h('dl', { class: 'kv' }, storage.flatMap(([path, s]) => [
      h('dt', {}, short(path)),
      h('dd', { class: troubled(s) ? 'error' : '', 'data-test': 'storage-status', 'data-actor': short(path) }, describe(s))]))
      : h('p', { class: 'muted' }, 'No storage configured (trends come from the in-memory ring).'),
  };
  return { driverCard, storageCard };
}

/** A storage actor that cannot do its job: not answering, failing, or a full WAL. */
const troubled = (s) => Boolean(s.error || s.failing_since || s.full);

/**
 * One line per storage actor: the WAL's lag per consumer (records not yet taken) and whether it is
 * full; a tier's failure with its last error; else its position.
 */
function describe(s) {
  if (s.error) return s.error;
  if (s.consumers) {
    const lags = Object.entries(s.consumers).map(([name, c]) => `${name} lag ${c.lag}`);
    return [s.full ? `FULL since ${formatTime(s.full_since)}` : '', ...lags].filter(Boolean).join(', ') || 'ok';
  }
  if (s.failing_since) return `failing since ${formatTime(s.failing_since)}${s.last_error ? `: ${s.last_error}` : ''}`;
  const parts = [];
  for (const [key, value] of Object.entries(s)) {
    if (typeof value === 'number' && /lag|pending|cursor|committed/.test(key)) parts.push(`${key.replace('_', ' ')} ${value}`);
  }
  return parts.join(', ') || 'ok';
}
