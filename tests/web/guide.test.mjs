// Browser tests for the programme guide (/): a real sreda, Debian's Chromium headless, a real ffmpeg.
//   (a) "Coming up": the date and time in the viewer's zone, a countdown, a working "Add to my calendar"
//   (b) the category filter and the search
//   (c) "Live now" while a studio publishes (the poster frame, refreshed; the viewer count once a viewer opens
//       the event), and from there to a playing video by keyboard alone; after the curator ends it, the event is
//       in the "Archive" with its poster, length and stars
//   (d) axe-core: no serious or critical violations on the guide and on a watch page
//   (e) English follows the browser's language
//   (f) larger text and high contrast are remembered; keyboard focus is visible; 360 px has no horizontal
//       scroll; prefers-reduced-motion turns smooth scrolling off
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot, tabTo, focusVisible } from './lib/pages.mjs';

const TZ = 'Asia/Yekaterinburg';  // not the server's zone, nor UTC: times must be shown in the viewer's
const CONCERT = 'Вечер фортепианной музыки';
const LECTURE = 'Лекция о русском авангарде';
const LIVE = 'Мастер-класс по акварели';

let sreda;
let browser;
let publisher;
let concert;
let lecture;
let live;

fixture(async (f) => {
  ({ sreda } = f);
  const hall = await sreda.createStudio('Музыкальная школа № 1');
  const library = await sreda.createStudio('Библиотека на Садовой');
  const studio = await sreda.createStudio('Дом художника');
  concert = await sreda.createEvent(hall, CONCERT, 150);
  lecture = await sreda.createEvent(library, LECTURE, 26 * 60);
  await sreda.api('PATCH', `/api/events/${lecture.id}`, { category: 'lecture' }, sreda.token);
  live = await sreda.createEvent(studio, LIVE, 1);
  await sreda.api('PATCH', `/api/events/${live.id}`, { category: 'master_class' }, sreda.token);
  publisher = f.publish(studio, 150);
  browser = await f.launch({ timezoneId: TZ });
});

const item = (page, list, title) => page.locator(`#${list} li`, { has: page.locator('a.title', { hasText: title }) });

