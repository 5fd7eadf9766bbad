// The login form (index.html's #login, a modal dialog): POST /v1/login, then
// the app goes on where it was. data-test: login-form, login-user, login-password,
// login-submit, login-error, login-why, login-help.
import { api } from './api.js';

let pending = null;

/**
 * Show the form; resolves with the session (user, role, csrf) once a login
 * succeeds. `why` is shown above the fields (e.g. "Your session ended").
 * Called again while shown, it returns the same promise.
 */
export function showLogin(why = '') {
  const section = document.getElementById('login');
  const form = section.querySelector('form');
  const error = form.querySelector('[data-test="login-error"]');
  form.querySelector('[data-test="login-why"]').textContent = why;
  if (!section.open) section.showModal(); // above a dialog the expired session interrupted (it stays, to retry)
  document.body.classList.add('logged-out');
  if (pending) return pending;
  if (!section.dataset.wired) { // Escape does not dismiss the login
    section.addEventListener('cancel', (event) => event.preventDefault());
    section.dataset.wired = 'true';
  }
  error.hidden = true;
  form.password.value = '';
  (form.user.value ? form.password : form.user).focus();
  pending = new Promise((resolve) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      const submit = form.querySelector('[data-test="login-submit"]');
      submit.disabled = true;
      error.hidden = true;
      try {
        const session = await api.post('/v1/login', { user: form.user.value, password: form.password.value });
        form.password.value = '';
        section.close();
        document.body.classList.remove('logged-out');
        form.onsubmit = null;
        pending = null;
        resolve(session);
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
        form.password.select();
      } finally {
        submit.disabled = false;
      }
    };
  });
  return pending;
}
