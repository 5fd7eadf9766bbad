// The API client: every request of the page goes through `request`.
// - same-origin credentials (the petra_session cookie), JSON in and out;
// - X-CSRF-Token (the session's csrf) on every request but GET/HEAD;
// - a 401 (the session expired or PETRA restarted) calls the handler set with
//   onUnauthorized (the app shows its login form and returns to the page);
// - a refusal throws ApiError with the server's own message ({"error": ...}).

export class ApiError extends Error {
  /** status 0 means PETRA could not be reached. */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let csrf = null;
let unauthorized = () => {};

/** The csrf of the current session (from POST /v1/login or GET /v1/session). */
export function setCsrf(token) { csrf = token || null; }

/** Called (once per request) when the API answers 401 to anything but the login. */
export function onUnauthorized(handler) { unauthorized = handler; }

/** One call to the API; resolves with the parsed JSON, throws ApiError. */
export async function request(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, `PETRA cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.trim().slice(0, 300) }; }
  }
  if (response.status === 401 && path !== '/v1/login') unauthorized();
  if (!response.ok) {
    let message = (data && data.error) || `${response.status} ${response.statusText}`;
    const retry = response.headers.get('Retry-After');
    if (response.status === 429 && retry) message += ` (try again in ${retry} s)`;
    throw new ApiError(response.status, message, data);
  }
  return data;
}

export const api = {
  get: (path, options) => request('GET', path, undefined, options),
  put: (path, body) => request('PUT', path, body),
  post: (path, body) => request('POST', path, body === undefined ? {} : body),
  del: (path, body) => request('DELETE', path, body),
};

/** A path segment or query value, escaped. */
export const enc = encodeURIComponent;
