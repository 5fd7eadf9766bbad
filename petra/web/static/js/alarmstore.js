// The tab's alarm list: GET /v1/alarms once, then every `alarms` event of the
// stream (each carries one alarm's whole view). Pages and the banner read it
// and are told of changes; nobody else fetches the list.
import { api, ApiError } from './api.js';

/** ISA-18.2 priorities, highest first; the colours are app.css's --prio-*. */
export const SEVERITIES = ['emergency', 'critical', 'warning', 'info'];
const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

/** Highest priority first, then the newest first. */
export function byPriority(a, b) {
  return (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9) || (b.raised_at || 0) - (a.raised_at || 0)
    || a.id.localeCompare(b.id);
}

export class AlarmStore {
  constructor(hub) {
    this.hub = hub;
    this.alarms = new Map();
    this.flood = false;
    this.available = null; // false: the plant has no alarms section
    this.listeners = new Set();
    this.events = 0; // alarm views applied so far (events and command answers)
    this.eventAt = new Map(); // id -> the count when its view was applied last
    this.listener = { alarms: true, onAlarm: (view) => this.apply(view) };
  }

  async load() {
    if (!this.unsubscribe) this.unsubscribe = this.hub.subscribe(this.listener);
    const before = this.events;
    try {
      const body = await api.get('/v1/alarms');
      // an alarm whose event arrived while the list was on its way keeps the event's (newer) view
      const newer = new Map([...this.alarms].filter(([id]) => (this.eventAt.get(id) ?? -1) > before));
      this.alarms = new Map(body.alarms.map((a) => [a.id, newer.get(a.id) || a]));
      this.flood = Boolean(body.flood);
      this.available = true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.available = false;
      else throw error;
    }
    this.notify();
  }

  apply(view) {
    if (!view || !view.id) return;
    this.events += 1;
    this.eventAt.set(view.id, this.events);
    this.alarms.set(view.id, view);
    this.available = true;
    this.notify();
  }

  notify() { for (const fn of this.listeners) fn(this); }

  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  /** Every alarm, sorted by priority then time. */
  sorted() { return [...this.alarms.values()].sort(byPriority); }

  /** The alarms an operator must look at: active, unacknowledged, latched, shelved or out of service. */
  standing() {
    return this.sorted().filter((a) => a.active || a.acked === false && a.state !== 'normal' || a.state === 'shelved'
      || a.out_of_service || a.latched);
  }

  /** The newest active alarm not yet acknowledged (the banner). */
  newestUnacked() {
    let newest = null;
    for (const a of this.alarms.values()) {
      if (a.acked !== false || a.state === 'normal' || a.state === 'shelved' || a.out_of_service) continue;
      if (!newest || (a.raised_at || 0) > (newest.raised_at || 0)) newest = a;
    }
    return newest;
  }
}

const STATE_WORDS = {
  normal: 'normal', active_unacked: 'active, unacknowledged', active_acked: 'active, acknowledged',
  rtn_unacked: 'returned to normal, unacknowledged', latched: 'latched', shelved: 'shelved',
  suppressed: 'suppressed by design', out_of_service: 'out of service',
};

/** An ISA-18.2 state as words. */
export function stateLabel(state) {
  return STATE_WORDS[state] || String(state || '').replaceAll('_', ' ');
}
