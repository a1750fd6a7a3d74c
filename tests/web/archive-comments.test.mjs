// Browser test: the recording replays the comments at their moment. Comments are posted on the live watch
// page a few seconds of media apart while ffmpeg publishes; one is hidden by a curator; the event ends and is
// archived. The archived /watch page plays the recording: each visible comment appears only once playback's
// media time has reached its media_ms (and soon after), the hidden one never appears, seeking back and
// forth shows the right set, a comment hidden meanwhile goes, and the rating can still be given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { seriousViolations } from './lib/pages.mjs';

const PUBLISH_S = 16;
const TEXTS = ['Первый вопрос', 'Скрытое сообщение', 'Третий отзыв'];
const HIDDEN = TEXTS[1];

let sreda;
let publisher;
let browser;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Дом культуры', 'Вечер романса', 5));
  browser = await f.launch();
  publisher = f.publish(studio, PUBLISH_S);  // last: its seconds are the test's, not Chromium's start-up
});

// Seconds of media in the live source playlist (segments and the parts after the last one).
async function liveMediaMs() {
  const r = await fetch(`${sreda.base}/live/${event.id}/source/index.m3u8`);
  if (!r.ok) return 0;
  const text = await r.text();
  const sum = (re) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  const tail = text.includes('#EXTINF') ? text.slice(text.lastIndexOf('#EXTINF')) : text;
  return (sum(/#EXTINF:([0-9.]+)/g) + [...tail.matchAll(/#EXT-X-PART:DURATION=([0-9.]+)/g)].reduce((a, m) => a + Number(m[1]), 0)) * 1000;
}

test('a recording shows each comment when playback reaches its moment; a hidden one never', async (t) => {
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'live' });
  await waitFor(async () => (await liveMediaMs()) > 1500, { what: 'media in the live playlist' });

  const live = await browser.newPage();
  const errors = [];
  live.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  await live.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
  await live.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  await live.fill('#nick', 'Зритель из зала');
  for (const text of TEXTS) {
    const from = await liveMediaMs();
    await live.fill('#comment-text', text);
    await live.click('#comment-form button[type=submit]');
    await live.locator('#comments li', { hasText: text }).waitFor({ timeout: 30000 });
    // The next comment a few seconds of media later.
    if (text !== TEXTS[TEXTS.length - 1]) await waitFor(async () => (await liveMediaMs()) > from + 3500, { what: 'more media' });
  }
  await live.close();

  await waitFor(async () => !publisher.running(), { timeoutMs: 60000, what: 'the publisher to finish' });
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'intermission', { what: 'intermission' });
  const end = await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token);
  assert.equal(end.status, 200, end.text);
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'archived', { what: 'archived' });

  const all = (await sreda.api('GET', `/api/events/${event.id}/comments`, undefined, sreda.token)).json.comments;
  assert.equal(all.length, 3);
  const hidden = all.find((c) => c.text === HIDDEN);
  const r = await sreda.api('POST', `/api/events/${event.id}/comments/${hidden.id}/hide`, undefined, sreda.token);
  assert.equal(r.status, 200, r.text);
  const visible = (await sreda.api('GET', `/api/public/events/${event.id}/comments?from_ms=0`)).json.comments;
  assert.deepEqual(visible.map((c) => c.text), [TEXTS[0], TEXTS[2]]);
  for (const c of all) assert.ok(Number.isInteger(c.media_ms), `media_ms of ${c.text}: ${c.media_ms}`);
  t.diagnostic(`media_ms: ${all.map((c) => `${c.text}=${c.media_ms}`).join(', ')}`);
  // Two waits of > 3.5 s of the page's media time lie between them; that clock (the player's position) and
  // the server's stamp differ by up to a part or two, so the stamps are ≥ 3 s apart, not the 7 s the waits
  // suggest (5 s was asserted before and failed at 4.93 s under load). ≥ 3 s is what the replay checks
  // below need: the midpoint is ≥ 1.5 s after the first comment, its allowed lateness.
  assert.ok(visible[1].media_ms - visible[0].media_ms > 3000, 'the comments are seconds apart');

  const page = await browser.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('response', (res) => { if (res.status() >= 400) errors.push(`HTTP ${res.status()} ${res.url()}`); });
  await page.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'archived', { what: 'state "archived"' });
  await page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.isVisible('#comment-form'), false, 'no comment form under a recording');
  assert.equal(await page.locator('#comments li').count(), 0, 'no comment before playback');
  assert.equal(await page.isVisible('#replay-note'), true, 'the page says how comments come in a recording');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page of a recording');
  // Every comment put on the page, with the playback media time at that moment.
  await page.evaluate(() => {
    window.seen = [];
    new MutationObserver((records) => {
      for (const rec of records) for (const n of rec.addedNodes) {
        if (n.nodeType !== 1) continue;
        window.seen.push({ text: n.querySelector('.text').textContent, at: window.sredaPlayer.mediaMs() });
      }
    }).observe(document.getElementById('comments'), { childList: true });
  });

  await page.click('#play');
  const lastMs = visible[1].media_ms;
  await page.waitForFunction((ms) => {
    const v = document.getElementById('video');
    return v.ended || (window.sredaPlayer.mediaMs() !== null && window.sredaPlayer.mediaMs() > ms + 1500);
  }, lastMs, { timeout: 60000, polling: 100 });
  const startMs = await page.evaluate(() => window.sredaPlayer.mediaStartMs);
  t.diagnostic(`media time at currentTime 0: ${startMs} ms`);
  // The recording starts with the event's media clock: its first keyframe after the 500 ms headroom.
  assert.ok(startMs >= 0 && startMs <= 2000, `media time at the recording's start ${startMs}`);
  const seen = await page.evaluate(() => window.seen);
  t.diagnostic(`appeared at: ${seen.map((s) => `${s.text}@${Math.round(s.at)}`).join(', ')}`);
  assert.deepEqual(seen.map((s) => s.text), [TEXTS[0], TEXTS[2]], 'each visible comment once, in order; never the hidden one');
  for (const [i, s] of seen.entries()) {
    assert.ok(s.at >= visible[i].media_ms, `${s.text} appeared at ${s.at}, before its moment ${visible[i].media_ms}`);
    assert.ok(s.at <= visible[i].media_ms + 1500, `${s.text} appeared at ${s.at}, late for ${visible[i].media_ms}`);
  }

  // Seeking back before the second comment leaves only the first; forward again shows both.
  const shownAt = async (ms) => {
    await page.evaluate((sec) => { document.getElementById('video').currentTime = sec; }, (ms - startMs) / 1000);
    await page.waitForFunction((want) => Math.abs(window.sredaPlayer.mediaMs() - want) < 600, ms, { timeout: 10000 });
    const now = await page.evaluate(() => window.sredaPlayer.mediaMs());
    const want = visible.filter((c) => c.media_ms <= now).map((c) => c.text);
    await waitFor(async () => JSON.stringify(await page.locator('#comments .text').allTextContents()) === JSON.stringify(want),
      { what: `comments ${JSON.stringify(want)} at ${now} ms` });
    return want.length;
  };
  assert.equal(await shownAt(Math.max(startMs + 200, visible[0].media_ms - 1000)), 0);
  assert.equal(await shownAt((visible[0].media_ms + visible[1].media_ms) / 2), 1);
  assert.equal(await shownAt(visible[1].media_ms + 1000), 2);
  assert.equal(await page.locator('#comments li', { hasText: HIDDEN }).count(), 0);

  // A curator hides the first comment while the recording plays: it goes, and a seek does not bring it back.
  const first = all.find((c) => c.text === TEXTS[0]);
  const h = await sreda.api('POST', `/api/events/${event.id}/comments/${first.id}/hide`, undefined, sreda.token);
  assert.equal(h.status, 200, h.text);
  await page.locator('#comments li', { hasText: TEXTS[0] }).waitFor({ state: 'detached', timeout: 30000 });
  visible.shift();
  assert.equal(await shownAt(visible[0].media_ms + 1000), 1);
  assert.deepEqual(await page.locator('#comments .text').allTextContents(), [TEXTS[2]]);

  // A recording can still be rated.
  await page.click('#stars button:nth-child(4)');
  await page.locator('#rating-thanks').waitFor({ state: 'visible', timeout: 30000 });
  await page.locator('#rating-summary', { hasText: 'Средняя оценка 4,0 из 5 (оценок: 1)' }).waitFor({ timeout: 30000 });
  assert.deepEqual(errors, []);
});
