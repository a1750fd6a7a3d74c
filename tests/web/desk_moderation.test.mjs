// Browser tests for the curator's desk, moderation and archive (/desk): a real sreda, Debian's Chromium
// headless, a real ffmpeg publisher, comments and a rating sent over the real /ws channel (sreda.v1).
//   (a) a viewer's comment (sent over /ws) shows in the desk's moderation list as text; the curator hides it
//       and it disappears from the viewer's watch page, shows it again, bans the viewer from the event (with a
//       confirmation) and sets slow mode (a new viewer's welcome says so); a viewer's question is marked and
//       the curator marks it answered (the watch page shows it so); no serious axe violations
//   (b) the current slow mode is shown (also after a reload); the moderation log names the curator who hid the
//       comment; a word list with a word too long is refused beside the field, a good one survives a reload
//   (c) the desk's monitor counts the audience refusals by cause (the ban above); the event ends from it;
//       its recording shows in the archive with duration and size;
//       trim changes the public duration (and undo restores it); the MP4 downloads; delete asks first and
//       removes it; the rating is shown beside the event
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot } from './lib/pages.mjs';

const TITLE = 'Концерт камерного оркестра';
const PUBLISH_S = 12;
const VIEWER = 'viewer-test-0001';

let sreda;
let browser;
let publisher;
let event;
let desk;
let viewer;

fixture(async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Филармония', TITLE, 1));
  browser = await f.launch({ timezoneId: 'Europe/Moscow', acceptDownloads: true });
  viewer = await openPage(browser, sreda.base, `/watch/${event.id}`);
  desk = await openPage(browser, sreda.base, '/desk');
  await desk.page.fill('#username', 'admin');
  await desk.page.fill('#password', ADMIN_PASSWORD);
  await desk.page.click('#login-go');
  await desk.page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  // The studio goes live last: its PUBLISH_S seconds are the tests' (a Chromium that takes 15 s to start on a
  // busy machine used them all up when it started first).
  publisher = f.publish(studio, PUBLISH_S);
});

