// The one /v1/stream of this tab, shared by every page and widget.
//
// subscribe({signals: [...] | '*', alarms, status, onChanges, onAlarm, onStatus})
// registers a listener; the hub PUTs the union of all listeners'
// subscriptions to /v1/stream/{id} (once per task, not per listener), so a
// page changes what it watches without a reconnect.
//
// Signal changes are collected and handed out once per animation frame
// (a hidden tab, `document.visibilityState`, has no frames: once a second). A stream that
// ends, fails or is silent for 12 s (the server sends a keep-alive every 5 s)
// is reopened with exponential back-off (0.5 s doubling to 15 s, with jitter)
// and the subscription PUT again; meanwhile the state is "stale" and the
// header shows it. A 401 asks for a login first (api.js's handler).
//
// The state is the `data-state` of [data-test="stream-state"]: connecting,
// live or stale.
import { api, ApiError, enc } from './api.js';

const SILENCE_MS = 12000;
const HIDDEN_FLUSH_MS = 1000;
const MAX_PENDING = 50000;

export class StreamHub {
  constructor() {
    this.listeners = new Set();
    this.id = null;
    this.state = 'connecting';
    this.stateListeners = new Set();
    this.pending = [];
    this.dropped = 0;  // changes this tab never applied: the server's count for each stream, plus its own
    this.droppedBefore = 0;  // of the streams before this one (the server counts per stream)
    this.droppedHere = 0;
    this.flushScheduled = false;
    this.putScheduled = false;
    this.putting = false;
    this.putAgain = false;
    this.attempt = 0;
    this.controller = null;
    this.lastEvent = 0;
    this.retryTimer = 0;
    this.stopped = true;
    this.watchdog = setInterval(() => this.checkSilence(), 2000);
    document.addEventListener('visibilitychange', () => this.scheduleFlush());
  }

  /** Open the stream (again); safe to call when open. */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Close it (logout, or a 401 until the next login). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.controller = null;
    this.id = null;
    this.setState('stale');
  }

  /** Register a listener; returns the function that removes it. */
  subscribe(listener) {
    this.listeners.add(listener);
    this.schedulePut();
    return () => { this.listeners.delete(listener); this.schedulePut(); };
  }

  /** Change a listener's signals (a page's visible rows, a trend's picks). */
  update(listener, changes) {
    Object.assign(listener, changes);
    this.schedulePut();
  }

  onState(fn) { this.stateListeners.add(fn); fn(this.state); return () => this.stateListeners.delete(fn); }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  subscription() {
    let all = false;
    const names = new Set();
    let alarms = false;
    let status = false;
    for (const l of this.listeners) {
      if (l.signals === '*') all = true;
      else for (const name of l.signals || []) names.add(name);
      alarms ||= Boolean(l.alarms);
      status ||= Boolean(l.status);
    }
    return { signals: all ? '*' : [...names].sort(), alarms, status };
  }

  schedulePut() {
    if (this.putScheduled) return;
    this.putScheduled = true;
    queueMicrotask(() => { this.putScheduled = false; this.put(); });
  }

  /** PUT the union subscription; one at a time: changes meanwhile are sent when it returns. */
  async put() {
    const id = this.id;
    if (!id) return;
    if (this.putting) { this.putAgain = true; return; }
    this.putting = true;
    try {
      await api.put(`/v1/stream/${enc(id)}`, this.subscription());
    } catch (error) {
      if (id === this.id) {
        if (error instanceof ApiError && error.status === 404) this.reconnect();
        else if (!(error instanceof ApiError && error.status === 401)) console.warn('stream subscription:', error.message);
      }
    } finally {
      this.putting = false;
    }
    if (this.putAgain) { this.putAgain = false; this.put(); }
  }

  async connect() {
    if (this.stopped) return;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.id = null;
    this.lastEvent = Date.now();
    try {
      const response = await fetch('/v1/stream', {
        credentials: 'same-origin', cache: 'no-store', signal: controller.signal,
        headers: { Accept: 'text/event-stream' },
      });
      if (response.status === 401) {
        await api.get('/v1/session').catch(() => {}); // lets api.js's 401 handler show the login
        throw new Error('401');
      }
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        let message = `HTTP ${response.status}`;
        try { message = JSON.parse(text).error || message; } catch { /* not JSON */ }
        throw new Error(message);
      }
      await this.read(response.body, controller);
      throw new Error('the stream ended');
    } catch (error) {
      if (controller !== this.controller || this.stopped) return;
      this.lastError = error.name === 'TypeError' ? 'PETRA cannot be reached' : error.message;
      this.setState('stale');
      this.retry();
    }
  }

  retry() {
    clearTimeout(this.retryTimer);
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * base / 2;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnect() {
    this.setState('stale');
    this.controller?.abort();
    this.controller = null;
    this.retry();
  }

  checkSilence() {
    if (!this.stopped && this.controller && Date.now() - this.lastEvent > SILENCE_MS) this.reconnect();
  }

  async read(body, controller) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (true) {
      const { value, done } = await reader.read();
      if (done || controller !== this.controller) return;
      this.lastEvent = Date.now();
      buffer += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        this.dispatch(block);
      }
    }
  }

  dispatch(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    let payload;
    try { payload = JSON.parse(data.join('\n')); } catch { return; }
    if (event === 'hello') {
      this.droppedBefore = this.dropped - this.droppedHere;
      this.id = payload.id;
      this.attempt = 0;
      this.setState('live');
      this.put();
    } else if (event === 'changes') {
      for (const change of payload.changes || []) this.pending.push(change);
      if (this.pending.length > MAX_PENDING) {
        this.droppedHere += this.pending.length - MAX_PENDING;
        this.pending.splice(0, this.pending.length - MAX_PENDING);
      }
      // the server's `dropped` is its running total for this stream, not this event's
      this.dropped = this.droppedBefore + (payload.dropped || 0) + this.droppedHere;
      this.scheduleFlush();
    } else if (event === 'alarms') {
      for (const l of this.listeners) if (l.alarms && l.onAlarm) l.onAlarm(payload);
    } else if (event === 'status') {
      for (const l of this.listeners) if (l.status && l.onStatus) l.onStatus(payload);
    }
  }

  scheduleFlush() {
    if (this.flushScheduled || !this.pending.length) return;
    this.flushScheduled = true;
    // the next frame; a hidden tab has none, so at most HIDDEN_FLUSH_MS later whatever happens
    let frame = 0;
    let timer = 0;
    const run = () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      if (!this.flushScheduled) return;
      this.flushScheduled = false;
      this.flush();
    };
    timer = setTimeout(run, HIDDEN_FLUSH_MS);
    if (document.visibilityState !== 'hidden') frame = requestAnimationFrame(run);
  }

  flush() {
    const changes = this.pending;
    this.pending = [];
    if (!changes.length) return;
    for (const l of this.listeners) {
      if (!l.onChanges) continue;
      if (l.signals === '*') { l.onChanges(changes); continue; }
      const wanted = l.wanted && l.wantedFrom === l.signals ? l.wanted : new Set(l.signals || []);
      l.wanted = wanted;
      l.wantedFrom = l.signals;
      const mine = changes.filter((c) => wanted.has(c.name));
      if (mine.length) l.onChanges(mine);
    }
  }
}

/** The latest change per signal name of a batch (for pages that show values, not points). */
export function latest(changes) {
  const map = new Map();
  for (const c of changes) map.set(c.name, c);
  return map;
}
