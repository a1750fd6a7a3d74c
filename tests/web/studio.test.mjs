// Browser tests for the artist's view (/studio/<id>?t=<token>, issue 9): a real sreda, a real ffmpeg
// publisher, Debian's Chromium headless.
//   (a) a wrong link says only that it is no longer valid
//   (b) before the event: "You go live at … — N minutes" and the publish settings with the studio's key
//   (c) while ffmpeg publishes: LIVE, a healthy stream in words; a viewer's comment on the watch page arrives
//       in large type; readable at 300 px (OBS dock, no sideways scrolling) and 1024 px; axe finds nothing
//       serious or critical; a curator ends the event and the page says "Ended"
//   (d) a viewer (another browser context) asks a question: it stands out on the artist's page; the artist
//       marks it answered, it fades, and the viewer's page shows it answered; a hidden comment disappears
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf, shot, seriousViolations, horizontalOverflow } from './lib/pages.mjs';

let sreda;
let browser;
let publisher;
let studio;
let event;
let viewUrl;

const f = fixture(async () => {
  ({ sreda } = f);
  ({ studio, event } = await f.studioWithEvent('Школа танца «Вдохновение»', 'Мастер-класс: вальс', 5));
  const r = await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token);
  viewUrl = r.json.view_url;
  assert.match(viewUrl, new RegExp(`^/studio/${studio.id}\\?t=[A-Za-z0-9_-]{43}$`));
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
});

const openPage = (path, opts) => openPageOf(browser, sreda.base, path, opts);

/** Waits until the text of `selector` matches `re`; a timeout says what the text was. */
async function waitText(page, selector, re, what) {
  let last = null;
  try {
    await waitFor(async () => re.test((last = await page.textContent(selector))), { what });
  } catch (err) {
    throw new Error(`${err.message} (${selector} says ${JSON.stringify(last)})`);
  }
}

