// Browser tests for the residents' wishes (issue 23): a real sreda, Debian's Chromium headless.
//   (a) from the guide to the Wishes page; suggest a wish by keyboard, vote for it (a second vote from the same
//       browser changes nothing), see the curators' reply and the event that answers it; axe-core finds no
//       serious or critical violation at 1280 and 360 px, and 360 px has no horizontal scroll
//   (b) the linked event's watch page says "you asked for this" with the wish's text
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot } from './lib/pages.mjs';

const WISH = 'Вечер органной музыки в старой кирхе';
const TITLE = 'Органный вечер';

let sreda;
let browser;
let narrow;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  ({ event } = await f.studioWithEvent('Кирха', TITLE, 180));
  browser = await f.launch();
  narrow = await f.launch({ viewport: { width: 360, height: 800 } });
});

const wishItem = (page) => page.locator('#wishes li', { has: page.locator('.title', { hasText: WISH }) });

test('the Wishes page: suggest by keyboard, vote once, see the reply and the event; axe clean at 1280 and 360 px', async () => {
  const { page, errors, foreign } = await openPage(browser, sreda.base, '/');
  await page.click('a[href="/wishes"]');
  await page.waitForURL(`${sreda.base}/wishes`);
  await page.fill('#wish-text', 'ab');
  await page.selectOption('#wish-category', 'concert');
  await page.focus('#wish-category');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');  // the "Suggest" button
  await waitFor(async () => (await page.textContent('#wish-text-error')) === 'Напишите от 3 до 300 знаков.',
    { timeoutMs: 10000, what: 'the length error beside the text' });
  await page.fill('#wish-text', WISH);
  await page.focus('#suggest button[type=submit]');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await page.textContent('#suggest-status')) === 'Спасибо! Ваше предложение в списке.',
    { timeoutMs: 10000, what: 'the thanks' });
  await wishItem(page).waitFor({ timeout: 10000 });
  assert.equal(await page.getAttribute('#sort-new', 'aria-pressed'), 'true', 'the newest first after suggesting');

  const vote = wishItem(page).locator('button.vote');
  assert.equal(await vote.getAttribute('aria-pressed'), 'false');
  await vote.focus();
  await page.keyboard.press('Enter');
  await waitFor(async () => (await vote.getAttribute('aria-pressed')) === 'true', { timeoutMs: 10000, what: 'the vote' });
  assert.equal(await wishItem(page).locator('.votes').textContent(), 'Поддержали: 1');
  const id = Number(await vote.getAttribute('data-id'));
  // The browser's second vote (its sreda_viewer cookie) changes nothing.
  const again = await page.request.post(`${sreda.base}/api/public/wishes/${id}/vote`);
  assert.equal((await again.json()).votes, 1);

  const r = await sreda.api('PATCH', `/api/wishes/${id}`, { reply: 'Запланировали на 12 марта', event_id: event.id }, sreda.token);
  assert.equal(r.status, 200, r.text);
  await page.reload();
  await page.click('#sort-new');
  await wishItem(page).locator('.reply').waitFor({ timeout: 10000 });
  assert.equal(await wishItem(page).locator('.reply').textContent(), 'Ответ кураторов: Запланировали на 12 марта');
  const link = wishItem(page).locator('.scheduled a');
  assert.equal(await link.getAttribute('href'), `/watch/${event.id}`);
  await waitFor(async () => (await link.textContent()) === TITLE, { timeoutMs: 10000, what: "the event's title" });
  assert.equal(await wishItem(page).locator('button.vote').getAttribute('aria-pressed'), 'true', 'still voted after a reload');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the Wishes page at 1280 px');
  await shot(page, 'wishes-1280.png');
  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, []);
  await page.close();

  const small = await openPage(narrow, sreda.base, '/wishes');
  await wishItem(small.page).waitFor({ timeout: 10000 });
  assert.equal(await horizontalOverflow(small.page), '');
  assert.deepEqual(await seriousViolations(small.page), [], 'axe: the Wishes page at 360 px');
  await shot(small.page, 'wishes-360.png');
  assert.deepEqual(small.errors, []);
  await small.page.close();
});

test('the watch page of the event that answers a wish says "you asked for this"', async () => {
  const { page, errors } = await openPage(browser, sreda.base, `/watch/${event.id}`);
  await page.locator('#wish').waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await page.textContent('#wish'), `Вы просили это: «${WISH}»`);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page with a wish');
  assert.deepEqual(errors, []);
  await page.close();
});
