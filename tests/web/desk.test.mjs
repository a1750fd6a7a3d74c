// Browser tests for the curator's desk (/desk): a real sreda, Debian's Chromium headless, a real ffmpeg.
// The tests run in order on one page, like one curator's session:
//   (a) logged out: no serious axe violations; a wrong password is explained; log in by keyboard only
//   (b) create a studio, see its key and OBS settings, copy the key, issue a new key (with a confirmation)
//   (c) an event with a bad time shows the server's error beside the field; fixed, it is in the list and the week
//   (d) ffmpeg publishes with the key and server shown on the page; the monitor shows "live" with a bitrate;
//       a wrong key and an API flood show on the monitor as the server's refusals, in words
//   (e) edit/reschedule and cancel an event
//   (f) larger text, high contrast and English are remembered across a reload; 360 px has no horizontal
//       scroll; log out
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher, waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot, tabTo, focusVisible } from './lib/pages.mjs';

const TZ = 'Europe/Moscow';
const STUDIO = 'Музыкальная школа № 1';
const TITLE = 'Вечер фортепианной музыки';

let sreda;
let browser;
let publisher;
let page;
let errors;
let foreign;

// 127.0.0.1 is a trusted proxy here: the test's API flood names another client (X-Forwarded-For), so the
// server's per-address rate limit refuses it and not the page. The test keeps its own token (sreda.token) to
// check what the page did through the API.
const f = fixture({ env: { SREDA_SERVER_TRUSTED_PROXIES: '127.0.0.1/32' } }, async () => {
  ({ sreda } = f);
  browser = await f.launch({ timezoneId: TZ });
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sreda.base });
  // A wrong password and a bad time are part of the test: their 401 and 422 are expected.
  ({ page, errors, foreign } = await openPage(browser, sreda.base, '/desk',
    { ignore: [/^401 .*\/api\/login$/, /^422 .*\/api\/events$/] }));
});

