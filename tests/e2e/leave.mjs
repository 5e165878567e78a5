// Leave: the employee asks; end-before-start and an overlap show the
// server's errors next to the fields (the form keeps what was typed); the
// manager approves in another browser context; the employee sees
// "approved" and the balance change.
import { launch, newPage, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

async function left(page, type) {
  return Number(await page.locator('tr[data-type="' + type + '"] td.left').textContent());
}

async function ask(page, start, end, reason) {
  await page.getByLabel('Type').selectOption({ label: P.type });
  await page.getByLabel('Start date').fill(start);
  await page.getByLabel('End date').fill(end);
  await page.getByLabel('Reason').fill(reason);
  await page.getByRole('button', { name: 'Request leave' }).click();
}

run(async () => {
  const browser = await launch();
  const emp = await newPage(browser);
  await signIn(emp, P.employee, P.password);
  await emp.locator('tr[data-type="' + P.type + '"]').waitFor();
  const before = await left(emp, P.type);

  // End before start: the server's message under "End date"; nothing lost.
  await ask(emp, P.end, P.start, 'backwards');
  const endErr = emp.locator('.field:has(#' + await emp.getByLabel('End date').getAttribute('id') + ') .field-error');
  await endErr.waitFor();
  check((await endErr.textContent()).length > 3, 'end-date error: ' + await endErr.textContent());
  check(await emp.getByLabel('Reason').inputValue() === 'backwards', 'the reason was kept');
  check(await emp.getByLabel('End date').getAttribute('aria-invalid') === 'true', 'end date marked invalid');

  await ask(emp, P.start, P.end, 'family trip');
  await emp.locator('.request[data-status="pending"]').waitFor();

  // The same dates again: the overlap goes next to "Start date".
  await ask(emp, P.start, P.start, 'again');
  const startErr = emp.locator('.field:has(#' + await emp.getByLabel('Start date').getAttribute('id') + ') .field-error');
  await startErr.waitFor();
  const overlap = await startErr.textContent();
  check(await emp.getByLabel('Reason').inputValue() === 'again', 'the reason was kept after the overlap');
  check((await emp.locator('tr[data-type="' + P.type + '"] td').nth(2).textContent()) === String(P.days), 'pending days shown');
  await noHScroll(emp, 'home with leave');

  // The manager, in another browser context, approves with a comment.
  const mgr = await newPage(browser);
  await signIn(mgr, P.manager, P.password);
  await mgr.getByRole('navigation').getByRole('link', { name: 'Approvals' }).click();
  const item = mgr.locator('.request.decide[data-user="' + P.employee_name + '"]');
  await item.waitFor();
  const team = mgr.getByRole('region', { name: 'Who is in today' });
  await team.getByRole('rowheader', { name: P.employee_name }).waitFor();
  check(await team.locator('tbody tr').count() === 1, 'the manager sees their one report');
  await axe(mgr, 'approvals');
  await noHScroll(mgr, 'approvals');
  await screenshot(mgr, 'approvals');
  await item.getByLabel('Comment').fill('enjoy');
  await item.getByRole('button', { name: 'Approve' }).click();
  await mgr.getByText('Nothing waiting.').waitFor();

  await emp.reload();
  await emp.locator('.request[data-status="approved"]').waitFor();
  const badge = await emp.locator('.request[data-status="approved"] .badge').textContent();
  check(badge === 'approved', 'badge: ' + badge);
  const after = await left(emp, P.type);
  check(after === before - P.days, 'balance ' + before + ' -> ' + after);

  // An approved request in the future can still be cancelled: the days come back.
  await emp.locator('.request[data-status="approved"]').getByRole('button', { name: /^Cancel / }).click();
  await emp.locator('.request[data-status="cancelled"]').waitFor();
  await emp.waitForFunction(([t, n]) => Number(document.querySelector('tr[data-type="' + t + '"] td.left').textContent) === n, [P.type, before]);

  // Another request, rejected with a comment the employee then reads.
  await ask(emp, P.start2, P.start2, 'one more');
  await emp.locator('.request[data-status="pending"]').waitFor();
  await mgr.reload();
  await item.getByLabel('Comment').fill('busy week');
  await item.getByRole('button', { name: 'Reject' }).click();
  await mgr.getByText('Nothing waiting.').waitFor();
  await emp.reload();
  const rejected = emp.locator('.request[data-status="rejected"]');
  await rejected.waitFor();
  check((await rejected.textContent()).includes('busy week'), 'the comment is shown: ' + await rejected.textContent());
  await done(browser, { before, after, overlap });
});
