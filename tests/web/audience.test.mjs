// Browser test for the audience panel of the watch page: a real sreda and Debian's Chromium headless.
//   a comment typed in one tab appears in another, as text (markup is not interpreted); the name is
//   remembered across a reload; a star rating says thank you and updates the average; a hidden comment
//   disappears from the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sreda, launchBrowser, waitFor } from './lib/harness.mjs';

let sreda;
let browser;
let event;

before(async () => {
  sreda = await new Sreda().start();
  await sreda.login();
  const studio = await sreda.createStudio('Дом культуры «Заря»');
  event = await sreda.createEvent(studio, 'Концерт хора ветеранов', 30);
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (sreda) {
    const code = await sreda.stop();
    if (code !== 0) throw new Error(`sreda exited with ${code} after SIGTERM:\n${sreda.logText(30)}`);
  }
});

async function open() {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  await page.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load', timeout: 30000 });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  return { page, errors };
}

test('comments, a remembered name, a star rating and moderation on the watch page', async () => {
  const a = await open();
  const b = await open();
  await a.page.fill('#nick', 'Галина Петровна');
  await a.page.fill('#comment-text', 'Прекрасно! <img src=x onerror="window.hacked=1">');
  await a.page.click('#comment-form button[type=submit]');
  const item = b.page.locator('#comments li', { hasText: 'Прекрасно!' });
  await item.waitFor({ timeout: 30000 });
  assert.equal(await item.locator('.nick').textContent(), 'Галина Петровна');
  assert.equal(await item.locator('.text').textContent(), 'Прекрасно! <img src=x onerror="window.hacked=1">');
  assert.equal(await b.page.locator('#comments img').count(), 0, 'markup from a viewer became HTML');
  assert.equal(await b.page.evaluate(() => window.hacked), undefined);
  assert.equal(await a.page.inputValue('#comment-text'), '', 'the box is emptied after sending');

  await a.page.reload({ waitUntil: 'load' });
  await a.page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await a.page.inputValue('#nick'), 'Галина Петровна', 'the name is remembered');
  await a.page.locator('#comments li', { hasText: 'Прекрасно!' }).waitFor({ timeout: 30000 });

  await a.page.click('#stars button:nth-child(5)');
  await a.page.locator('#rating-thanks').waitFor({ state: 'visible', timeout: 30000 });
  await b.page.locator('#rating-summary', { hasText: 'Средняя оценка 5,0 из 5 (оценок: 1)' }).waitFor({ timeout: 30000 });
  assert.equal(await a.page.getAttribute('#stars button:nth-child(5)', 'aria-pressed'), 'true');

  let comments;
  await waitFor(async () => {
    comments = (await sreda.api('GET', `/api/events/${event.id}/comments`, undefined, sreda.token)).json.comments;
    return comments.length === 1;
  }, { what: 'the comment stored' });
  const r = await sreda.api('POST', `/api/events/${event.id}/comments/${comments[0].id}/hide`, undefined, sreda.token);
  assert.equal(r.status, 200, r.text);
  await waitFor(async () => (await b.page.locator('#comments li').count()) === 0, { what: 'the hidden comment to go' });
  assert.deepEqual([...a.errors, ...b.errors], []);
});