/** Runs `steps` (messages to send after the welcome) on a fresh /ws connection from `page`; returns what came back. */
function overWs(page, eventId, viewerId, steps) {
  return page.evaluate(({ eventId, viewerId, steps }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`, 'sreda.v1');
    const got = [];
    const timer = setTimeout(() => { ws.close(); reject(new Error(`no answer over /ws: ${JSON.stringify(got)}`)); }, 20000);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', event_id: eventId, viewer_id: viewerId, nick: 'Зритель <b>Иван</b>' }));
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      got.push(msg);
      if (msg.type === 'welcome') for (const s of steps) ws.send(JSON.stringify(s));
      // Done when every step has its answer: a comment comes back as "comment", a rating as "rated".
      const want = steps.map((s) => (s.type === 'rate' ? 'rated' : s.type));
      if (msg.type === 'error' || want.every((w) => got.some((g) => g.type === w))) {
        clearTimeout(timer);
        ws.close();
        resolve(got);
      }
    };
    ws.onclose = () => { clearTimeout(timer); resolve(got); };  // e.g. a banned viewer is shown the door
  }), { eventId, viewerId, steps });
}

const comment = (id) => `#mod-comment-${id}`;

test('a curator hides a comment (it goes from the watch page), shows it again, bans the viewer, sets slow mode', async () => {
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { what: 'the event to go live' });
  const text = 'Браво! <img src=x onerror="window.hacked=1">';
  const got = await overWs(viewer.page, event.id, VIEWER, [{ type: 'comment', text }, { type: 'rate', stars: 4 }]);
  const sent = got.find((m) => m.type === 'comment');
  assert.ok(sent, `the comment was accepted: ${JSON.stringify(got)}`);

  // The viewer's page shows it; so does the desk's moderation list (the live event is chosen by itself).
  const onWatch = viewer.page.locator('#comments li', { hasText: 'Браво!' });
  await onWatch.waitFor({ timeout: 30000 });
  assert.equal(await desk.page.inputValue('#mod-event'), String(event.id), 'the live event is chosen');
  const item = comment(sent.id);
  await desk.page.waitForSelector(item, { timeout: 15000 });
  assert.equal(await desk.page.textContent(`${item} .text`), text, 'shown as text');
  assert.equal(await desk.page.textContent(`${item} .nick`), 'Зритель <b>Иван</b>');
  assert.equal(await desk.page.locator('#moderation img, #moderation b').count(), 0, 'no markup from a viewer');
  assert.equal(await desk.page.evaluate(() => window.hacked), undefined);
  assert.deepEqual(await seriousViolations(desk.page), [], 'axe: the moderation panel');

  await desk.page.click(`${item} button[data-action="hide"]`);
  await waitFor(async () => (await desk.page.getAttribute(item, 'data-status')) === 'hidden', { what: 'the desk to show "hidden"' });
  await waitFor(async () => (await onWatch.count()) === 0, { what: 'the hidden comment to leave the watch page' });
  const stored = (await sreda.api('GET', `/api/events/${event.id}/comments`, undefined, sreda.token)).json.comments;
  assert.equal(stored.find((c) => c.id === sent.id).status, 'hidden');
  // The viewer is who the server says (the page's sreda_viewer cookie), not the viewer_id the client sent.
  const identity = stored.find((c) => c.id === sent.id).viewer_id;
  assert.notEqual(identity, VIEWER);
  assert.equal(await desk.page.evaluate(() => document.activeElement.dataset.action), 'unhide', 'the focus stays on the comment');

  await desk.page.click(`${item} button[data-action="unhide"]`);
  await waitFor(async () => (await desk.page.getAttribute(item, 'data-status')) === 'visible', { what: 'the desk to show it again' });
  await onWatch.waitFor({ timeout: 15000 });

  // A ban asks first; "No" bans nobody.
  await desk.page.click(`${item} button[data-action="ban-event"]`);
  await desk.page.waitForSelector('#confirm[open]');
  assert.match(await desk.page.textContent('#confirm-text'), /Запретить зрителю Зритель <b>Иван<\/b> писать комментарии к этому событию\?/);
  await desk.page.click('#confirm-no');
  assert.deepEqual((await sreda.api('GET', '/api/audience/bans', undefined, sreda.token)).json.bans, []);
  await desk.page.click(`${item} button[data-action="ban-event"]`);
  await desk.page.click('#confirm-yes');
  await desk.page.locator(`${item} .badge`, { hasText: 'заблокирован на этом событии' }).waitFor({ timeout: 10000 });
  const bans = (await sreda.api('GET', '/api/audience/bans', undefined, sreda.token)).json.bans;
  assert.deepEqual(bans.map((b) => [b.viewer_id, b.event_id, b.address]), [[identity, event.id, '127.0.0.1']]);
  await desk.page.locator('#mod-bans li', { hasText: `зритель ${identity}` }).waitFor({ timeout: 10000 });
  const refused = await overWs(viewer.page, event.id, VIEWER, [{ type: 'comment', text: 'ещё раз' }]);
  assert.ok(refused.some((m) => m.type === 'error' && m.code === 'banned'), `the banned viewer is refused: ${JSON.stringify(refused)}`);

  await desk.page.selectOption('#mod-slow', '30');
  await desk.page.click('#mod-slow-set');
  await waitFor(async () => (await desk.page.textContent('#status')) === 'Медленный режим: один комментарий в 30 секунд.',
    { what: 'the slow-mode notice' });
  // The ban holds the viewer's address too (every viewer of this test writes from 127.0.0.1): lifted first.
  await desk.page.click('#mod-bans button[data-action="unban"]');
  await waitFor(async () => (await sreda.api('GET', '/api/audience/bans', undefined, sreda.token)).json.bans.length === 0,
    { what: 'the ban to be lifted' });
  // The ban closed this page's own panel too (the page is that viewer). A new viewer from here on: no cookie,
  // the page loaded again (a new cookie, a new identity).
  await viewer.page.context().clearCookies();
  await viewer.page.reload({ waitUntil: 'load' });
  await viewer.page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  const welcome = (await overWs(viewer.page, event.id, 'viewer-test-0002', [])).find((m) => m.type === 'welcome');
  assert.equal(welcome.slow_mode_s, 30, 'a new viewer is told about slow mode');
  assert.notEqual(welcome.viewer_id, identity);

  // A viewer's question is marked on the desk; the curator marks it answered and the watch page shows it so.
  const asked = (await overWs(viewer.page, event.id, 'viewer-test-0003',
    [{ type: 'comment', text: 'Что будет на бис?', question: true }])).find((m) => m.type === 'comment');
  assert.ok(asked && asked.question, 'the question was accepted');
  const q = comment(asked.id);
  await desk.page.waitForSelector(`${q}[data-question="open"]`, { timeout: 15000 });
  assert.equal(await desk.page.textContent(`${q} .q-badge`), 'Вопрос');
  const qOnWatch = viewer.page.locator('#comments li.question', { hasText: 'Что будет на бис?' });
  await qOnWatch.waitFor({ timeout: 15000 });
  await desk.page.click(`${q} button[data-action="answered"]`);
  await waitFor(async () => (await desk.page.getAttribute(q, 'data-question')) === 'answered', { what: 'the desk to show "answered"' });
  assert.equal(await desk.page.textContent(`${q} .q-badge`), 'Вопрос · ответ дан');
  await waitFor(async () => (await qOnWatch.getAttribute('class')).includes('answered'), { what: 'answered on the watch page' });
  assert.equal(await qOnWatch.locator('.q-badge').textContent(), 'Вопрос — ответ дан');
  assert.deepEqual(await seriousViolations(desk.page), [], 'axe: a question in the moderation panel');
  await shot(desk.page, 'desk-moderation-1280.png');
});

test('the desk shows the slow mode and the moderation log; an edited word list survives a reload', async () => {
  const page = desk.page;
  // Slow mode as the server has it (set to 30 s above), also after a reload.
  await waitFor(async () => (await page.textContent('#mod-slow-now')) === 'Сейчас: один комментарий в 30 секунд.',
    { what: 'the current slow mode' });
  // The log: who hid which comment of which event.
  const hide = page.locator('#mod-log li[data-action="hide"]');
  await hide.first().waitFor({ timeout: 15000 });
  assert.match(await hide.first().textContent(), new RegExp(`· admin скрыт комментарий: № \\d+ · «${TITLE}»$`));
  assert.equal(await page.locator('#mod-log li[data-action="slow_mode"]').first().textContent().then((x) => x.split(' · ')[1]),
    'admin медленный режим: один комментарий в 30 секунд');

  // A word too long is explained beside the field and saves nothing.
  await page.selectOption('#words-language', 'ru');
  await page.fill('#words-words', `глупость\n${'я'.repeat(60)}`);
  await page.click('#words-save');
  await waitFor(async () => (await page.textContent('#words-words-error')).startsWith('Каждое слово — от 1 до 100 байт'),
    { what: 'the error beside the word list' });
  assert.equal(await page.getAttribute('#words-words', 'aria-invalid'), 'true');
  // That refusal is the one HTTP error the desk may have had: the server's answer, shown beside the field.
  const refused = desk.errors.findIndex((e) => /^HTTP 422 .*\/api\/audience\/words$/.test(e));
  assert.ok(refused >= 0, `the 422 is in the page's log: ${desk.errors}`);
  desk.errors.splice(refused, 1);
  assert.deepEqual((await sreda.api('GET', '/api/audience/words', undefined, sreda.token)).json.words, {});

  await page.fill('#words-words', 'Глупость\n  дурак  \n\n');
  await page.click('#words-save');
  await waitFor(async () => (await page.textContent('#status')) === 'Список слов (Русский) сохранён: 2.', { what: 'the "saved" notice' });
  assert.equal(await page.getAttribute('#words-words', 'aria-invalid'), null, 'the error is gone');
  await page.locator('#mod-log li[data-action="word_list"]', { hasText: 'admin список слов: ru, слов: 2' }).waitFor({ timeout: 10000 });
  assert.deepEqual(await seriousViolations(page), [], 'axe: slow mode, word list and log');

  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 15000 });
  await waitFor(async () => (await page.inputValue('#words-words')) === 'глупость\nдурак', { what: 'the saved word list after a reload' });
  await waitFor(async () => (await page.textContent('#mod-slow-now')) === 'Сейчас: один комментарий в 30 секунд.',
    { what: 'the slow mode after a reload' });
  assert.equal(await page.inputValue('#mod-slow'), '30', 'the choice shows the current slow mode');
  await page.selectOption('#words-language', 'en');
  assert.equal(await page.inputValue('#words-words'), '', 'the English list is its own');
  await shot(page, 'desk-words-log-1280.png');
});