test('"Coming up" shows the time in the viewer\'s zone, a countdown and a working "Add to my calendar"', async () => {
  const { page, errors, foreign } = await openPage(browser, sreda.base, '/');
  const li = item(page, 'upcoming', CONCERT);
  await li.waitFor({ timeout: 15000 });
  const text = await li.textContent();
  const hm = new Date(concert.starts_at).toLocaleTimeString('ru-RU', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
  assert.ok(text.includes(hm), `"${text}" shows the start ${hm} in ${TZ}`);
  assert.match(await li.locator('.countdown').textContent(), /^\(через 2 ч \d{1,2} мин\)$/);
  assert.ok(text.includes('Концерт · Музыкальная школа № 1'), 'category and studio');
  assert.equal(await li.locator('a.title').getAttribute('href'), `/watch/${concert.id}`);

  const ics = li.locator('a.ics');
  assert.equal(await ics.textContent(), 'Добавить в мой календарь');
  const href = await ics.getAttribute('href');
  assert.equal(href, `/events/${concert.id}.ics`);
  const r = await page.request.get(sreda.base + href);
  assert.equal(r.status(), 200);
  assert.match(r.headers()['content-type'], /^text\/calendar/);
  const body = await r.text();
  assert.match(body, /BEGIN:VEVENT/);
  assert.ok(body.replace(/\r\n[ \t]/g, '').includes(`SUMMARY:${CONCERT}`), 'the .ics names the event');
  // Clicking it really downloads the calendar file.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), ics.click()]);
  assert.equal(download.suggestedFilename(), `event-${concert.id}.ics`);

  assert.deepEqual(await seriousViolations(page), [], 'axe: the guide');
  await shot(page, 'guide-1280.png');
  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the category filter and the search narrow the programme', async () => {
  const { page, errors } = await openPage(browser, sreda.base, '/');
  await item(page, 'upcoming', LECTURE).waitFor({ timeout: 15000 });
  await page.selectOption('#category', 'lecture');
  await waitFor(async () => (await page.locator('#upcoming a.title').allTextContents()).join('|') === LECTURE,
    { timeoutMs: 10000, what: 'only the lecture under "Coming up"' });
  assert.match(page.url(), /\?category=lecture$/);

  await page.selectOption('#category', '');
  await page.fill('#q', 'фортепиан');
  await page.press('#q', 'Enter');
  await waitFor(async () => (await page.locator('#upcoming a.title').allTextContents()).join('|') === CONCERT,
    { timeoutMs: 10000, what: 'only the concert for "фортепиан"' });

  await page.fill('#q', 'нет такого события');
  await page.click('#filter button[type=submit]');
  await waitFor(async () => (await page.textContent('#upcoming')) === 'Ничего не найдено. Попробуйте другой запрос.',
    { timeoutMs: 10000, what: 'the "nothing found" note' });
  // The filter survives a reload (it is in the address).
  await page.reload();
  assert.equal(await page.inputValue('#q'), 'нет такого события');
  assert.deepEqual(errors, []);
  await page.close();
});

test('"Live now" while the studio publishes; ended by the curator, the event is in the "Archive"', async () => {
  await waitFor(async () => (await sreda.publicEvent(live.id)).state === 'live',
    { timeoutMs: 30000, what: `event ${live.id} to be live (publisher: ${publisher.log.join('')})` });
  // The live poster of an event that has just ended may answer 404 (the card then shows its placeholder).
  const { page, errors } = await openPage(browser, sreda.base, '/', { ignore: [/^404 .*\/live\/\d+\/poster\.jpg/] });
  const li = item(page, 'live', LIVE);
  await li.waitFor({ timeout: 15000 });
  assert.equal(await li.locator('.badge').textContent(), 'В эфире');
  assert.equal(await li.locator('a.title').getAttribute('href'), `/watch/${live.id}`);

  // A viewer opens the event (the watch page joins its audience) and rates it: the guide's card counts
  // them; the card shows the live poster frame once the server has one, reloaded with the listing.
  const viewer = await browser.newPage();
  await viewer.goto(`${sreda.base}/watch/${live.id}`);
  await viewer.waitForSelector('#audience:not([hidden]) #stars button', { timeout: 30000 });
  await viewer.click('#stars button:nth-child(4)');
  await viewer.waitForSelector('#rating-thanks:not([hidden])', { timeout: 15000 });
  await waitFor(async () => /^Смотрят: [1-9]\d*$/.test(await li.locator('.viewers').textContent()),
    { timeoutMs: 45000, what: 'the card to count the viewer' });
  const poster = li.locator('img.poster');
  await waitFor(async () => (await poster.count()) === 1 &&
    await poster.evaluate((img) => img.complete && img.naturalWidth > 0), { timeoutMs: 45000, what: 'the live poster frame' });
  assert.equal(await poster.getAttribute('alt'), '', 'the poster is decorative (the title says it)');
  const src = await poster.getAttribute('src');
  assert.match(src, new RegExp(`^/live/${live.id}/poster\\.jpg\\?v=\\d+$`));
  await waitFor(async () => (await poster.getAttribute('src')) !== src, { timeoutMs: 30000, what: 'the poster to be refreshed' });
  assert.deepEqual(await seriousViolations(page), [], 'axe: the guide with a live event');
  await shot(page, 'guide-live-1280.png');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px with a live card');
  await shot(page, 'guide-live-360.png');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Keyboard only, from the guide to a playing video: Tab to the event, Enter, Tab to Play, Enter.
  let focused = null;
  for (let i = 0; i < 30 && focused !== `/watch/${live.id}`; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href'));
  }
  assert.equal(focused, `/watch/${live.id}`, 'Tab reaches the live event');
  assert.ok(await focusVisible(page), 'the focus on the link is visible');
  await Promise.all([page.waitForURL(`${sreda.base}/watch/${live.id}`, { timeout: 15000 }), page.keyboard.press('Enter')]);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'the watch page to say "live"' });
  assert.ok(await tabTo(page, 'play'), 'Tab reaches Play');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return !v.paused && v.readyState >= 3;
  }, null, { timeout: 30000, polling: 200 });
  const c0 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.waitForFunction((c) => document.getElementById('video').currentTime > c + 1, c0, { timeout: 15000, polling: 200 });
  await page.goto(`${sreda.base}/`);

  const ended = await sreda.api('POST', `/api/events/${live.id}/end`, undefined, sreda.token);
  assert.equal(ended.status, 200, ended.text);
  // Ended, then archived as soon as its recording is closed: either counts as ended for the guide.
  await waitFor(async () => ['ended', 'archived'].includes((await sreda.publicEvent(live.id)).state),
    { timeoutMs: 15000, what: 'the event to end' });
  await viewer.close();
  await page.reload();
  await item(page, 'archive', LIVE).waitFor({ timeout: 15000 });
  assert.equal(await page.locator('#live li.empty').textContent(), 'Пока ничего нет.');
  // Archived, its card shows the recording's poster, length and stars.
  const card = item(page, 'archive', LIVE);
  await waitFor(async () => {
    if (await card.locator('.record-facts').count() && await card.locator('img.poster').count() &&
      await card.locator('img.poster').evaluate((img) => img.complete && img.naturalWidth > 0)) return true;
    await page.reload();
    await card.waitFor({ timeout: 15000 });
    return false;
  }, { timeoutMs: 45000, intervalMs: 1000, what: "the archive card with the recording's length and poster" });
  assert.match(await card.locator('.record-facts').textContent(), /^Запись: \d+ мин · ★ 4,0 из 5 \(оценок: 1\)$/);
  assert.match(await card.locator('img.poster').getAttribute('src'), new RegExp(`^/archive/${live.id}/poster\\.jpg`));
  assert.deepEqual(await seriousViolations(page), [], 'axe: the guide with an archived event');
  await shot(page, 'guide-archive-1280.png');
  assert.deepEqual(errors, []);
  await page.close();
});

