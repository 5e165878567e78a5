// The monthly sheet and report: the month shows, the grid is coloured by
// status, "Download CSV" gives a file (saved to P.dir for Python to read).
import path from 'node:path';
import { launch, newPage, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

async function download(page, name) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  const file = path.join(P.dir, name);
  await dl.saveAs(file);
  return { file, suggested: dl.suggestedFilename() };
}

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  await signIn(page, P.admin, P.password);

  await page.getByRole('navigation').getByRole('link', { name: 'Sheet' }).click();
  const grid = page.getByRole('region', { name: 'Attendance sheet ' + P.month_name });
  await grid.waitFor();
  check(await page.getByRole('heading', { level: 2, name: 'Acme Works: ' + P.month_name }).count() === 1, 'sheet heading');
  const cell = page.locator('tr[data-email="' + P.email + '"] td.c').nth(P.day - 1);
  const cls = await cell.getAttribute('class');
  check(/st-(present|late)/.test(cls), 'today is coloured present or late: ' + cls);
  const rows = await grid.locator('tbody tr').count();
  await axe(page, 'sheet');
  await noHScroll(page, 'sheet');
  await screenshot(page, 'sheet');
  const sheet = await download(page, 'sheet.csv');

  // The month picker: the month before has its own grid.
  await page.getByRole('button', { name: 'Previous month' }).click();
  await page.getByRole('region', { name: 'Attendance sheet ' + P.prev_month_name }).waitFor();

  await page.getByRole('navigation').getByRole('link', { name: 'Report' }).click();
  await page.getByRole('region', { name: 'Monthly report ' + P.month_name }).waitFor();
  await axe(page, 'report');
  await noHScroll(page, 'report');
  await screenshot(page, 'report');
  const report = await download(page, 'report.csv');
  await done(browser, { rows, sheet, report });
});
