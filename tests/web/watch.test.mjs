// Browser tests for the viewer pages: a real sreda, a real ffmpeg publisher, Debian's Chromium headless.
//   (a) the watch page plays a live event (5 s of it without the buffer running dry or the source reloading;
//       hls.js reports latency; how long any wait lasted is scripts/bench/latency's figure, not asserted here);
//       paused a few seconds, "back to live" appears, and pressed (keyboard) it plays near the live edge again
//   (b) a scheduled event with no publisher shows the "starts at" banner and no error; once Play is pressed
//       the page starts playing by itself when the studio goes live
//   (c) the programme page lists the events
//   (d) the studio drops and comes back: the page says so and plays again by itself
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher, waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf, shot, seriousViolations } from './lib/pages.mjs';

const TZ = 'Europe/Moscow';
const LIVE_TITLE = 'Вечер фортепианной музыки';
const LATER_TITLE = 'Лекция о русском авангарде';

let sreda;
let publisher;
let browser;
let liveEvent;
let laterEvent;
let studioKey;

const f = fixture(async () => {
  ({ sreda } = f);
  const hall = await sreda.createStudio('Музыкальная школа № 1');
  const library = await sreda.createStudio('Библиотека на Садовой');
  liveEvent = await sreda.createEvent(hall, LIVE_TITLE, 5);
  laterEvent = await sreda.createEvent(library, LATER_TITLE, 180);
  // ~40 s of playing is what the tests need; every publisher is stopped in after() in any case.
  studioKey = hall.stream_key;
  publisher = f.publish(hall, 150);
  browser = await f.launch({ timezoneId: TZ });
});

/** A page that records its errors and every request that left the sreda origin. */
const openPage = (path) => openPageOf(browser, sreda.base, path);