test('axe-core: a watch page has no serious or critical violations', async () => {
  const { page, errors } = await openPage(browser, sreda.base, `/watch/${concert.id}`);
  await waitFor(async () => (await page.textContent('#title')) === CONCERT, { what: 'the title' });
  await page.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page of a coming event');
  await shot(page, 'watch-scheduled-1280.png');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px');
  await shot(page, 'watch-scheduled-360.png');
  assert.deepEqual(errors, []);
  await page.close();
});

test('English follows the browser\'s language', async () => {
  const english = await launchBrowser({ timezoneId: TZ, locale: 'en-GB' });
  try {
    const { page, errors } = await openPage(english, sreda.base, '/');
    await item(page, 'upcoming', CONCERT).waitFor({ timeout: 15000 });
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.textContent('#upcoming-h'), 'Coming up');
    assert.equal(await page.textContent('#live-h'), 'Live now');
    assert.equal(await item(page, 'upcoming', CONCERT).locator('a.ics').textContent(), 'Add to my calendar');
    assert.match(await item(page, 'upcoming', CONCERT).locator('.countdown').textContent(), /^\(in 2 h \d{1,2} min\)$/);
    assert.equal(await page.getAttribute('#setting-lang-en', 'aria-pressed'), 'true');
    assert.deepEqual(await seriousViolations(page), [], 'axe: the guide in English');
    assert.deepEqual(errors, []);
  } finally {
    await english.close();
  }
});

test('larger text and high contrast are remembered; focus is visible; 360 px; reduced motion', async () => {
  const { page, errors } = await openPage(browser, sreda.base, '/');
  await item(page, 'upcoming', CONCERT).waitFor({ timeout: 15000 });
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).scrollBehavior), 'smooth');
  await page.emulateMedia({ reducedMotion: 'reduce' });
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).scrollBehavior), 'auto',
    'no smooth scrolling when the viewer asks for reduced motion');

  // Keyboard: the switches come first, with a visible focus; Space toggles them.
  assert.ok(await tabTo(page, 'setting-large'), 'Tab reaches "larger text"');
  assert.ok(await focusVisible(page));
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'setting-contrast');
  await page.keyboard.press('Space');
  await page.reload();
  await item(page, 'upcoming', CONCERT).waitFor({ timeout: 15000 });
  assert.deepEqual(await page.evaluate(() => [...document.documentElement.classList].sort()), ['high-contrast', 'large-text']);
  assert.equal(await page.getAttribute('#setting-large', 'aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(0, 0, 0)');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the guide in high contrast and larger text');

  // Touch targets: every link and button in the programme is at least 44 px high.
  const small = await page.evaluate(() => [...document.querySelectorAll('main a, main button, main select, main input, #settings button')]
    .filter((e) => e.getBoundingClientRect().height < 44).map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(small, [], 'targets of at least 44 px');

  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px (larger text)');
  await shot(page, 'guide-360-large-contrast.png');
  await page.click('#setting-large');
  await page.click('#setting-contrast');
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px');
  await shot(page, 'guide-360.png');
  assert.deepEqual(errors, []);
  await page.close();
});
