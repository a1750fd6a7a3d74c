// Browser tests for "Real time" on the watch page (issue 24): a real sreda (webrtc.local_addresses 127.0.0.1,
// webrtc.max_whep_viewers 1), a real ffmpeg publisher (RTMP), Debian's Chromium headless.
//   (a) an event not marked real-time offers only the big Play (the simple path), no "Real time"
//   (b) marked real-time: the first viewer who chooses "Real time" plays over WHEP (frames decoded); the
//       second finds no place (503), says so in words and plays LL-HLS by itself (hls.js, time advancing)
// (b) needs the event's realtime flag and whep_url (the HTTP part) and the WHEP back end: without the flag it
// is skipped; without the back end the server refuses every viewer (503), and the test checks that the
// first viewer falls back by itself, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, WEBRTC_ARGS } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf, seriousViolations } from './lib/pages.mjs';
import { playsHls } from './lib/golive.mjs';

let sreda;
let browser;
let plain;      // an event without real time
let realtime;   // an event the curator marked real-time, its studio publishing

const f = fixture({ env: { SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1', SREDA_WEBRTC_MAX_WHEP_VIEWERS: '1' } }, async () => {
  ({ sreda } = f);
  ({ event: plain } = await f.studioWithEvent('Дом культуры', 'Концерт хора', 60));
  const { studio, event } = await f.studioWithEvent('Библиотека №3', 'Мастер-класс: вопросы и ответы', 2);
  realtime = event;
  f.publish(studio, 150);
  browser = await f.launch({ timezoneId: 'Europe/Moscow', extraArgs: WEBRTC_ARGS });
});

const openPage = (path, opts) => openPageOf(browser, sreda.base, path, opts);

test('an event without real time offers only the big Play', async () => {
  const { page, errors } = await openPage(`/watch/${plain.id}`);
  await waitFor(async () => (await page.textContent('#title')) === 'Концерт хора', { what: 'the event loaded' });
  assert.equal(await page.isVisible('#play'), true);
  assert.equal(await page.isHidden('#realtime'), true, 'no "Real time" choice');
  assert.deepEqual(errors, []);
  await page.close();
});

test('real time: one place; the second viewer plays LL-HLS by itself and says why', async (t) => {
  const patched = await sreda.api('PATCH', `/api/events/${realtime.id}`, { realtime: true }, sreda.token);
  const pub = await sreda.publicEvent(realtime.id);
  if (patched.status !== 200 || pub.realtime !== true || !pub.whep_url) {
    return t.skip(`no real-time flag yet (PATCH realtime → ${patched.status}; public realtime=${pub.realtime}, whep_url=${pub.whep_url})`);
  }
  await waitFor(async () => (await sreda.publicEvent(realtime.id)).state === 'live', { timeoutMs: 60000, what: 'the event live' });
  // Is there a WHEP back end? Without one the server says so with 503 for every offer.
  const probe = await fetch(new URL(pub.whep_url, sreda.base), { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
  const probeJson = await probe.json().catch(() => ({}));
  const noBackEnd = probe.status === 503 && probeJson.error && probeJson.error.code === 'webrtc_unavailable';

  const first = await openPage(`/watch/${realtime.id}`, { ignore: [/^503 .*\/whep\//] });
  await waitFor(async () => first.page.isVisible('#realtime-toggle'), { what: 'the "Real time" choice' });
  assert.equal(await first.page.isVisible('#play'), true, 'the big Play stays');
  assert.deepEqual(await seriousViolations(first.page), []);
  await first.page.click('#realtime-toggle');
  if (noBackEnd) {
    t.diagnostic('no WHEP back end in this build: every viewer gets 503; checked that the first falls back by itself');
    await waitFor(async () => (await first.page.getAttribute('#realtime-status', 'data-key')) === 'watch.realtime.unavailable',
      { timeoutMs: 20000, what: 'the words for a server without real time' });
    assert.equal(await first.page.textContent('#realtime-status'),
      'Показ без задержки сейчас недоступен. Показываем обычным способом, с задержкой в несколько секунд.');
    await playsHls(first.page, 'the viewer refused real time');
    assert.equal(await first.page.getAttribute('#realtime-toggle', 'aria-pressed'), 'false');
    assert.deepEqual(first.errors, []);
    await first.page.close();
    return;
  }
  await waitFor(() => first.page.evaluate(async () => (await window.sredaPlayer.whep.framesDecoded()) > 0),
    { timeoutMs: 30000, what: 'the first viewer to decode frames over WHEP' });
  assert.equal(await first.page.getAttribute('#realtime-toggle', 'aria-pressed'), 'true');
  assert.equal(await first.page.evaluate(() => window.sredaPlayer.hls), null);

  const second = await openPage(`/watch/${realtime.id}`, { ignore: [/^503 .*\/whep\//] });
  await waitFor(async () => second.page.isVisible('#realtime-toggle'), { what: 'the "Real time" choice (second viewer)' });
  await second.page.click('#realtime-toggle');
  await waitFor(async () => (await second.page.getAttribute('#realtime-status', 'data-key')) === 'watch.realtime.busy',
    { timeoutMs: 20000, what: 'the second viewer told real time is full' });
  await playsHls(second.page, 'the second viewer');
  assert.equal(await second.page.getAttribute('#realtime-toggle', 'aria-pressed'), 'false');
  assert.deepEqual(await seriousViolations(second.page), []);
  // The first still plays in real time.
  const n = await first.page.evaluate(() => window.sredaPlayer.whep.framesDecoded());
  await waitFor(async () => (await first.page.evaluate(() => window.sredaPlayer.whep.framesDecoded())) > n,
    { what: 'the first viewer still decoding over WHEP' });
  assert.deepEqual(first.errors, []);
  assert.deepEqual(second.errors, []);
  await first.page.close();
  await second.page.close();
});
