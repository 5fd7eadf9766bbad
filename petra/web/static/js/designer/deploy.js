// Deploy: first the plan the running PETRA would apply (POST /v1/designer/plan:
// which actors keep running untouched, restart, stop, start; which signals are
// added or removed), then, with the engineer's comment, the deploy itself (POST
// /v1/designer/deploy, a reload). With security.require_signed_config the server
// answers 409 needs_signature: the dialog offers the exact YAML for `petra sign`
// offline and takes the .sig file; the page never sees a key. A refusal is shown
// in the dialog; the running plant is untouched.
//
// data-test: deploy-dialog, plan-<keep|restart|stop|start|signals_added|signals_removed> (a list, data-count),
// deploy-comment, deploy-apply, deploy-cancel, deploy-error, deploy-signing, deploy-sha256,
// deploy-download, deploy-signature (the file input).
import { h, fill } from '../dom.js';

const PLAN = [
  ['keep', 'Keep running (untouched)'],
  ['restart', 'Restart'],
  ['stop', 'Stop'],
  ['start', 'Start'],
  ['signals_added', 'Signals added'],
  ['signals_removed', 'Signals removed'],
];

/** Offer `text` as a download named `name`. */
export function download(name, text, type = 'text/yaml') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function planList(key, title, items) {
  const list = items || [];
  return h('section', { class: `plan plan-${key}` },
    h('h3', {}, `${title} (${list.length})`),
    h('ul', { 'data-test': `plan-${key}`, 'data-count': String(list.length) },
      list.length ? list.map((x) => h('li', {}, typeof x === 'string' ? x : JSON.stringify(x))) : h('li', { class: 'muted' }, 'none')));
}

/**
 * Show the plan for `yaml` and deploy it on confirmation. Resolves with the server's answer to the deploy,
 * or null when cancelled.
 */
export function deployDialog(api, { yaml, layout, file }) {
  return new Promise((resolve) => {
    const body = h('div', { class: 'deploy-body' }, h('p', { class: 'muted' }, 'Asking the running PETRA for its plan…'));
    const error = h('p', { class: 'error', 'data-test': 'deploy-error', role: 'alert', hidden: true });
    const comment = h('textarea', { 'data-test': 'deploy-comment', rows: 2, required: true,
      placeholder: 'What changes and why (kept in the audit log)' });
    const signing = h('div', { class: 'deploy-signing', 'data-test': 'deploy-signing', hidden: true });
    const apply = h('button', { type: 'submit', class: 'btn primary', 'data-test': 'deploy-apply', disabled: true }, 'Deploy');
    const cancel = h('button', { type: 'button', class: 'btn', 'data-test': 'deploy-cancel' }, 'Cancel');
    const form = h('form', { method: 'dialog' },
      h('h2', {}, 'Deploy to the running PETRA'),
      body,
      h('label', {}, h('span', {}, 'Comment'), comment),
      signing, error,
      h('div', { class: 'buttons' }, cancel, apply));
    const dialog = h('dialog', { class: 'dialog deploy-dialog', 'data-test': 'deploy-dialog' }, form);
    let signature = null;
    const close = (result) => { dialog.close(); dialog.remove(); resolve(result); };
    cancel.addEventListener('click', () => close(null));
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(null); });
    const fail = (message) => { error.textContent = message; error.hidden = false; };

    const askSignature = (answer) => {
      signing.hidden = false;
      const input = h('input', { type: 'file', 'data-test': 'deploy-signature', accept: '.sig,text/plain' });
      const sigName = `${(file || 'plant.yaml').split('/').pop()}`;
      input.addEventListener('change', async () => {
        const chosen = input.files?.[0];
        signature = chosen ? await chosen.text() : null;
        apply.disabled = !signature;
      });
      fill(signing,
        h('p', {}, 'This PETRA requires signed configurations. Sign exactly this YAML offline, then upload its ',
          h('code', {}, '.sig'), ' file (the key stays on your machine):'),
        h('p', {}, 'SHA-256 ', h('code', { 'data-test': 'deploy-sha256' }, answer.sha256 || '')),
        h('p', {}, h('button', { type: 'button', class: 'btn small', 'data-test': 'deploy-download',
          onclick: () => download(sigName, yaml) }, `Download ${sigName}`), ' then ',
        h('code', {}, `petra sign --key KEYFILE ${sigName}`)),
        h('label', {}, h('span', {}, `Signature (${sigName}.sig)`), input));
      apply.disabled = true;
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!comment.value.trim()) { fail('A comment is needed: it goes into the audit log.'); comment.focus(); return; }
      apply.disabled = true;
      error.hidden = true;
      try {
        const answer = await api.post('/v1/designer/deploy', { yaml, layout, comment: comment.value.trim(),
          ...(signature ? { signature } : {}) });
        close(answer);
      } catch (failure) {
        if (failure.body?.needs_signature) {
          askSignature(failure.body);
          fail(failure.message);
          return;
        }
        fail(failure.message);
        apply.disabled = false;
      }
    });

    document.body.append(dialog);
    dialog.showModal();
    api.post('/v1/designer/plan', { yaml }).then((plan) => {
      fill(body, h('div', { class: 'plan-grid', 'data-test': 'deploy-plan' }, PLAN.map(([key, title]) => planList(key, title, plan[key]))));
      apply.disabled = false;
      comment.focus();
    }).catch((failure) => {
      const located = (failure.body?.errors || []).map((e) => h('li', {}, e.location ? `${e.location}: ${e.message}` : e.message));
      fill(body, h('p', { class: 'error' }, 'The running PETRA would refuse this configuration:'),
        located.length ? h('ul', {}, located) : null);
      fail(failure.message);
    });
  });
}