/** "YYYY-MM-DDTHH:MM" in Moscow time, `minutes` from now (what a curator types into the form). */
function moscowInput(minutes) {
  const d = new Date(Date.now() + minutes * 60000);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

async function studioFromApi() {
  const r = await sreda.api('GET', '/api/studios', undefined, sreda.token);
  return r.json.studios.find((s) => s.name === STUDIO);
}

async function eventFromApi(title) {
  const r = await sreda.api('GET', '/api/events', undefined, sreda.token);
  return r.json.events.find((e) => e.title === title);
}

test('logged out: accessible; a wrong password is explained; logging in works by keyboard alone', async () => {
  await page.waitForSelector('#login-section:not([hidden])');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the login page');
  await shot(page, 'desk-login-1280.png');

  assert.ok(await tabTo(page, 'username'), 'Tab reaches the user name');
  assert.ok(await focusVisible(page), 'the focus is visible on the user name');
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await page.textContent('#login-error')) === 'Неверное имя пользователя или пароль.',
    { timeoutMs: 10000, what: 'the wrong-password message' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password', 'the focus goes back to the password');

  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#who'), 'Вы вошли как admin');
  await waitFor(async () => (await page.evaluate(() => document.activeElement.id)) === 'monitor-h',
    { timeoutMs: 10000, what: 'the focus to move into the desk' });
  assert.equal(await page.isHidden('#login-section'), true);
});

test('a curator creates a studio, sees the key and the OBS settings, copies the key and issues a new one', async () => {
  await page.fill('#studio-name', STUDIO);
  await page.click('#studio-form button[type=submit]');
  await waitFor(async () => (await page.textContent('#status')).includes(`Студия «${STUDIO}» создана.`),
    { timeoutMs: 10000, what: 'the "studio created" notice' });
  const studio = await studioFromApi();
  assert.ok(studio, 'the studio is in the API');
  const base = `#studio-${studio.id}`;
  assert.equal(await page.textContent(`${base} h3`), STUDIO);

  // The key is hidden until asked for; the server URL is the one the server really listens on.
  assert.equal(await page.getAttribute(`${base}-key`, 'type'), 'password');
  assert.equal(await page.inputValue(`${base}-rtmp`), `rtmp://127.0.0.1:${sreda.rtmpPort}/live`);
  await page.click(`${base}-show`);
  assert.equal(await page.getAttribute(`${base}-show`, 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute(`${base}-key`, 'type'), 'text');
  assert.equal(await page.inputValue(`${base}-key`), studio.stream_key);
  assert.equal(await page.inputValue(`${base}-srt`), `srt://127.0.0.1:${sreda.srtPort}?streamid=publish:${studio.stream_key}`);

  await page.click(`${base} button[aria-label="Копировать: Ключ потока"]`);
  await waitFor(async () => (await page.textContent('#status')) === 'Скопировано: Ключ потока',
    { timeoutMs: 5000, what: 'the "copied" notice' });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), studio.stream_key, 'the key is on the clipboard');

  // A new key: asked first; "No" keeps the old one, "Yes" replaces it.
  await page.click(`${base}-rotate`);
  await page.waitForSelector('#confirm[open]');
  assert.match(await page.textContent('#confirm-text'), /Старый ключ перестанет работать/);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the confirmation dialog');
  await page.keyboard.press('Enter');  // the focus is on "No"
  await page.waitForSelector('#confirm', { state: 'hidden' });
  assert.equal((await studioFromApi()).stream_key, studio.stream_key, '"No" keeps the key');
  await page.click(`${base}-rotate`);
  await page.click('#confirm-yes');
  await waitFor(async () => (await page.textContent('#status')) === `У студии «${STUDIO}» новый ключ.`,
    { timeoutMs: 10000, what: 'the "new key" notice' });
  const rotated = await studioFromApi();
  assert.notEqual(rotated.stream_key, studio.stream_key);
  assert.equal(await page.inputValue(`${base}-key`), rotated.stream_key, 'the page shows the new key');

  // The artist's view link: the full URL with a copy button; "New artist's link" (asked first) replaces it.
  const viewUrl = (s) => new URL(s.view_url, sreda.base).href;
  await waitFor(async () => (await page.inputValue(`${base}-view`)) === viewUrl(rotated), { what: 'the view link' });
  await page.click(`${base} button[aria-label="Копировать: Ссылка для артиста"]`);
  await waitFor(async () => (await page.textContent('#status')) === 'Скопировано: Ссылка для артиста',
    { timeoutMs: 5000, what: 'the "copied" notice for the view link' });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), viewUrl(rotated));
  await page.click(`${base}-rotate-view`);
  await page.waitForSelector('#confirm[open]');
  assert.match(await page.textContent('#confirm-text'), /Старая ссылка перестанет открываться/);
  await page.click('#confirm-yes');
  await waitFor(async () => (await page.textContent('#status')) === `У студии «${STUDIO}» новая ссылка для артиста.`,
    { timeoutMs: 10000, what: 'the "new artist\'s link" notice' });
  const relinked = await studioFromApi();
  assert.notEqual(relinked.view_url, rotated.view_url);
  assert.equal(relinked.stream_key, rotated.stream_key, 'a new view link keeps the stream key');
  assert.equal(await page.inputValue(`${base}-view`), viewUrl(relinked), 'the page shows the new link');
  const old = await sreda.api('GET', `/api/studio-view/${studio.id}?${rotated.view_url.split('?')[1]}`);
  assert.equal(old.status, 404, 'the old link no longer opens');
});

