// The hash router: #/<page>[/<arg>][?query]. The hash keeps the page (and its
// state, e.g. the trend's signals) across a reload and a login.

/** The current route: {page, arg, query (URLSearchParams)}. */
export function currentRoute(fallback = 'overview') {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?');
  const [page, ...rest] = path.split('/');
  return { page: page || fallback, arg: rest.map(decodeURIComponent).join('/'), query: new URLSearchParams(search) };
}

/** The hash of a route. */
export function href(page, arg = '', query = null) {
  let hash = `#/${page}`;
  if (arg) hash += `/${encodeURIComponent(arg)}`;
  const search = query ? new URLSearchParams(query).toString() : '';
  return search ? `${hash}?${search}` : hash;
}

/** Change the query of the current route without a new history entry or a re-render. */
export function replaceQuery(query) {
  const { page, arg } = currentRoute();
  history.replaceState(null, '', href(page, arg, query));
}

/** Call `handler(route)` now and on every hash change. */
export function startRouter(handler) {
  window.addEventListener('hashchange', () => handler(currentRoute()));
  handler(currentRoute());
}
