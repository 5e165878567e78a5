// An admin's screens, each checked with axe and at 360 px: people (add
// with mailed credentials, search, role filter, edit role, resend,
// disable), organisation settings (a bad zone is refused next to its field,
// then Save), holidays, leave types, kiosks (the pairing link shown once),
// the audit log.
import { launch, newPage, BASE, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

async function go(page, name) {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
}

async function screen(page, name) {
  await axe(page, name);
  await noHScroll(page, name);
  await screenshot(page, name);
}

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  await signIn(page, P.admin, P.password);

  await go(page, 'People');
  const rows = page.getByRole('region', { name: 'People' }).locator('tbody tr');
  await rows.first().waitFor();
  await screen(page, 'people');
  const add = page.locator('form', { has: page.getByRole('button', { name: 'Add person' }) });
  await add.getByLabel('Email').fill(P.new_email);
  await add.getByLabel('Name').fill(P.new_name);
  await add.getByLabel('Role').selectOption('employee');
  await add.getByLabel('Manager').selectOption({ label: 'Max Manager' });
  await add.getByRole('button', { name: 'Add person' }).click();
  await page.getByText('The credentials were mailed to ' + P.new_email).waitFor();
  await page.locator('tr[data-email="' + P.new_email + '"]').waitFor();

  // Search and the role filter.
  const find = page.getByRole('search', { name: 'Find people' });
  await find.getByLabel('Search').fill('Emma');
  await find.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="People"] tbody tr').length === 1);
  check(await rows.first().getAttribute('data-email') === 'emma@acme.test', 'search finds Emma');
  await find.getByLabel('Search').fill('');
  await find.getByLabel('Role').selectOption('manager');
  await find.getByRole('button', { name: 'Search' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('[aria-label="People"] tbody tr')].every((r) => r.dataset.email === 'boss@acme.test'));

  // Edit Emma's role, resend her credentials; disable the leaver.
  await find.getByLabel('Role').selectOption('');
  await find.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Manage Emma Employee' }).click();
  const person = page.locator('section', { has: page.getByRole('heading', { name: /Emma Employee/ }) });
  await person.getByLabel('Role').selectOption('intern');
  await person.getByRole('button', { name: 'Save' }).click();
  await page.locator('tr[data-email="emma@acme.test"] td:nth-of-type(2)', { hasText: 'intern' }).waitFor();
  await person.getByRole('button', { name: 'Resend credentials' }).click();
  await page.getByText('New credentials were mailed to emma@acme.test.').waitFor();
  await page.getByRole('button', { name: 'Manage Lee Leaver' }).click();
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.locator('tr[data-email="leaver@acme.test"] td:nth-of-type(3)', { hasText: 'disabled' }).waitFor();

  await go(page, 'Organisation');
  await page.getByLabel('Time zone').waitFor();
  await screen(page, 'organisation');
  await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
  await page.getByLabel('Late after (minutes)').fill('15');
  await page.getByRole('button', { name: 'Save' }).click();
  const tzErr = page.locator('.field:has(#' + await page.getByLabel('Time zone').getAttribute('id') + ') .field-error');
  await tzErr.waitFor();
  check(await page.getByLabel('Late after (minutes)').inputValue() === '15', 'the form kept its values');
  await page.getByLabel('Time zone').fill('Europe/Paris');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();

  await go(page, 'Holidays');
  await page.getByLabel('Date').fill(P.holiday);
  await page.getByLabel('Name').fill('Founders day');
  await page.getByRole('button', { name: 'Add holiday' }).click();
  await page.getByRole('button', { name: 'Delete holiday Founders day' }).waitFor();
  await screen(page, 'holidays');

  await go(page, 'Leave types');
  await page.getByLabel('Name').fill('Sick');
  await page.getByLabel('Days per year').fill('10');
  await page.getByRole('button', { name: 'Add leave type' }).click();
  await page.getByRole('rowheader', { name: 'Sick' }).waitFor();
  await screen(page, 'leave-types');

  await go(page, 'Kiosks');
  await page.getByLabel('Name').fill('Front door');
  await page.getByRole('button', { name: 'Create kiosk' }).click();
  const link = await page.getByTestId('pair-link').textContent();
  check(link.startsWith(BASE + '/kiosk#token=rck_'), 'pairing link: ' + link);
  await page.getByRole('rowheader', { name: 'Front door' }).waitFor();
  await screen(page, 'kiosks');
  await page.reload();
  await page.getByRole('rowheader', { name: 'Front door' }).waitFor();
  check(await page.getByTestId('pair-link').count() === 0, 'the token is shown once');

  await go(page, 'Audit log');
  await page.getByRole('region', { name: 'Audit log' }).locator('tbody tr').first().waitFor();
  const actions = await page.getByRole('region', { name: 'Audit log' }).locator('tbody tr td:nth-child(2)').allTextContents();
  await screen(page, 'audit');
  await done(browser, { link, actions });
});
