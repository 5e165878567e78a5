// No camera on this machine (no fake device): the photo file inputs.
//   enrol    the admin enrols P.person from a photo file, then deletes it
//   checkin  P.email checks in with a photo file (capture="user" input)
import { launch, newPage, P, check, signIn, done, run } from './lib.mjs';

async function enrol(page) {
  await signIn(page, P.admin, P.password);
  await page.getByRole('navigation').getByRole('link', { name: 'People' }).click();
  await page.getByRole('button', { name: 'Manage ' + P.person }).click();
  await page.getByText('No face enrolled.').waitFor();
  await page.getByLabel('Enrol from a photo').setInputFiles(P.photo);
  await page.getByRole('button', { name: 'Delete face 1' }).waitFor();
  const listed = await page.locator('.face-list li').count();
  await page.getByRole('button', { name: 'Delete face 1' }).click();
  await page.getByText('No face enrolled.').waitFor();
  return { listed };
}

async function checkin(page) {
  await signIn(page, P.email, P.password);
  await page.getByRole('button', { name: 'Check in' }).click();
  const input = page.getByLabel('Photo of the face');
  await input.waitFor();
  check(await input.getAttribute('capture') === 'user', 'the file input asks for the front camera');
  await input.setInputFiles(P.photo);
  const answer = page.locator('.camera .msg');
  await answer.waitFor();
  const text = await answer.textContent();
  check(text.startsWith('Matched'), 'answer: ' + text);
  await page.getByRole('button', { name: 'Check out' }).waitFor();
  return { answer: text };
}

run(async () => {
  const browser = await launch();
  const page = await newPage(browser);
  const result = await ({ enrol, checkin })[P.mode](page);
  await done(browser, result);
});
