// An employee checks in and out: the home and the calendar update; a
// second tab sees the same state after a reload.
import { launch, newPage, BASE, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  await signIn(page, P.email, P.password);
  const button = page.getByRole('button', { name: 'Check in' });
  await button.waitFor();
  await page.locator('.calendar .day').first().waitFor();
  await axe(page, 'home');
  await noHScroll(page, 'home');
  const tz = await page.locator('.today .muted').textContent();
  check(tz.includes('Times in ' + P.timezone), 'the zone is labelled: ' + tz);
  const cell = page.locator('.calendar .day[data-date="' + P.today + '"]');
  const before = await cell.getAttribute('class');

  await button.click();
  await page.getByRole('button', { name: 'Check out' }).waitFor();
  const state = await page.locator('.today .state').textContent();
  check(/^In since \d\d:\d\d$/.test(state), 'state after check-in: ' + state);
  // The browser runs in New York; the org is in Paris: the hour is Paris's.
  check(P.hours.includes(state.slice(9, 11)), 'in time shown in the org zone: ' + state + ' vs ' + P.hours);
  await page.waitForFunction((sel) => /st-(present|late)/.test(document.querySelector(sel).className),
    '.calendar .day[data-date="' + P.today + '"]');
  const after = await cell.getAttribute('class');
  await screenshot(page, 'home');
  await page.setViewportSize({ width: 360, height: 740 });
  await screenshot(page, 'home-phone');
  await page.setViewportSize({ width: 1200, height: 900 });

  // Another tab of the same session (reload) sees the same state.
  const tab2 = await page.context().newPage();
  await tab2.goto(BASE + '/');
  await tab2.getByRole('button', { name: 'Check out' }).waitFor();
  check((await tab2.locator('.today .state').textContent()) === state, 'the second tab agrees');

  await page.getByRole('button', { name: 'Check out' }).click();
  await page.getByRole('button', { name: 'Check in' }).waitFor();
  const out = await page.locator('.today .state').textContent();
  check(/^Out since \d\d:\d\d$/.test(out), 'state after check-out: ' + out);
  const punches = await page.getByRole('list', { name: "Today's punches" }).locator('li').count();
  check(punches === 2, 'two punches listed: ' + punches);

  await tab2.reload();
  await tab2.getByRole('button', { name: 'Check in' }).waitFor();
  check((await tab2.locator('.today .state').textContent()) === out, 'the second tab sees the check-out');
  await done(browser, { before, after, state, out });
});
