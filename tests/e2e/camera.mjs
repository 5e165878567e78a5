// The camera for real: Chromium's fake capture device plays a .y4m made
// from a face photo (P.y4m). Modes:
//   enrol    the admin enrols P.person from the camera on the People screen
//   checkin  P.email checks in through the camera (face-required org)
//   kiosk    a paired kiosk (P.link) sees the face: P.expect on screen;
//            also: the pairing survives a reload, the network dropping
//            shows "Offline" and recovers.
import { launch, newPage, BASE, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

async function enrol(page) {
  await signIn(page, P.admin, P.password);
  await page.getByRole('navigation').getByRole('link', { name: 'People' }).click();
  await page.getByRole('button', { name: 'Manage ' + P.person }).click();
  await page.getByRole('button', { name: 'Enrol from camera' }).click();
  const take = page.getByRole('button', { name: 'Take photo and enrol' });
  await take.waitFor();
  await page.waitForFunction(() => document.querySelector('.camera video').videoWidth > 0);
  await axe(page, 'enrol');
  await take.click();
  const answer = page.locator('.camera .msg');
  await answer.waitFor();
  const text = await answer.textContent();
  check(text.startsWith('Face enrolled'), 'enrol answer: ' + text);
  await page.getByRole('button', { name: 'Delete face 1' }).waitFor();
  await screenshot(page, 'enrol-face');
  return { answer: text };
}

async function checkin(page) {
  await signIn(page, P.email, P.password);
  await page.getByRole('button', { name: 'Check in' }).click();
  const take = page.getByRole('button', { name: 'Take photo and check in' });
  await take.waitFor();
  await page.waitForFunction(() => document.querySelector('.camera video').videoWidth > 0);
  await take.click();
  const answer = page.locator('.camera .msg');
  await answer.waitFor();
  const text = await answer.textContent();
  check(text.startsWith('Matched'), 'check-in answer: ' + text);
  await page.getByRole('button', { name: 'Check out' }).waitFor();
  const state = await page.locator('.today .state').textContent();
  check(state.startsWith('In since'), 'state: ' + state);
  return { answer: text, state };
}

async function kiosk(page) {
  await page.goto(P.link);
  await page.getByRole('heading', { name: P.org_name }).waitFor();
  check(!page.url().includes('token'), 'the token left the address bar: ' + page.url());
  const banner = page.locator('.banner');
  await page.waitForFunction((want) => document.querySelector('.banner').textContent.startsWith(want), P.expect, { timeout: 30000 });
  const text = await banner.textContent();
  check(P.pattern ? new RegExp(P.pattern).test(text) : true, 'banner: ' + text);
  await axe(page, 'kiosk');
  await noHScroll(page, 'kiosk');
  await screenshot(page, P.shot || 'kiosk');

  // A reload keeps the pairing (localStorage of this device).
  await page.reload();
  await page.getByRole('heading', { name: P.org_name }).waitFor();
  check(await page.getByText('This device is not paired').count() === 0, 'still paired');
  let offline = '';
  if (P.offline) {
    await page.context().setOffline(true);
    await page.waitForFunction(() => document.querySelector('.net').textContent.startsWith('Offline'), null, { timeout: 20000 });
    offline = await page.locator('.net').textContent();
    await page.context().setOffline(false);
    await page.waitForFunction(() => document.querySelector('.net').textContent === '', null, { timeout: 40000 });
  }
  return { banner: text, offline };
}

run(async () => {
  const browser = await launch({ camera: P.y4m });
  const page = await newPage(browser);
  const modes = { enrol, checkin, kiosk };
  const result = await modes[P.mode](page);
  await done(browser, result);
});
