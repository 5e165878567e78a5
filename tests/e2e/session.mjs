// The session: a 401 (the access token expired: the daemon runs with
// auth.access_ttl = 30 s) refreshes once through the cookie and retries, so
// the click still works;
// when the refresh fails too (the password changed elsewhere: every session
// revoked) the app returns to sign-in.
import { launch, newPage, BASE, P, check, signIn, done, run } from './lib.mjs';

async function call(method, path, body, tokenValue) {
  const res = await fetch(BASE + '/api/v1' + path, {
    method, headers: { 'Content-Type': 'application/json', ...(tokenValue ? { Authorization: 'Bearer ' + tokenValue } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  check(res.ok, method + ' ' + path + ': ' + res.status + ' ' + text);
  return text ? JSON.parse(text) : null;
}

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  await signIn(page, P.email, P.password);
  await page.getByRole('button', { name: 'Check in' }).waitFor();
  const statuses = [];
  page.on('response', (r) => { if (r.url().includes('/api/v1/')) statuses.push(r.status() + ' ' + new URL(r.url()).pathname); });

  await new Promise((r) => setTimeout(r, (P.ttl + 5 + 2) * 1000)); // the daemon allows 5 s of leeway
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByRole('button', { name: 'Check out' }).waitFor();
  const retried = statuses.slice();
  check(retried.includes('401 /api/v1/attendance/check-in') && retried.includes('200 /api/v1/auth/refresh') &&
    retried.includes('201 /api/v1/attendance/check-in'), 'refresh and retry: ' + retried.join(', '));

  // Another device changes the password: every session ends.
  const mine = (await call('POST', '/auth/login', { email: P.email, password: P.password })).access_token;
  await call('POST', '/auth/password/change', { current_password: P.password, new_password: P.new_password }, mine);
  await new Promise((r) => setTimeout(r, 1500));
  await page.getByRole('button', { name: 'Check out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await done(browser, { retried, after: statuses.slice(retried.length) });
});
