// What every browser scenario shares: Chromium launched the way the brief
// says (Debian's binary, never a download), a page that records every
// request (only the daemon's host is allowed), axe-core, the 360 px check,
// screenshots, and small assertions that print what failed.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const BASE = process.env.E2E_BASE;
export const P = JSON.parse(process.env.E2E_PARAMS || '{}');
const BASE_HOST = new URL(BASE).host;
export const foreign = [];

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run'];

export async function launch({ camera } = {}) {
  const args = [...FLAGS];
  if (camera) {
    args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--use-file-for-fake-video-capture=' + camera);
  }
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
}

// A page of its own context; requests to any other host are recorded.
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport || { width: 1200, height: 900 },
    acceptDownloads: true, timezoneId: opts.timezoneId || 'America/New_York' });
  if (opts.camera !== false) await context.grantPermissions(['camera'], { origin: BASE }).catch(() => {});
  const page = await context.newPage();
  watch(page);
  return page;
}

export function watch(page) {
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol === 'blob:' || u.protocol === 'data:') return;
    if (u.host !== BASE_HOST) foreign.push(req.url());
  });
  page.on('pageerror', (e) => { console.log('pageerror: ' + e.message); pageErrors.push(e.message); });
  page.on('console', (m) => { if (m.type() === 'error') console.log('console: ' + m.text()); });
}
export const pageErrors = [];
// Every script the pages loaded, by URL (its body's size in bytes).
export const scripts = new Map();
export function countScripts(page) {
  page.on('response', async (res) => {
    if (res.request().resourceType() !== 'script') return;
    try { scripts.set(res.url().split('?')[0], (await res.body()).length); } catch (e) { /* gone */ }
  });
}

export function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

export async function signIn(page, email, password) {
  await page.goto(BASE + '/');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation').waitFor();
}

// axe-core: no serious or critical violation on the screen.
export async function axe(page, screen) {
  // addScriptTag would be an inline script, which the app's CSP blocks (as
  // it should); evaluating the source through the DevTools protocol is not
  // subject to the page's CSP, so the CSP stays on while axe runs.
  const already = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!already) await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, 'axe on ' + screen + ': ' + JSON.stringify(bad));
  return res.length;
}

// The page does not scroll sideways at 360 px.
export async function noHScroll(page, screen) {
  const vp = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(150);
  const w = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  check(w.sw <= w.cw, screen + ' scrolls sideways at 360 px: ' + w.sw + ' > ' + w.cw);
  if (vp) await page.setViewportSize(vp);
}

export async function screenshot(page, name) {
  const dir = process.env.E2E_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name + '.png'), fullPage: true });
}

// The end of a scenario: no foreign request, no page error, one JSON line.
export async function done(browser, result = {}) {
  const jsBytes = [...scripts.values()].reduce((a, b) => a + b, 0);
  await browser.close();
  if (scripts.size) result = { ...result, js_bytes: jsBytes, scripts: Object.fromEntries(scripts) };
  check(foreign.length === 0, 'requests to other hosts: ' + foreign.join(', '));
  check(pageErrors.length === 0, 'page errors: ' + pageErrors.join('; '));
  console.log(JSON.stringify({ ok: true, ...result }));
}

export function run(fn) {
  fn().catch((e) => { console.log(String(e && e.stack ? e.stack : e)); process.exit(1); });
}
