// Write, force and unforce a signal, each with its dialog; the answer (the
// signal after the command) goes to `done`. A refusal stays in the dialog
// with the server's message (403 role or writable_by, 409 computed by
// logic, 422 not coercible...).
import { api, enc } from './api.js';
import { formDialog } from './dialog.js';
import { formatValue } from './format.js';
import { toast } from './dom.js';

function valueField(signal, label = 'Value') {
  if (signal.type === 'bool') return { name: 'value', label, type: 'bool', value: !signal.value };
  if (signal.type === 'int' || signal.type === 'float') {
    const unit = signal.unit ? ` ${signal.unit}` : '';
    const limits = signal.min !== undefined && signal.max !== undefined ? `From ${signal.min} to ${signal.max}${unit}.`
      : signal.min !== undefined ? `At least ${signal.min}${unit}.` : signal.max !== undefined ? `At most ${signal.max}${unit}.` : '';
    return { name: 'value', label: signal.unit ? `${label} (${signal.unit})` : label, type: 'number', required: true,
      value: signal.value ?? '', step: signal.type === 'int' ? 1 : 'any', min: signal.min, max: signal.max,
      help: limits || undefined };
  }
  return { name: 'value', label, type: 'text', value: signal.value ?? '' };
}

const now = (signal) => `Now ${formatValue(signal.value, signal.unit, signal.type)} (${signal.quality})`;

export function writeDialog(signal, done = () => {}) {
  return formDialog({
    title: `Write ${signal.name}`, text: now(signal), submit: 'Write', fields: [valueField(signal)],
    action: async ({ value }) => {
      const after = await api.put(`/v1/signals/${enc(signal.name)}`, { value });
      toast(`${signal.name} = ${formatValue(after.value, after.unit, after.type)}`);
      done(after);
      return after;
    },
  });
}

export function forceDialog(signal, done = () => {}) {
  return formDialog({
    title: `Force ${signal.name}`, submit: 'Force',
    text: `${now(signal)}. A force holds the signal whatever its writer computes, until someone releases it.`,
    fields: [valueField(signal, 'Hold at'), { name: 'reason', label: 'Reason (audited)', type: 'text', required: true }],
    action: async ({ value, reason }) => {
      const after = await api.post(`/v1/signals/${enc(signal.name)}/force`, { value, reason });
      toast(`${signal.name} forced to ${formatValue(after.value, after.unit, after.type)}`);
      done(after);
      return after;
    },
  });
}

export function unforceDialog(signal, done = () => {}) {
  return formDialog({
    title: `Release ${signal.name}`, submit: 'Release',
    text: `Forced${signal.force_reason ? `: ${signal.force_reason}` : ''}. Its writer takes over again.`,
    fields: [{ name: 'reason', label: 'Reason (audited, optional)', type: 'text' }],
    action: async ({ reason }) => {
      const after = await api.del(`/v1/signals/${enc(signal.name)}/force`, reason ? { reason } : {});
      toast(`${signal.name} released`);
      done(after);
      return after;
    },
  });
}

/**
 * Whether the page offers Write: GET /v1/signals says per caller (`writable`: the caller's role,
 * the signal's writable_by, nothing in the plant writing it), the rule PUT enforces. An answer
 * without it (an older PETRA) falls back to: operators and above, for a signal no block
 * (`logic/<chain>`) or alarm runtime writes; the API's refusal is shown either way.
 */
export function offersWrite(ctx, signal) {
  if (signal.writable !== undefined) return Boolean(signal.writable);
  const owner = String(signal.owner || '');
  return ctx.may('operator') && !owner.startsWith('logic/') && owner !== 'alarms';
}

/** Whether the page offers Force/Release: engineers and above. */
export const offersForce = (ctx) => ctx.may('engineer');
