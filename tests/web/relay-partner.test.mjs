// A joint event of two cities in the partner's browser (issue 21): two real sredas on 127.0.0.1. Server A (its
// curator's relay: relays.allowed_hosts=127.0.0.1) relays its event over SRT into a studio of server B, as the
// README's twin-city walkthrough sets it up. B's event is then an event like any other:
//   (a) B's watch page (the real one, hls.js) plays it live: the picture advances 5 s with no fatal hls.js
//       error and without the player starting over
//   (b) A's event ends, its relay stops; B's studio goes quiet, its curator ends the event and it is archived:
//       B's watch page plays the recording, as long as A's own recording of the event
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sreda, Publisher, waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage } from './lib/pages.mjs';

const PUBLISH_S = 90;  // at most: the second test stops it (a loaded machine needs longer to reach the first)
const TITLE = 'Концерт двух городов: трансляция партнёра';

let a;        // the relaying city's server
let b;        // the partner's (the fixture's server): its page is what the test watches
let aEvent;
let bEvent;
let publisher;
let browser;

const f = fixture(async () => {
  b = f.sreda;
  a = await new Sreda({ env: { SREDA_RELAYS_ALLOWED_HOSTS: '127.0.0.1', SREDA_STUDIOS_RECONNECT_GRACE_S: '4' } }).start();
  // Stopped after the browser and before B (the fixture's stopAll); a crash or a sanitizer report fails the file.
  f.track({
    async stop() {
      const code = await a.stop();
      if (code !== 0) throw new Error(`server A exited with ${code}:\n${a.logText(30)}`);
    },
  });
  await a.login();
  const partner = await f.studioWithEvent('Город-побратим: зал филармонии', TITLE, 5);
  bEvent = partner.event;
  const hall = await a.createStudio('Город А: концертный зал');
  aEvent = await a.createEvent(hall, 'Концерт двух городов', 5);
  // A's curator adds the partner's studio as a relay target, as the desk does.
  const url = `srt://127.0.0.1:${b.srtPort}?streamid=publish:${partner.studio.stream_key}`;
  const r = await a.api('POST', `/api/events/${aEvent.id}/relays`, { name: 'Город-побратим', url }, a.token);
  assert.equal(r.status, 201, r.text);
  assert.ok(!r.json.url.includes(partner.studio.stream_key), `the key is masked: ${r.json.url}`);
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
  publisher = f.track(new Publisher(hall.stream_key, a.rtmpPort, PUBLISH_S));  // last: its seconds are the test's
});

const relayOf = async () => {
  const live = await a.api('GET', `/api/events/${aEvent.id}/live`, undefined, a.token);
  return live.json && (live.json.relays || [])[0];
};