test('an event with a bad time shows the error beside the field; fixed, it is in the list and the week', async () => {
  await page.fill('#event-title', TITLE);
  await page.fill('#event-description', 'Шопен и Рахманинов');
  await page.selectOption('#event-category', 'concert');
  await page.selectOption('#event-studio_id', { label: STUDIO });
  await page.fill('#event-starts_at', moscowInput(0));
  await page.fill('#event-ends_at', moscowInput(-60));  // ends before it starts
  await page.click('#event-save');
  await waitFor(async () => (await page.textContent('#event-ends_at-error')) === 'Окончание должно быть позже начала.',
    { timeoutMs: 10000, what: "the server's error beside the end time" });
  assert.equal(await page.getAttribute('#event-ends_at', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#event-ends_at', 'aria-describedby'), 'event-ends_at-error');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'event-ends_at', 'the focus goes to the field');
  assert.equal(await page.getAttribute('#event-starts_at', 'aria-invalid'), null, 'the start is fine');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk with a field error');
  assert.equal(await eventFromApi(TITLE), undefined, 'nothing was created');

  await page.fill('#event-ends_at', moscowInput(90));
  await page.click('#event-save');
  await waitFor(async () => (await page.textContent('#status')) === `Событие «${TITLE}» запланировано.`,
    { timeoutMs: 10000, what: 'the "scheduled" notice' });
  assert.equal(await page.textContent('#event-ends_at-error'), '');
  assert.equal(await page.getAttribute('#event-ends_at', 'aria-invalid'), null);
  const e = await eventFromApi(TITLE);
  assert.ok(e, 'the event is in the API');
  assert.equal(e.studio.name, STUDIO);
  assert.equal(e.description, 'Шопен и Рахманинов');
  await page.locator(`#event-${e.id} .title`, { hasText: TITLE }).waitFor({ timeout: 5000 });
  // The week: the studio's first day (today) holds the event with its Moscow start time.
  const hm = new Date(e.starts_at).toLocaleTimeString('ru-RU', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
  const today = await page.textContent(`#week section:has(h3:text-is("${STUDIO}")) .day >> nth=0`);
  assert.ok(today.includes(TITLE) && today.includes(hm), `today's cell "${today}" shows ${hm} ${TITLE}`);
  await shot(page, 'desk-1280.png');
});

test('ffmpeg publishes with the key shown on the page; the monitor shows "live" with a bitrate', async (t) => {
  const e = await eventFromApi(TITLE);
  const studio = await studioFromApi();
  const key = await page.inputValue(`#studio-${studio.id}-key`);
  const server = new URL((await page.inputValue(`#studio-${studio.id}-rtmp`)).replace(/^rtmp:/, 'http:'));
  publisher = f.track(new Publisher(key, Number(server.port), 60));
  const card = `#monitor-${e.id}`;
  await page.waitForSelector(card, { timeout: 30000 });
  const fact = (name) => page.textContent(`${card} dd[data-fact="${name}"]`);
  await waitFor(async () => (await fact('state')) === 'в эфире' && /^[1-9][\d\u00a0\u202f ]* кбит\/с$/.test(await fact('bitrate')),
    { timeoutMs: 30000, what: `the monitor to show "live" with a bitrate (publisher: ${publisher.log.join('')})` });
  assert.equal(await fact('protocol'), 'RTMP');
  await waitFor(async () => /^h264.*320×240$/i.test(await fact('video')), { timeoutMs: 15000, what: 'the video facts' });
  t.diagnostic(`monitor: ${await fact('bitrate')}, ${await fact('fps')} fps, ${await fact('video')}, ${await fact('audio')}`);
  assert.equal(await page.isHidden(`${card} .banner`), true, 'no "not connected" note');
  await page.locator(`#event-${e.id} .state`, { hasText: 'в эфире' }).waitFor({ timeout: 15000 });
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk with the live monitor');
});

test('the monitor shows the server\'s refusals of the last minutes by cause, in words', async () => {
  const e = await eventFromApi(TITLE);
  const card = `#monitor-${e.id}`;
  const fact = (name) => page.textContent(`${card} dd[data-fact="${name}"]`);
  await waitFor(async () => (await fact('web_refusals')) === 'нет' && (await fact('ingest_refusals')) === 'нет',
    { timeoutMs: 15000, what: 'no refusals yet' });
  // A studio with a wrong key (refused at once), and 100 API requests at once from one other client.
  const wrong = new Publisher('not-a-key-of-this-server', sreda.rtmpPort, 2);
  const flood = await Promise.all(Array.from({ length: 100 }, () => fetch(`${sreda.base}/api/public/events`,
    { headers: { 'x-forwarded-for': '203.0.113.9' } }).then(async (r) => { await r.arrayBuffer(); return r.status; })));
  const refused = flood.filter((s) => s === 429).length;
  assert.ok(refused >= 1, `some of the flood refused (${flood.join(',')})`);
  await page.locator(`${card} dd[data-fact="web_refusals"]`, { hasText: `слишком много запросов ${refused}` })
    .waitFor({ timeout: 15000 });
  await page.locator(`${card} dd[data-fact="ingest_refusals"]`, { hasText: /^RTMP: неверный ключ [1-9]$/ })
    .waitFor({ timeout: 30000 });
  assert.match(await page.textContent(`${card} div:has(> dd[data-fact="web_refusals"]) > dt`), /Отказы на сайте за 10 мин/);
  await wrong.stop();
  await publisher.stop();
});

test('a curator edits and reschedules an event, then cancels it (with a confirmation)', async () => {
  const studio = await studioFromApi();
  const later = await sreda.createEvent(studio, 'Лекция о русском авангарде', 24 * 60);
  await page.reload();  // the session lasts across a reload
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  const item = `#event-${later.id}`;
  await page.click(`${item} button:text-is("Изменить")`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'event-form-h');
  assert.equal(await page.inputValue('#event-title'), 'Лекция о русском авангарде');
  await page.fill('#event-title', 'Лекция о русском авангарде: Малевич');
  // Real time (WebRTC): a checkbox with its words, set here and shown in the list.
  assert.equal(await page.isChecked('#event-realtime'), false);
  await page.click('label[for="event-realtime"]');
  assert.equal(await page.textContent('label[for="event-realtime"]'), 'Реальное время для этого события (WebRTC, меньше секунды)');
  await page.fill('#event-starts_at', moscowInput(26 * 60));
  await page.fill('#event-ends_at', moscowInput(27 * 60));
  await page.click('#event-save');
  await waitFor(async () => (await page.textContent('#status')) === 'Событие «Лекция о русском авангарде: Малевич» сохранено.',
    { timeoutMs: 10000, what: 'the "saved" notice' });
  const moved = (await sreda.api('GET', `/api/events/${later.id}`, undefined, sreda.token)).json;
  assert.equal(moved.title, 'Лекция о русском авангарде: Малевич');
  assert.equal(moved.realtime, true, 'the checkbox reached the API');
  assert.equal((await sreda.api('GET', `/api/public/events/${later.id}`)).json.whep_url, `/whep/${later.id}`);
  await page.locator(`${item} .realtime`, { hasText: 'реальное время' }).waitFor({ timeout: 5000 });
  await page.click(`${item} button:text-is("Изменить")`);
  assert.equal(await page.isChecked('#event-realtime'), true, 'editing again shows it set');
  await page.click('#event-stop-edit');
  assert.ok(Math.abs(new Date(moved.starts_at) - (Date.now() + 26 * 3600000)) < 120000, `rescheduled to ${moved.starts_at}`);

  await page.click(`${item} button:text-is("Отменить событие")`);
  await page.click('#confirm-yes');
  await page.locator(`${item} .state`, { hasText: 'отменено' }).waitFor({ timeout: 10000 });
  assert.equal((await sreda.api('GET', `/api/events/${later.id}`, undefined, sreda.token)).json.state, 'cancelled');
});

test('larger text, high contrast and English are remembered; 360 px has no horizontal scroll; log out', async () => {
  await page.click('#setting-large');
  await page.click('#setting-contrast');
  await page.click('#setting-lang-en');
  assert.equal(await page.textContent('h1'), "Curator's desk");
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => [...document.documentElement.classList].sort()), ['high-contrast', 'large-text']);
  assert.equal(await page.getAttribute('#setting-large', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('#setting-contrast', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('h1'), "Curator's desk");
  assert.equal(await page.textContent('#logout'), 'Log out');
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize), '26px');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk in high contrast, larger text, English');

  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px (larger text)');
  await shot(page, 'desk-360-large-contrast-en.png');
  await page.click('#setting-large');
  await page.click('#setting-contrast');
  await page.click('#setting-lang-ru');
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px');
  await shot(page, 'desk-360.png');
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.click('#logout');
  await page.waitForSelector('#login-section:not([hidden])', { timeout: 10000 });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sreda.desk.token')), null);
  await page.reload();
  await page.waitForSelector('#login-section:not([hidden])', { timeout: 10000 });
  assert.equal(await page.isHidden('#app'), true, 'logged out stays logged out');
  assert.deepEqual(foreign, [], 'nothing is fetched from anywhere but the sreda server');
  assert.deepEqual(errors, [], 'no errors in the page');
});