test('the watch page plays a live event: 5 s of it with no stall or reload, hls.js reports latency', async (t) => {
  await waitFor(async () => (await sreda.publicEvent(liveEvent.id)).state === 'live',
    { timeoutMs: 30000, what: `event ${liveEvent.id} to be live (publisher log: ${publisher.log.join('')})` });
  await waitFor(async () => (await sreda.api('GET', `/live/${liveEvent.id}/master.m3u8`)).status === 200,
    { timeoutMs: 30000, what: 'the live master playlist' });

  const { page, errors, foreign } = await openPage(`/watch/${liveEvent.id}`);
  await waitFor(async () => (await page.textContent('#title')) === LIVE_TITLE, { what: 'the title' });
  assert.equal(await page.textContent('#studio'), 'Музыкальная школа № 1');
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'state "live"' });
  assert.equal(await page.evaluate(() => typeof window.Hls === 'function' && window.Hls.isSupported()), true,
    'hls.js is loaded from /vendor/hls.min.js and MSE is there');

  // Count stalls from the moment Play is pressed.
  await page.evaluate(() => {
    const v = document.getElementById('video');
    const s = (window.__stalls = { waitingSince: null, total: 0, longest: 0, count: 0, seeks: [], events: [] });
    // A 'waiting' while the player itself seeks is the seek, not a stall: the watch page jumps once to its
    // target latency right after the picture appears (live-pace.js), only into what is buffered, and Chromium
    // may say 'waiting' for the few ms it takes to decode up to the new position. A stall has no seek.
    v.addEventListener('waiting', () => {
      if (v.seeking) { s.seekWaits = (s.seekWaits || 0) + 1; return; }
      s.count++; s.waitingSince = performance.now();
    });
    // For diagnosing a failure: every seek (from → to) and the player's errors and restarts.
    let before = 0;
    v.addEventListener('timeupdate', () => { if (!v.seeking) before = v.currentTime; });
    v.addEventListener('seeking', () => s.seeks.push(`${before.toFixed(2)}→${v.currentTime.toFixed(2)}`));
    v.addEventListener('emptied', () => s.events.push('emptied (source reloaded)'));
    v.addEventListener('ratechange', () => s.events.push(`rate ${v.playbackRate}`));
    const end = () => {
      if (s.waitingSince === null) return;
      const d = performance.now() - s.waitingSince;
      s.total += d; s.longest = Math.max(s.longest, d); s.waitingSince = null;
    };
    v.addEventListener('playing', end);
    v.addEventListener('timeupdate', () => { if (!v.seeking && v.readyState >= 3) end(); });
  });
  await page.click('#play');
  const started = Date.now();
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 0 && !v.paused && v.readyState >= 3;
  }, null, { timeout: 30000, polling: 100 });
  t.diagnostic(`first frame ${Date.now() - started} ms after Play`);
  assert.equal(await page.isHidden('#play'), true, 'the Play button goes away while playing');
  assert.equal(await page.evaluate(() => document.getElementById('video').muted), false, 'sound is on');

  // Reset the stall counters (start-up buffering is not a stall), then play 5 s of media (a generous deadline:
  // what a viewer notices is the picture stopping — a 'waiting' event — or the player starting over).
  const m = await page.evaluate(async () => {
    const v = document.getElementById('video');
    const s = window.__stalls;
    Object.assign(s, { total: 0, longest: 0, count: 0, waitingSince: null, seeks: [], events: [] });
    const t0 = performance.now();
    const c0 = v.currentTime;
    while (v.currentTime - c0 < 5 && performance.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 100));
    const stillWaiting = s.waitingSince === null ? 0 : performance.now() - s.waitingSince;
    return {
      wall: (performance.now() - t0) / 1000, advance: v.currentTime - c0, paused: v.paused,
      stalls: s.count, stalledMs: s.total + stillWaiting, longestMs: Math.max(s.longest, stillWaiting),
      seeks: s.seeks.join(', ') || 'none', events: s.events.join(', ') || 'none',
    };
  });
  t.diagnostic(`over ${m.wall.toFixed(2)} s: currentTime +${m.advance.toFixed(2)} s, ` +
    `${m.stalls} waiting event(s), ${m.stalledMs.toFixed(0)} ms stalled (longest ${m.longestMs.toFixed(0)} ms)`);
  assert.equal(m.paused, false);
  assert.ok(m.advance >= 5, `5 s of the event played: currentTime advanced ${m.advance.toFixed(2)} s in ` +
    `${m.wall.toFixed(2)} s (seeks: ${m.seeks}; media events: ${m.events})`);
  assert.equal(m.stalls, 0, `no stall: ${m.stalls} waiting event(s), longest ${m.longestMs.toFixed(0)} ms ` +
    `(seeks: ${m.seeks}; media events: ${m.events})`);
  assert.ok(!m.events.includes('emptied'), `the player did not start over (media events: ${m.events})`);

  const lat = await waitFor(async () => {
    const l = await page.evaluate(() => {
      const h = window.sredaPlayer && window.sredaPlayer.hls;
      if (!h) return null;
      return { latency: h.latency, target: h.targetLatency, pdt: h.playingDate ? Date.now() - h.playingDate.getTime() : null };
    });
    return l && Number.isFinite(l.latency) && l.latency > 0 ? l : null;
  }, { timeoutMs: 10000, what: 'a finite hls.latency' });
  t.diagnostic(`hls.latency ${lat.latency.toFixed(2)} s (target ${Number(lat.target).toFixed(2)} s), ` +
    `Date.now() - playingDate ${lat.pdt === null ? 'n/a' : (lat.pdt / 1000).toFixed(2) + ' s'}`);
  assert.ok(lat.latency < 30, `latency ${lat.latency} s is sane`);

  // The page shows it; at the live edge there is no "back to live" button.
  const shownLatency = async () => {
    const m = (await page.textContent('#latency')).match(/^Отставание от эфира: (\d+,\d) с$/);
    return m ? Number(m[1].replace(',', '.')) : null;
  };
  await waitFor(async () => (await shownLatency()) !== null, { timeoutMs: 10000, what: 'the latency line' });
  await waitFor(async () => page.isHidden('#go-live'), { timeoutMs: 20000, what: 'no "back to live" at the live edge' });

  // Paused for a while, the viewer falls behind: "back to live" appears; pressed from the keyboard, it plays
  // from near the live edge again.
  await page.evaluate(() => document.getElementById('video').pause());
  await page.waitForSelector('#go-live:not([hidden])', { timeout: 30000 });
  const behind = await shownLatency();
  t.diagnostic(`paused: "back to live" shown at ${behind} s behind`);
  assert.equal(await page.textContent('#go-live'), 'К прямому эфиру');
  await page.focus('#go-live');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('video').paused, null, { timeout: 10000 });
  const target = await page.evaluate(() => window.sredaPlayer.hls.targetLatency);
  const back = await waitFor(async () => {
    const l = await shownLatency();
    return l !== null && l <= target + 3 && !(await page.getAttribute('#go-live', 'class')).includes('behind') ? l : null;
  }, { timeoutMs: 20000, what: `the latency to return near the target ${target} s` });
  t.diagnostic(`after "back to live": ${back} s behind (target ${Number(target).toFixed(2)} s)`);
  assert.ok(back < behind, `closer to live: ${back} s < ${behind} s`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'go-live', 'the focus stays on the button');
  await page.keyboard.press('Tab');  // moving on, the button goes with the focus
  await waitFor(async () => page.isHidden('#go-live'), { timeoutMs: 10000, what: '"back to live" to go once at the edge' });

  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page, playing live');
  await shot(page, 'watch-live.png');
  assert.deepEqual(foreign, [], 'nothing is fetched from anywhere but the sreda server');
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

