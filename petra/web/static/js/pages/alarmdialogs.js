// Alarm commands with their input: acknowledge (comment), shelve (duration,
// reason), unshelve, reset. Each POSTs /v1/alarms/{id}/{command}; the alarm
// list is updated by the stream's `alarms` event and by the answer.
import { api, enc } from '../api.js';
import { formDialog } from '../dialog.js';
import { toast } from '../dom.js';
import { stateLabel } from '../alarmstore.js';

async function command(ctx, alarm, name, body) {
  const view = await api.post(`/v1/alarms/${enc(alarm.id)}/${name}`, body);
  if (view && view.id) ctx.alarms.apply(view);
  toast(`${alarm.name}: ${name} done`);
  return view;
}

export function ackDialog(ctx, alarm) {
  return formDialog({
    title: `Acknowledge ${alarm.name}`, submit: 'Acknowledge',
    text: `${alarm.severity}, ${stateLabel(alarm.state)}; value ${alarm.value ?? '—'}`,
    fields: [{ name: 'comment', label: 'Comment (optional)', type: 'text' }],
    action: ({ comment }) => command(ctx, alarm, 'ack', comment ? { comment } : {}),
  });
}

export function shelveDialog(ctx, alarm) {
  return formDialog({
    title: `Shelve ${alarm.name}`, submit: 'Shelve',
    text: 'A shelved alarm is not annunciated until the time runs out or someone unshelves it.',
    fields: [
      { name: 'minutes', label: 'For (minutes; empty: until it next clears)', type: 'number', value: 60, min: 1,
        max: 10080 },
      { name: 'reason', label: 'Reason', type: 'text', required: true },
    ],
    action: ({ minutes, reason }) => command(ctx, alarm, 'shelve', minutes ? { for_s: minutes * 60, reason } : { reason }),
  });
}

export function simpleCommand(ctx, alarm, name) {
  return command(ctx, alarm, name, {}).catch((error) => toast(error.message, { error: true }));
}
