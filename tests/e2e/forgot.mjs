// Forgot / reset: the code mailed to the SMTP sink (read from its folder,
// P.mail_dir) resets the password; sign-in works with the new one. Also
// keyboard only: the whole sign-in is done with Tab, typing and Enter.
import fs from 'node:fs';
import path from 'node:path';
import { launch, newPage, BASE, P, check, axe, noHScroll, done, run } from './lib.mjs';

async function mailedCode() {
  for (let i = 0; i < 100; i++) {
    for (const f of fs.readdirSync(P.mail_dir)) {
      const text = fs.readFileSync(path.join(P.mail_dir, f), 'utf8').replace(/=\r?\n/g, '');
      const m = /reset code is:\s*(\d{6})/.exec(text);
      if (m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error('no reset mail in ' + P.mail_dir);
}

async function tabTo(page, name) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const got = await page.evaluate(() => {
      const e = document.activeElement;
      return e ? (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent).trim() : '';
    });
    if (got === name) return;
  }
  throw new Error('Tab never reached ' + name);
}

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill(P.email);
  await page.getByRole('button', { name: 'Send the code' }).click();
  await page.getByLabel('Code').waitFor();
  await axe(page, 'reset');
  await noHScroll(page, 'reset');
  check(await page.getByLabel('Email').inputValue() === P.email, 'the email carried over');
  await page.getByLabel('Code').fill('000000');
  await page.getByLabel('New password').fill(P.new_password);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.getByRole('alert').waitFor();
  const wrong = await page.getByRole('alert').textContent();
  check(await page.getByLabel('New password').inputValue() === P.new_password, 'the form kept its values');
  await page.getByLabel('Code').fill(await mailedCode());
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.getByText('Your password was changed').waitFor();

  // Keyboard only, from a fresh page.
  await page.goto(BASE + '/');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await tabTo(page, 'Email');
  await page.keyboard.type(P.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(P.new_password);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation').waitFor();
  await tabTo(page, 'Check in');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Check out' }).waitFor();
  await done(browser, { wrong });
});
