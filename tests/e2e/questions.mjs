// Question sets: the admin builds a set (a single, a multiple and a text
// question, with the right answers) and publishes it; the intern, in
// another browser context, answers it and sees the score; the admin reads
// the results, grades the text answer and sees the best score move.
import { launch, newPage, P, check, signIn, axe, noHScroll, screenshot, done, run } from './lib.mjs';

async function addQuestion(page, { prompt, kind, points, choices = [], right = [] }) {
  const form = page.getByRole('form', { name: 'Add a question' });
  await form.getByLabel('Prompt').fill(prompt);
  await form.getByLabel('Kind').selectOption({ label: kind });
  await form.getByLabel('Points').fill(String(points));
  for (let i = 0; i < choices.length; i++) {
    if (i >= 2) await form.getByRole('button', { name: 'Add choice' }).click();
    await form.getByLabel('Choice ' + (i + 1), { exact: true }).fill(choices[i]);
  }
  for (const i of right) await form.getByLabel('Choice ' + (i + 1) + ' is right').check();
  const before = await page.locator('.questions > li').count();
  await form.getByRole('button', { name: 'Add question' }).click();
  await page.locator('.questions > li').nth(before).waitFor();
}

run(async () => {
  const browser = await launch();
  const admin = await newPage(browser);
  await signIn(admin, P.admin, P.password);
  await admin.getByRole('navigation').getByRole('link', { name: 'Questions' }).click();
  await admin.getByLabel('Title').fill(P.title);
  await admin.getByLabel('Description').fill('Before your first day on site.');
  await admin.getByLabel('Attempts allowed').fill('2');
  await admin.getByRole('button', { name: 'Create set' }).click();
  await admin.getByRole('heading', { level: 1, name: P.title }).waitFor();

  // A single-choice question without a right choice: the server's message shows.
  const form = admin.getByRole('form', { name: 'Add a question' });
  await form.getByLabel('Prompt').fill('Stop light colour?');
  await form.getByLabel('Choice 1', { exact: true }).fill('Green');
  await form.getByLabel('Choice 2', { exact: true }).fill('Red');
  await form.getByRole('button', { name: 'Add question' }).click();
  await form.locator('.field-error').waitFor();
  const noRight = await form.locator('.field-error').textContent();
  check(await form.getByLabel('Choice 2', { exact: true }).inputValue() === 'Red', 'the choices were kept');

  await addQuestion(admin, { prompt: 'Stop light colour?', kind: 'Single choice', points: 2, choices: ['Green', 'Red'], right: [1] });
  await addQuestion(admin, { prompt: 'Protective gear?', kind: 'Multiple choice', points: 3, choices: ['Gloves', 'Sandals', 'Goggles'], right: [0, 2] });
  await addQuestion(admin, { prompt: 'Why does it matter?', kind: 'Text answer', points: 5 });
  check(await admin.locator('.questions > li').count() === 3, 'three questions listed');
  await admin.getByRole('button', { name: 'Publish' }).click();
  await admin.getByRole('button', { name: 'Unpublish' }).waitFor();
  await axe(admin, 'question set editor');
  await noHScroll(admin, 'question set editor');
  await screenshot(admin, 'questions-build');

  // The intern answers: the right single choice, half the multiple, a text.
  const intern = await newPage(browser);
  await signIn(intern, P.intern, P.password);
  await intern.getByRole('navigation').getByRole('link', { name: 'Questions' }).click();
  await intern.getByRole('button', { name: 'Answer ' + P.title }).click();
  const answers = intern.getByRole('form', { name: 'Answers to ' + P.title });
  await answers.waitFor();
  check(await intern.getByText('right', { exact: true }).count() === 0, 'no answer key shown to the intern');
  await answers.getByRole('group', { name: /Stop light colour/ }).getByLabel('Red').check();
  await answers.getByRole('group', { name: /Protective gear/ }).getByLabel('Gloves').check();
  await answers.getByLabel(/Why does it matter/).fill('So that nobody gets hurt.');
  await axe(intern, 'answering a set');
  await noHScroll(intern, 'answering a set');
  await answers.getByRole('button', { name: 'Submit answers' }).click();
  const score = intern.getByRole('status').filter({ hasText: 'You scored' });
  await score.waitFor();
  const scoreText = (await score.textContent()).trim();
  check(await intern.getByText('waits for review').count() === 1, 'the pending text answer is said');
  await screenshot(intern, 'questions-score');
  await intern.getByRole('button', { name: 'Back to question sets' }).click();
  const card = intern.locator('[data-set="' + P.title + '"]');
  await card.waitFor();
  const best = (await card.locator('.best').textContent()).trim();
  check((await card.textContent()).includes('1 attempt left'), 'attempts left: ' + await card.textContent());

  // The admin sees the intern in the results, grades the text answer.
  await admin.reload();
  await admin.getByRole('navigation').getByRole('link', { name: 'Questions' }).click();
  await admin.getByRole('button', { name: 'Open ' + P.title }).click();
  const row = admin.getByRole('region', { name: 'Results' }).locator('tr[data-email="' + P.intern + '"]');
  await row.waitFor();
  const before = (await row.locator('.best').textContent()).trim();
  const grade = admin.getByRole('form', { name: /^Grade / });
  await grade.getByLabel(/Points for/).fill('4');
  await grade.getByRole('button', { name: 'Save' }).click();
  await admin.getByRole('form', { name: /^Grade / }).waitFor({ state: 'detached' });
  await admin.waitForFunction((e) => !document.querySelector('tr[data-email="' + e + '"] .best').textContent.startsWith('2 '), P.intern);
  const after = (await row.locator('.best').textContent()).trim();
  await axe(admin, 'question results');
  await done(browser, { noRight, scoreText, best, before, after });
});