test('a scheduled event with no publisher shows "starts at" in the viewer\'s time zone, and no error', async () => {
  const { page, errors, foreign } = await openPage(`/watch/${laterEvent.id}`);
  await waitFor(async () => (await page.textContent('#title')) === LATER_TITLE, { what: 'the title' });
  assert.equal(await page.textContent('#studio'), 'Библиотека на Садовой');
  await page.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
  const hm = new Date(laterEvent.starts_at).toLocaleTimeString('ru-RU', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
  const banner = await page.textContent('#banner');
  assert.match(banner, /^Начало /);
  assert.ok(banner.includes(hm), `the banner "${banner}" shows ${hm} (${TZ})`);
  assert.equal(await page.getAttribute('#state', 'data-state'), 'scheduled');

  // Keyboard: Tab reaches the big Play button, with a visible focus; Enter remembers the wish.
  let focused = null;
  for (let i = 0; i < 10 && focused !== 'play'; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  }
  assert.equal(focused, 'play', 'the Play button is reachable by Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await page.textContent('#banner')).includes('Трансляция включится сама'),
    { timeoutMs: 5000, what: 'the "it will start by itself" note' });

  // A few polls later: still scheduled, still calm, nothing requested from /live/ that failed.
  const polls = [];
  page.on('response', (r) => { if (r.url().includes('/api/public/events/')) polls.push(r.status()); });
  await waitFor(() => polls.length >= 1, { timeoutMs: 15000, what: 'the page to poll the event again' });
  assert.ok(polls.every((s) => s === 200), `polls answered ${polls}`);
  assert.equal(await page.getAttribute('#banner', 'data-kind'), 'scheduled');
  await shot(page, 'watch-scheduled.png');
  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

test('the programme page lists the live event and the coming one', async () => {
  const { page, errors } = await openPage('/');
  const liveLink = page.locator('#live a.title', { hasText: LIVE_TITLE });
  await liveLink.waitFor({ timeout: 15000 });
  assert.equal(await liveLink.getAttribute('href'), `/watch/${liveEvent.id}`);
  const laterLink = page.locator('#upcoming a.title', { hasText: LATER_TITLE });
  await laterLink.waitFor({ timeout: 15000 });
  assert.equal(await laterLink.getAttribute('href'), `/watch/${laterEvent.id}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the studio drops and comes back: "back in a moment", then the page plays again by itself', async (t) => {
  const { page, errors } = await openPage(`/watch/${liveEvent.id}`);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'state "live"' });
  await page.click('#play');
  const advancing = async (what, timeoutMs) => {
    const c0 = await page.evaluate(() => document.getElementById('video').currentTime);
    await page.waitForFunction((c) => {
      const v = document.getElementById('video');
      return !v.paused && v.currentTime > c + 2;
    }, c0, { timeout: timeoutMs, polling: 200 }).catch((err) => { throw new Error(`${what}: ${err.message}`); });
  };
  await advancing('playing at first', 30000);

  await publisher.stop();
  await waitFor(async () => (await sreda.publicEvent(liveEvent.id)).state === 'intermission',
    { timeoutMs: 15000, what: 'the server to call it an intermission' });
  // The page polls a live event every 15 s: give it that and some.
  await waitFor(async () => (await page.textContent('#banner')).startsWith('Студия скоро вернётся'),
    { timeoutMs: 30000, what: 'the "back in a moment" banner' });
  await shot(page, 'watch-intermission.png');

  const dropped = Date.now();
  publisher = f.track(new Publisher(studioKey, sreda.rtmpPort, 60));
  await waitFor(async () => (await sreda.publicEvent(liveEvent.id)).state === 'live',
    { timeoutMs: 30000, what: 'the event to be live again' });
  await advancing('playing again after the studio came back', 45000);
  t.diagnostic(`playing again ${((Date.now() - dropped) / 1000).toFixed(1)} s after the publisher restarted`);
  await waitFor(async () => await page.isHidden('#banner'), { timeoutMs: 10000, what: 'the banner to go' });
  assert.deepEqual(errors.filter((e) => !/\/live\//.test(e)), [], 'no errors in the page (but playlist/part misses)');
  await page.close();
});

test('Play pressed before the start: the page starts playing by itself when the studio goes live', async () => {
  const museum = await sreda.createStudio('Дом культуры «Заречье»');
  const soon = await sreda.createEvent(museum, 'Мастер-класс по керамике', 10);
  const { page, errors, foreign } = await openPage(`/watch/${soon.id}`);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'scheduled', { what: 'state "scheduled"' });
  await page.click('#play');
  await waitFor(async () => (await page.textContent('#banner')).includes('Трансляция включится сама'),
    { timeoutMs: 5000, what: 'the "it will start by itself" note' });
  f.publish(museum, 60);  // the studio goes live after the viewer pressed Play, with nobody touching the page
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 1 && !v.paused && v.readyState >= 3;
  }, null, { timeout: 90000, polling: 200 });
  assert.equal(await page.getAttribute('#state', 'data-state'), 'live');
  assert.equal(await page.isHidden('#play'), true, 'the Play button went away by itself');
  assert.equal(await page.evaluate(() => document.getElementById('video').muted), false, 'sound is on');
  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});