test('the archive shows a recording with duration and size; trim, undo, download, delete (asked first)', async (t) => {
  const page = desk.page;
  await waitFor(async () => !publisher.running(), { timeoutMs: 60000, what: 'the publisher to finish' });
  const card = `#monitor-${event.id}`;
  await page.waitForSelector(card, { timeout: 15000 });
  // The monitor counts the audience refusals of the last minutes by cause: the banned viewer's were above.
  await page.locator(`${card} dd[data-fact="refusals"]`, { hasText: /заблокированы \d+/ }).waitFor({ timeout: 15000 });
  await page.locator(`${card} dt`, { hasText: 'Отказы зрителям за 10 мин' }).waitFor({ timeout: 5000 });
  await page.click(`${card} button.danger`);
  await page.click('#confirm-yes');
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'archived', { what: 'the event to be archived' });

  const rec = `#rec-${event.id}`;
  await page.waitForSelector(`${rec} dd[data-fact="size"]`, { timeout: 30000 });
  const fact = (name) => page.textContent(`${rec} dd[data-fact="${name}"]`);
  const details = (await sreda.api('GET', `/api/events/${event.id}/recording`, undefined, sreda.token)).json;
  const clock = (s) => `${Math.floor(Math.round(s) / 60)}:${String(Math.round(s) % 60).padStart(2, '0')}`;
  t.diagnostic(`desk: ${await fact('public')} for viewers, ${await fact('duration')} recorded, ${await fact('size')}`);
  assert.equal(await fact('public'), clock(details.public_duration_s));
  assert.ok(Math.abs(details.public_duration_s - PUBLISH_S) <= 3, `recorded ${details.public_duration_s} s of ${PUBLISH_S}`);
  assert.equal(await fact('size'), `${(details.bytes / 1e6).toLocaleString('ru-RU', { maximumFractionDigits: details.bytes < 1e7 ? 1 : 0 })} МБ`);
  assert.ok(details.bytes > 10000, `${details.bytes} bytes`);
  assert.equal(await fact('state'), 'готова');
  assert.match(await fact('rating'), /^★ 4 из 5 \(оценок: 1\)$/);
  assert.match(await page.textContent(`#rating-${event.id}`), /Концерт камерного оркестра — ★ 4 из 5 \(оценок: 1\)/);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the archive panel');
  await shot(page, 'desk-archive-1280.png');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px with the moderation and archive panels');
  await shot(page, 'desk-archive-360.png');
  await page.setViewportSize({ width: 1280, height: 900 });

  // A bad time is explained beside the field; a good one trims what viewers see.
  await page.fill(`${rec}-start`, 'полминуты');
  await page.click(`${rec}-trim`);
  assert.equal(await page.textContent(`${rec}-start-error`), 'Введите время как минуты:секунды, например 2:30.');
  assert.equal(await page.evaluate(() => document.activeElement.id), `rec-${event.id}-start`);
  const before = (await sreda.publicEvent(event.id)).duration_s;
  await page.fill(`${rec}-start`, '0:06');
  await page.click(`${rec}-trim`);
  await waitFor(async () => (await sreda.publicEvent(event.id)).duration_s < before - 3, { what: 'a shorter public duration' });
  const trimmed = (await sreda.publicEvent(event.id)).duration_s;
  await waitFor(async () => (await fact('public')) === clock(trimmed), { what: `the desk to show ${clock(trimmed)}` });
  t.diagnostic(`public duration ${before} s → ${trimmed} s after "start at 0:06"`);
  assert.ok(before - trimmed >= 3 && before - trimmed <= 7, `trimmed ${before - trimmed} s`);
  await page.click(`${rec}-untrim`);
  await waitFor(async () => (await fact('public')) === clock(before), { what: 'the undone trim' });
  assert.equal((await sreda.publicEvent(event.id)).duration_s, before);
  assert.equal(await page.inputValue(`${rec}-start`), '');

  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.click(`${rec}-download`)]);
  assert.equal(download.suggestedFilename(), `event-${event.id}-source.mp4`);
  const size = statSync(await download.path()).size;
  t.diagnostic(`downloaded MP4: ${size} bytes`);
  assert.ok(size > 10000, `MP4 of ${size} bytes`);

  // A session that has ended meanwhile (a token the server no longer knows): the download brings the login back
  // with why, as every other desk call does, and logging in again shows the recording.
  await page.evaluate(() => sessionStorage.setItem('sreda.desk.token', 'a-session-that-ended'));
  await page.click(`${rec}-download`);
  await page.waitForSelector('#login-section:not([hidden])', { timeout: 15000 });
  assert.equal(await page.textContent('#login-error'), 'Сессия закончилась. Войдите снова.');
  const refused = desk.errors.findIndex((e) => e.startsWith('HTTP 401 ') && e.includes(`/api/events/${event.id}/recording.mp4`));
  assert.ok(refused >= 0, `the server refused the ended session: ${desk.errors}`);
  desk.errors.splice(refused, 1);
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('#login-go');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  await page.waitForSelector(`${rec}-delete`, { timeout: 30000 });

  await page.click(`${rec}-delete`);
  await page.waitForSelector('#confirm[open]');
  assert.equal(await page.textContent('#confirm-text'), `Удалить запись «${TITLE}» навсегда? Её нельзя будет вернуть.`);
  await page.keyboard.press('Enter');  // the focus is on "No"
  await page.waitForSelector('#confirm', { state: 'hidden' });
  assert.equal((await sreda.api('GET', `/api/events/${event.id}/recording`, undefined, sreda.token)).status, 200, '"No" keeps it');
  await page.click(`${rec}-delete`);
  await page.click('#confirm-yes');
  await page.waitForSelector(rec, { state: 'detached', timeout: 15000 });
  await waitFor(async () => (await page.textContent('#status')) === `Запись «${TITLE}» удалена.`, { what: 'the "deleted" notice' });
  assert.equal((await sreda.api('GET', `/api/events/${event.id}/recording`, undefined, sreda.token)).status, 404);
  assert.equal((await sreda.publicEvent(event.id)).state, 'ended');
  assert.deepEqual([...desk.errors, ...viewer.errors], [], 'no errors in the pages');
  assert.deepEqual([...desk.foreign, ...viewer.foreign], [], 'nothing from elsewhere');
});