test("B's event, relayed from A over SRT, plays live in B's watch page (hls.js)", async (t) => {
  await waitFor(async () => (await b.publicEvent(bEvent.id)).state === 'live',
    { timeoutMs: 30000, what: `B's event to go live (A's relay: ${JSON.stringify(await relayOf())})` });
  await waitFor(async () => (await b.api('GET', `/live/${bEvent.id}/master.m3u8`)).status === 200,
    { timeoutMs: 30000, what: "B's live master playlist" });
  const relay = await relayOf();
  assert.equal(relay.state, 'sending', JSON.stringify(relay));

  const { page, errors, foreign } = await openPage(browser, b.base, `/watch/${bEvent.id}`);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'state "live"' });
  assert.equal(await page.textContent('#title'), TITLE);
  await page.click('#play');
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 0 && !v.paused && v.readyState >= 3 && window.sredaPlayer.hls;
  }, null, { timeout: 30000, polling: 100 });
  // Past the start (the page jumps once to its target latency), then 5 s of the picture advancing.
  const c0 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.waitForFunction((c) => document.getElementById('video').currentTime > c + 2, c0, { timeout: 30000 });
  const m = await page.evaluate(async () => {
    const v = document.getElementById('video');
    const hls = window.sredaPlayer.hls;
    const seen = { fatal: [], events: [] };
    v.addEventListener('seeking', () => seen.events.push(`seek to ${v.currentTime.toFixed(2)}`));
    hls.on(window.Hls.Events.ERROR, (_e, d) => { if (d.fatal) seen.fatal.push(`${d.type} ${d.details}`); });
    v.addEventListener('emptied', () => seen.events.push('emptied'));
    const t0 = performance.now();
    const c0 = v.currentTime;
    while (v.currentTime - c0 < 5 && performance.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 100));
    return { advance: v.currentTime - c0, wall: (performance.now() - t0) / 1000, paused: v.paused,
      sameHls: window.sredaPlayer.hls === hls, ...seen, video: [v.videoWidth, v.videoHeight] };
  });
  t.diagnostic(`B's page: currentTime +${m.advance.toFixed(2)} s in ${m.wall.toFixed(2)} s, picture ${m.video.join('x')}, ` +
    `media events: ${m.events.join(', ') || 'none'}`);
  assert.ok(m.advance >= 5, `5 s of the relayed event played (currentTime +${m.advance.toFixed(2)} s)`);
  assert.deepEqual(m.fatal, [], 'no fatal hls.js error');
  assert.ok(m.sameHls && !m.events.includes('emptied'), `the player did not start over (${m.events.join(', ')})`);
  assert.deepEqual(m.video, [320, 240], "A's picture, as A's studio sent it");
  assert.equal(m.paused, false);
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, [], 'nothing fetched from outside B');
  await page.close();
});

test("A's event ends: the relay stops, and B's archive of the event plays, as long as A's", async (t) => {
  assert.ok(publisher.running(), "A's studio was still on air through the first test");
  await publisher.stop();  // the studio stops (SIGTERM: ffmpeg closes its stream cleanly)
  await waitFor(async () => (await a.publicEvent(aEvent.id)).state === 'intermission', { what: "A's intermission" });
  const end = await a.api('POST', `/api/events/${aEvent.id}/end`, undefined, a.token);
  assert.equal(end.status, 200, end.text);
  // The relay drains and closes: B's studio has gone quiet, and B's curator ends the partner's event.
  await waitFor(async () => (await b.publicEvent(bEvent.id)).state === 'intermission',
    { timeoutMs: 30000, what: "B's event to wait for its studio" });
  const endB = await b.api('POST', `/api/events/${bEvent.id}/end`, undefined, b.token);
  assert.equal(endB.status, 200, endB.text);
  await waitFor(async () => (await b.publicEvent(bEvent.id)).state === 'archived', { what: "B's event archived" });
  await waitFor(async () => (await a.publicEvent(aEvent.id)).state === 'archived', { what: "A's event archived" });
  assert.equal((await b.api('GET', `/archive/${bEvent.id}/master.m3u8`)).status, 200, "B's archive playlist");
  const [aS, bS] = [(await a.publicEvent(aEvent.id)).duration_s, (await b.publicEvent(bEvent.id)).duration_s];
  t.diagnostic(`recordings: A ${aS} s, B ${bS} s`);
  assert.ok(Math.abs(aS - bS) <= 1.5, `B recorded as much as A: A ${aS} s, B ${bS} s`);

  const { page, errors } = await openPage(browser, b.base, `/watch/${bEvent.id}`);
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'archived', { what: 'state "archived"' });
  await page.click('#play');
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 2 && !v.paused && v.readyState >= 3;
  }, null, { timeout: 30000, polling: 100 });
  const duration = await page.evaluate(() => document.getElementById('video').duration);
  t.diagnostic(`B's recording in the player: ${duration.toFixed(2)} s`);
  assert.ok(Math.abs(duration - aS) <= 1.5, `the recording plays whole: ${duration} s, A's ${aS} s`);
  assert.deepEqual(errors, []);
  await page.close();
});
