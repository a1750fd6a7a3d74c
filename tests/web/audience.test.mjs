// Browser test for the audience panel of the watch page: a real sreda and Debian's Chromium headless.
//   a comment typed in one tab appears in another, as text (markup is not interpreted); the name is
//   remembered across a reload; a star rating says thank you and updates the average; a hidden comment
//   disappears from the page.
//   The viewer identity the server issues: the watch page gets the sreda_viewer cookie (HttpOnly: the page's
//   script cannot read it; SameSite=Lax); the viewer's rating comes back after a reload even with localStorage
//   emptied (the cookie comes with the /ws upgrade); rating again replaces it (one per viewer); without the
//   cookie the page is a new viewer with a new cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';

let sreda;
let browser;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  ({ event } = await f.studioWithEvent('Дом культуры «Заря»', 'Концерт хора ветеранов', 30));
  browser = await f.launch();
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

async function viewerCookie() {
  return (await browser.cookies(sreda.base)).find((c) => c.name === 'sreda_viewer');
}

const pressed = (page, n) => page.getAttribute(`#stars button:nth-child(${n})`, 'aria-pressed');

test('the watch page keeps its viewer identity across reloads', async () => {
  // An event of its own (the pages of this browser share the cookie, so the test above rated as this viewer).
  const studio = await sreda.createStudio('Библиотека на Садовой');
  event = await sreda.createEvent(studio, 'Лекция о русском авангарде', 30);
  const { page, errors } = await open();
  const cookie = await viewerCookie();
  assert.ok(cookie, 'the page set the sreda_viewer cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.ok(cookie.expires > Date.now() / 1000 + 300 * 24 * 3600, 'a long-lived cookie');
  assert.equal(await page.evaluate(() => document.cookie.includes('sreda_viewer')), false, 'not readable by scripts');

  await page.click('#stars button:nth-child(4)');
  await page.locator('#rating-thanks').waitFor({ state: 'visible', timeout: 30000 });
  await waitFor(async () => (await sreda.publicEvent(event.id)).rating.count === 1, { what: 'the rating stored' });

  // Reloaded with nothing in localStorage: the cookie still says who this is.
  await page.evaluate(() => localStorage.clear());
  await page.reload({ waitUntil: 'load' });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  await waitFor(async () => (await pressed(page, 4)) === 'true', { what: 'the viewer\'s own 4 stars after the reload' });
  assert.equal(await pressed(page, 5), 'false');
  assert.equal((await viewerCookie()).value, cookie.value, 'the same identity');
  await page.click('#stars button:nth-child(2)');
  await waitFor(async () => (await pressed(page, 3)) === 'false', { what: 'the new rating shown' });
  await waitFor(async () => {
    const r = (await sreda.publicEvent(event.id)).rating;
    return r.count === 1 && r.average === 2;
  }, { what: 'the rating replaced, not added' });

  // Without the cookie: a new viewer, with a new cookie and no stars of its own.
  await browser.clearCookies();
  await page.evaluate(() => localStorage.clear());
  await page.reload({ waitUntil: 'load' });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  const fresh = await viewerCookie();
  assert.ok(fresh && fresh.value !== cookie.value, 'a new identity');
  await page.locator('#rating-summary', { hasText: '(оценок: 1)' }).waitFor({ timeout: 30000 });
  assert.equal(await pressed(page, 1), 'false', 'no stars of its own');
  assert.deepEqual(errors, []);
  await page.close();
});
