// One modal form dialog for every command that needs input (write, force,
// unforce, acknowledge, shelve, restart, inject). The action runs on submit;
// a refusal keeps the dialog open and shows the server's message.
// data-test: dialog, dialog-title, dialog-field-<name>, dialog-submit,
// dialog-cancel, dialog-error.
import { h } from './dom.js';

/**
 * fields: [{name, label, type: text|number|bool|select|textarea, value, required, min, max, step,
 *           options: [[value, label]...], help}]
 * action(values) -> Promise; resolves the returned promise with its result, or null when cancelled.
 */
export function formDialog({ title, text = '', fields = [], submit = 'OK', action }) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'error', 'data-test': 'dialog-error', role: 'alert', hidden: true });
    const inputs = {};
    const rows = fields.map((f) => {
      let input;
      const common = { name: f.name, 'data-test': `dialog-field-${f.name}`, required: f.required || false };
      if (f.type === 'select' || f.type === 'bool') {
        const options = f.type === 'bool' ? [['true', 'true'], ['false', 'false']] : f.options;
        input = h('select', common, options.map(([v, label]) =>
          h('option', { value: v, selected: String(f.value) === String(v) }, label)));
      } else if (f.type === 'textarea') {
        input = h('textarea', { ...common, rows: 3 }, f.value ?? '');
      } else {
        input = h('input', { ...common, type: f.type === 'number' ? 'number' : 'text', value: f.value ?? '',
          min: f.min, max: f.max, step: f.step ?? (f.type === 'number' ? 'any' : undefined), autocomplete: 'off' });
      }
      inputs[f.name] = { input, field: f };
      return h('label', {}, h('span', {}, f.label), input, f.help ? h('small', { class: 'muted' }, f.help) : null);
    });
    const submitButton = h('button', { type: 'submit', class: 'btn primary', 'data-test': 'dialog-submit' }, submit);
    const dialog = h('dialog', { class: 'dialog', 'data-test': 'dialog' },
      h('form', { method: 'dialog' },
        h('h2', { 'data-test': 'dialog-title' }, title),
        text ? h('p', {}, text) : null,
        rows, error,
        h('div', { class: 'buttons' },
          h('button', { type: 'button', class: 'btn', 'data-test': 'dialog-cancel', onclick: () => close(null) },
            'Cancel'),
          submitButton)));
    const close = (result) => { dialog.close(); dialog.remove(); resolve(result); };
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(null); });
    dialog.querySelector('form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, { input, field }] of Object.entries(inputs)) {
        let value = input.value;
        if (field.type === 'number') value = value === '' ? null : Number(value);
        if (field.type === 'bool') value = value === 'true';
        values[name] = value;
      }
      submitButton.disabled = true;
      error.hidden = true;
      try {
        close(await action(values) ?? true);
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        submitButton.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector('input, select, textarea');
    (first || submitButton).focus();
  });
}
