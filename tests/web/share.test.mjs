// Browser test: a shared event link (issue 23). The watch page shows the event's short link (/e/<number>, to
// read aloud on the phone) with a copy button that says it copied; the short link leads to the watch page; the
// curator's desk shows the same short link on the event's card; axe finds nothing serious at 1280 and 360 px
// (no sideways scrolling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot } from './lib/pages.mjs';

let sreda;
let browser;
let event;

const f = fixture(async () => {
  ({ sreda } = f);
  ({ event } = await f.studioWithEvent('Дом культуры «Заря»', 'Вечер романса', 120));
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sreda.base });
});

test('the watch page shows and copies the short link, which leads back to it; axe clean at 1280 and 360 px', async () => {
  const { page, errors } = await openPage(browser, sreda.base, `/watch/${event.id}`);
  const host = new URL(sreda.base).host;
  await page.locator('#share').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal((await page.textContent('#share-link')).trim(), `${host}/e/${event.id}`);
  assert.equal(await page.textContent('#share-copy'), 'Копировать ссылку');
  await page.click('#share-copy');
  await waitFor(async () => (await page.textContent('#share-done')) === 'Ссылка скопирована', { what: 'the copy said' });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${sreda.base}/e/${event.id}`);
  await page.click('#setting-lang-en');
  await waitFor(async () => (await page.textContent('#share-copy')) === 'Copy link', { what: 'English' });
  await page.click('#setting-lang-ru');
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.deepEqual(await seriousViolations(page), [], 'axe at 1280 px');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px');
  assert.deepEqual(await seriousViolations(page), [], 'axe at 360 px');
  await shot(page, 'watch-share-360.png');
  // The short link, followed as a phone's browser does.
  await page.click('#share-link');
  await page.waitForURL(`${sreda.base}/watch/${event.id}`);
  await waitFor(async () => (await page.textContent('#title')) === 'Вечер романса', { what: 'the watch page again' });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the desk's event card shows the short link to read out", async () => {
  const { page, errors } = await openPage(browser, sreda.base, '/desk');
  await page.waitForSelector('#login-section:not([hidden])');
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.press('#password', 'Enter');
  const item = page.locator(`#event-${event.id} .short-link`);
  await item.waitFor({ state: 'visible', timeout: 10000 });
  assert.equal((await item.textContent()).trim(), `Короткая ссылка: ${new URL(sreda.base).host}/e/${event.id}`);
  assert.deepEqual(errors, []);
  await page.close();
});
