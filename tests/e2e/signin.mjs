// Sign-in: a wrong password shows the server's message next to the field;
// a temporary password leads to the forced change, then home; a reload
// keeps the session (refresh cookie); Sign out returns to sign-in.
import { launch, newPage, countScripts, BASE, P, check, axe, noHScroll, screenshot, done, run } from './lib.mjs';

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  countScripts(page);
  await page.goto(BASE + '/');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await axe(page, 'sign-in');
  await noHScroll(page, 'sign-in');
  await screenshot(page, 'sign-in');

  await page.getByLabel('Email', { exact: true }).fill(P.email);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const err = page.locator('.field-error');
  await err.waitFor();
  check((await err.textContent()).includes(P.wrong_message), 'wrong password message: ' + await err.textContent());
  check(await page.getByLabel('Email', { exact: true }).inputValue() === P.email, 'the email was kept');
  check(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid') === 'true', 'password marked invalid');

  await page.getByLabel('Password', { exact: true }).fill(P.temp);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('New password', { exact: true }).waitFor();
  await axe(page, 'password change');
  await noHScroll(page, 'password change');
  await page.getByLabel('New password', { exact: true }).fill(P.new_password);
  await page.getByLabel('Repeat the new password').fill(P.new_password);
  await page.getByRole('button', { name: 'Save' }).click();

  await page.getByRole('navigation').waitFor();
  await page.getByRole('button', { name: 'Check in' }).waitFor();
  const state = await page.locator('.today .state').textContent();
  check(state === 'Not in yet', 'home state: ' + state);

  // The access token is in memory only: a reload refreshes via the cookie.
  const cookies = await page.context().cookies();
  const rc = cookies.find((c) => c.name === 'rollcall_refresh');
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
  await page.reload();
  await page.getByRole('button', { name: 'Check in' }).waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await done(browser, { cookie: rc ? { httpOnly: rc.httpOnly, sameSite: rc.sameSite, path: rc.path } : null, stored });
});
