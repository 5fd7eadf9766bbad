// How values, ages and times are written everywhere on the page.

/** A value with its unit: 61.23 °C, true, "text". */
export function formatValue(value, unit = '', type = '') {
  if (value === null || value === undefined) return '—';
  let text;
  if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') {
    if (type === 'int' || Number.isInteger(value) && type !== 'float') text = String(value);
    else text = Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)
      ? value.toExponential(3) : value.toFixed(Math.abs(value) >= 100 ? 1 : 2);
  } else text = String(value);
  return unit ? `${text} ${unit}` : text;
}

/** Seconds since an epoch-seconds timestamp, short: 0.4 s, 12 s, 3 min, 2 h, 5 d. */
export function formatAge(timestamp, now = Date.now() / 1000) {
  if (!timestamp) return '—';
  const s = Math.max(0, now - timestamp);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Local wall-clock time of an epoch-seconds timestamp. */
export function formatTime(timestamp) {
  if (!timestamp) return '—';
  const d = new Date(timestamp * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

/** A duration in seconds: 90 -> 1 min 30 s. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Milliseconds with two decimals and the unit. */
export const ms = (value) => (typeof value === 'number' ? `${value.toFixed(2)} ms` : '—');

/** A shell-style pattern (* and ?) as a RegExp over the whole string (case-insensitive unless told). */
export function globRegExp(pattern, { ignoreCase = true } = {}) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

/** A filter text as a test: a glob when it has * or ?, else a substring; case-insensitive. */
export function matcher(text) {
  const t = text.trim().toLowerCase();
  if (!t) return () => true;
  if (/[*?]/.test(t)) {
    const re = globRegExp(t);
    return (s) => re.test(s.name);
  }
  return (s) => s.name.toLowerCase().includes(t) || (s.description || '').toLowerCase().includes(t);
}
