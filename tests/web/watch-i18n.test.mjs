// Browser test: the watch page speaks Russian by default and English when switched (remembered), and has the
// remembered larger-text and high-contrast switches of the guide; axe-core finds no serious or critical
// violation in English with both switches on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, shot } from './lib/pages.mjs';

const TITLE = 'Лекция о Шостаковиче';

let sreda;
let browser;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  ({ event } = await f.studioWithEvent('Библиотека', TITLE, 90));
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
});

const text = (page, sel) => page.textContent(sel).then((s) => s.trim());

test('the watch page in Russian and English, with larger text and high contrast, remembered', async () => {
  const { page, errors } = await openPage(browser, sreda.base, `/watch/${event.id}`);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'scheduled', { what: 'the state' });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.equal(await text(page, '#state'), 'Скоро начнётся');
  assert.match(await text(page, '#banner'), /^Начало /);
  assert.equal(await text(page, '#play-label'), 'Смотреть');
  assert.equal(await text(page, '#audience-title'), 'Отзывы и вопросы');
  assert.equal(await page.getAttribute('#setting-lang-ru', 'aria-pressed'), 'true');

  await page.click('#setting-lang-en');
  await waitFor(async () => (await text(page, '#state')) === 'Starting soon', { what: 'English state' });
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await text(page, '#banner'), /^Starts (at|tomorrow at|\d)/);
  assert.equal(await text(page, '#play-label'), 'Watch');
  assert.equal(await text(page, '#audience-title'), 'Comments and questions');
  assert.equal(await text(page, '#rating-summary'), 'No ratings yet');
  assert.equal(await page.getAttribute('#stars button:nth-child(4)', 'aria-label'), '4 of 5');
  assert.equal(await page.getAttribute('#video', 'aria-label'), 'Broadcast video');
  assert.match(await page.title(), new RegExp(`^${TITLE} — `));
  assert.doesNotMatch(await page.title(), /Культурная/);

  await page.click('#setting-large');
  await page.click('#setting-contrast');
  assert.deepEqual(await page.evaluate(() => [...document.documentElement.classList].sort()), ['high-contrast', 'large-text']);

  // Remembered after a reload.
  await page.reload({ waitUntil: 'load' });
  await waitFor(async () => (await text(page, '#state')) === 'Starting soon', { what: 'English after the reload' });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.deepEqual(await page.evaluate(() => [...document.documentElement.classList].sort()), ['high-contrast', 'large-text']);
  assert.equal(await page.getAttribute('#setting-large', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('#setting-contrast', 'aria-pressed'), 'true');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page in English, larger text, high contrast');
  await shot(page, 'watch-en-contrast-1280.png');

  await page.click('#setting-lang-ru');
  await waitFor(async () => (await text(page, '#state')) === 'Скоро начнётся', { what: 'Russian again' });
  assert.equal(await text(page, '#rating-summary'), 'Оценок пока нет');
  assert.deepEqual(errors, []);
});
