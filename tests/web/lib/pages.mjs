// Helpers for tests that look at pages the way a user would: errors in the page, requests that leave the
// sreda origin, axe-core's accessibility verdict, horizontal scrolling, screenshots for review.
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';

const AXE = resolve(dirname(fileURLToPath(import.meta.url)), '../node_modules/axe-core/axe.min.js');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** A page of `browser` at `base + path` that records its errors and every request that left `base`. */
export async function openPage(browser, base, path, { ignore = [] } = {}) {
  const page = await browser.newPage();
  const errors = [];
  const foreign = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A failed request is reported below with its URL; the console line says only "Failed to load resource".
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console: ${msg.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !ignore.some((re) => re.test(`${r.status()} ${r.url()}`))) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    // hls.js cancels superseded requests (a blocking playlist reload, a preload hint), and a reload cancels
    // the page's own: that is not an error.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(base + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  await page.goto(base + path, { waitUntil: 'load', timeout: 30000 });
  return { page, errors, foreign };
}

/** axe-core's serious and critical WCAG 2.2 A/AA violations on the page as it is now, one line each. */
export async function seriousViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, WCAG_TAGS);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 5).join(' | ')}`);
}

/** Horizontal scrolling: '' when the page fits its viewport, else how much wider it is and what sticks out. */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const root = document.documentElement;
    const extra = root.scrollWidth - root.clientWidth;
    if (extra <= 0) return '';
    const out = [...document.body.querySelectorAll('*')]
      .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 0.5 || (e.clientWidth && e.scrollWidth > e.clientWidth + 1))
      .slice(0, 8).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).replace(/ /g, '.') : ''}`);
    return `${extra} px wider than the viewport: ${out.join(', ')}`;
  });
}

/** With SREDA_WEB_SCREENSHOTS=DIR, a full-page screenshot for a human to look at. */
export async function shot(page, name) {
  const dir = process.env.SREDA_WEB_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name), fullPage: true });
}

/** Presses Tab until the element with `id` has the focus (at most `max` times); returns whether it did. */
export async function tabTo(page, id, max = 30) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate(() => document.activeElement && document.activeElement.id) === id) return true;
    await page.keyboard.press('Tab');
  }
  return page.evaluate((want) => document.activeElement && document.activeElement.id === want, id);
}

/** Whether the focused element shows a focus indicator (an outline that is not "none" and not 0 wide). */
export async function focusVisible(page) {
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  });
}