test('a wrong link says only that it is no longer valid', async () => {
  const { page, errors } = await openPage(`/studio/${studio.id}?t=${studio.stream_key}`,
    { ignore: [/^404 .*\/api\/studio-view\//] });
  await waitFor(async () => page.isVisible('#invalid'), { what: 'the "no longer valid" message' });
  assert.equal(await page.textContent('#invalid'), 'Эта ссылка больше не действует.');
  assert.equal(await page.isHidden('#view'), true);
  assert.equal((await page.content()).includes(studio.stream_key.slice(0, 8) + 'x'), false);
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('before the event: the countdown and the publish settings', async () => {
  const { page, errors, foreign } = await openPage(viewUrl);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'soon', { what: 'state "soon"' });
  assert.match(await page.textContent('#state'), /^Вы выходите в эфир в \d\d:\d\d — через [45] мин\.$/);
  assert.equal(await page.textContent('#title'), 'Мастер-класс: вальс');
  assert.equal(await page.textContent('#key'), studio.stream_key);
  assert.equal(await page.textContent('#rtmp'), `rtmp://127.0.0.1:${sreda.rtmpPort}/live`);
  assert.equal(await page.evaluate(() => document.getElementById('publish').open), true);
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
  await page.close();
});

test('live: LIVE, healthy in words, a viewer\'s comment arrives in large type; 300 px and 1024 px', async (t) => {
  publisher = f.publish(studio, 90);
  const { page, errors, foreign } = await openPage(viewUrl);
  await page.setViewportSize({ width: 300, height: 700 });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live',
    { timeoutMs: 60000, what: `state "live" (publisher log: ${publisher.log.join('')})` });
  assert.equal(await page.textContent('#state'), 'В ЭФИРЕ');
  await waitFor(async () => (await page.getAttribute('#health', 'data-code')) === 'good',
    { timeoutMs: 60000, what: 'a healthy stream' });
  assert.equal(await page.textContent('#health'), 'Изображение и звук доходят хорошо.');
  await waitText(page, '#viewers', /^Смотрят: \d+$/, 'the viewer count');
  const watching = async () => Number((await page.textContent('#viewers')).match(/\d+/)[0]);
  const before = await watching();
  t.diagnostic(`viewers shown before the watch page opens: ${before}`);

  // A viewer writes on the watch page.
  const viewer = await openPage(`/watch/${event.id}`);
  await waitFor(async () => viewer.page.isVisible('#comment-form'), { what: 'the comment form' });
  await viewer.page.fill('#nick', 'Марина');
  await viewer.page.fill('#comment-text', 'Как держать спину в повороте?');
  const sent = Date.now();
  await viewer.page.click('#comment-form button[type=submit]');
  await waitFor(async () => (await page.textContent('#comments')).includes('Как держать спину в повороте?'),
    { timeoutMs: 10000, intervalMs: 20, what: 'the comment on the artist\'s page' });
  t.diagnostic(`first comment shown on the artist's page ${Date.now() - sent} ms after Send (the watch page joins again under the new name first)`);
  // A second comment under the same name goes straight through: how long the artist waits for it.
  await viewer.page.fill('#comment-text', 'А можно медленнее?');
  const sent2 = Date.now();
  await viewer.page.click('#comment-form button[type=submit]');
  await waitFor(async () => (await page.textContent('#comments li:last-child')).includes('А можно медленнее?'),
    { timeoutMs: 10000, intervalMs: 20, what: 'the second comment, newest at the bottom' });
  t.diagnostic(`second comment shown on the artist's page ${Date.now() - sent2} ms after Send`);
  assert.equal(await page.textContent('#comments li:last-child .nick'), 'Марина: ');
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('#comments li')).fontSize));
  assert.ok(px >= 24, `comment text is ${px} px`);
  await waitText(page, '#viewers', new RegExp(`^Смотрят: ${before + 1}$`), 'one more viewer');

  // The viewer (another browser context) asks a question: it stands out on the artist's page.
  const ask = viewer.page.locator('#ask-question');
  assert.equal(await viewer.page.textContent('label[for=ask-question]'), 'Задать как вопрос');
  const box = await viewer.page.locator('label[for=ask-question]').boundingBox();
  assert.ok(box.height >= 44, `the question checkbox's target is ${box.height} px tall`);
  await viewer.page.fill('#comment-text', 'Сколько лет вы танцуете?');
  await ask.focus();
  await viewer.page.keyboard.press('Space');  // usable from the keyboard
  assert.equal(await ask.isChecked(), true);
  const asked = Date.now();
  await viewer.page.click('#comment-form button[type=submit]');
  const question = page.locator('#comments li.question', { hasText: 'Сколько лет вы танцуете?' });
  await waitFor(async () => (await question.count()) === 1,
    { timeoutMs: 10000, intervalMs: 20, what: 'the question, highlighted, on the artist\'s page' });
  t.diagnostic(`question shown highlighted on the artist's page ${Date.now() - asked} ms after Send`);
  assert.equal(await ask.isChecked(), false, 'the checkbox clears after sending');
  assert.equal(await question.locator('.q-badge').textContent(), 'Вопрос');
  const qpx = await question.evaluate((li) => parseFloat(getComputedStyle(li).fontSize));
  assert.ok(qpx > px, `a question (${qpx} px) is larger than a comment (${px} px)`);
  assert.equal(await page.locator('#comments li:not(.question) button').count(), 0, 'plain comments have no button');
  const mine = viewer.page.locator('#comments li.question', { hasText: 'Сколько лет вы танцуете?' });
  await waitFor(async () => (await mine.count()) === 1, { what: 'the question marked on the watch page' });
  assert.equal(await mine.locator('.q-badge').textContent(), 'Вопрос');
  assert.deepEqual(await seriousViolations(viewer.page), []);

  // The artist marks it answered: it fades there, and the viewer's page says so.
  await question.locator('button.answer').click();
  await waitFor(async () => (await question.getAttribute('class')).includes('answered'), { what: 'answered on the artist\'s page' });
  assert.equal(await question.locator('.q-badge').textContent(), 'Ответ дан');
  assert.equal(await question.locator('button.answer').isHidden(), true);
  await waitFor(async () => Number(await question.evaluate((li) => getComputedStyle(li).opacity)) < 1,
    { what: 'the answered question to fade' });
  await waitFor(async () => (await mine.getAttribute('class')).includes('answered'),
    { what: 'answered on the viewer\'s page' });
  assert.equal(await mine.locator('.q-badge').textContent(), 'Вопрос — ответ дан');
  const stored = await sreda.api('GET', `/api/public/events/${event.id}/comments`);
  assert.deepEqual(stored.json.comments.filter((c) => c.question).map((c) => [c.text, c.answered]),
    [['Сколько лет вы танцуете?', true]]);
  // A hidden comment leaves the artist's page too.
  const hideId = await page.locator('#comments li', { hasText: 'А можно медленнее?' }).getAttribute('data-id');
  const hidden = await sreda.api('POST', `/api/events/${event.id}/comments/${hideId}/hide`, undefined, sreda.token);
  assert.equal(hidden.status, 200, hidden.text);
  await waitFor(async () => (await page.locator(`#comments li[data-id="${hideId}"]`).count()) === 0,
    { what: 'the hidden comment gone from the artist\'s page' });

  assert.equal(await horizontalOverflow(page), '', 'no sideways scrolling in a 300 px dock');
  assert.deepEqual(await seriousViolations(page), []);
  await shot(page, 'studio-300.png');
  await page.setViewportSize({ width: 1024, height: 768 });
  assert.equal(await horizontalOverflow(page), '');
  await shot(page, 'studio-1024.png');
  // A curator ends the event: the artist's page says so.
  const ended = await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token);
  assert.equal(ended.status, 200, ended.text);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'ended', { what: 'state "ended"' });
  assert.equal(await page.textContent('#state'), 'Эфир окончен');
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
  await viewer.page.close();
  await page.close();
});
