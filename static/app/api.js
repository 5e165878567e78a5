// The REST client of the app. The access token lives in this module's
// memory only; the refresh token is an HttpOnly cookie the script never
// sees (POST /auth/login and /auth/refresh with {"cookie": true}), so a
// reload refreshes through the cookie and an injected script cannot steal
// a long-lived credential.
const API = '/api/v1';
let access = null;
let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || 'request failed (' + status + ')');
    this.status = status;
    this.code = (problem && problem.code) || '';
    this.errors = (problem && problem.errors) || [];
  }
}

export function setSignedOutHandler(fn) { onSignedOut = fn; }
export function signedIn() { return access !== null; }

async function send(method, path, body, opts) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (access && !opts.anonymous) headers.Authorization = 'Bearer ' + access;
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (opts.headers) Object.assign(headers, opts.headers);
  return fetch(API + path, { method, headers, body: payload, credentials: 'same-origin' });
}

async function parse(res, opts) {
  if (res.status === 204 || res.status === 202) return null;
  const type = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    let problem = null;
    if (type.includes('json')) { try { problem = await res.json(); } catch (e) { /* not json */ } }
    throw new ApiError(res.status, problem);
  }
  if (opts.raw) return res;
  if (type.includes('json')) return res.json();
  return res.text();
}

// One refresh at a time: parallel 401s wait on the same promise.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await send('POST', '/auth/refresh', { cookie: true }, { anonymous: true });
        if (!res.ok) { access = null; return null; }
        const body = await res.json();
        access = body.access_token;
        return body.user || null;
      } catch (e) {
        access = null;
        return null;
      } finally {
        setTimeout(() => { refreshing = null; }, 0);
      }
    })();
  }
  return refreshing;
}

// A 401 refreshes once and retries; a failed refresh signs out.
export async function api(method, path, body, opts = {}) {
  let res = await send(method, path, body, opts);
  if (res.status === 401 && !opts.anonymous && access !== null) {
    await refresh();
    if (access === null) { onSignedOut(); throw new ApiError(401, { detail: 'Your session ended: sign in again.' }); }
    res = await send(method, path, body, opts);
  }
  if (res.status === 403 && !opts.anonymous && access !== null) {
    // An admin issued new credentials meanwhile: sign in again, which leads
    // to the forced change of the temporary password.
    const copy = res.clone();
    try {
      if ((await copy.json()).code === 'password_change_required') { access = null; onSignedOut(); }
    } catch (e) { /* not a problem document */ }
  }
  return parse(res, opts);
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

export async function login(email, password) {
  const body = await api('POST', '/auth/login', { email, password, cookie: true }, { anonymous: true });
  access = body.access_token;
  return body.user;
}

export async function logout() {
  try { await api('POST', '/auth/logout', {}, {}); } catch (e) { /* already gone */ }
  access = null;
}

export function forget() { access = null; }

// Downloads a file (CSV) with the bearer token and hands it to the browser.
export async function download(path, filename) {
  const res = await api('GET', path, undefined, { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
