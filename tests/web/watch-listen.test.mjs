// Browser test for "Listen only" on the watch page: a live event with the ladder's audio rendition;
// the button switches hls.js to the audio-only variant (CODECS mp4a only) and playback goes on, the choice
// is remembered across a reload, and the button switches back to the picture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { seriousViolations } from './lib/pages.mjs';

let sreda;
let browser;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Филармония', 'Радиоспектакль', 5));
  f.publish(studio, 90);  // stopped by the fixture
  browser = await f.launch();
});

// What hls.js plays: the source URL, and the current level's codecs.
const playing = (page) => page.evaluate(() => {
  const hls = window.sredaPlayer.hls;
  const level = hls && hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : hls.loadLevel];
  const v = document.getElementById('video');
  return {
    url: hls ? new URL(hls.url).pathname : null,
    levelUrl: level ? new URL(Array.isArray(level.url) ? level.url[0] : level.url).pathname : null,
    videoCodec: level ? level.videoCodec || null : null,
    videoWidth: v.videoWidth,
    time: v.currentTime,
    paused: v.paused,
  };
});

async function advances(page, seconds) {
  const from = (await playing(page)).time;
  await page.waitForFunction(([f, s]) => {
    const v = document.getElementById('video');
    return !v.paused && v.currentTime >= f + s;
  }, [from, seconds], { timeout: 30000, polling: 100 });
}

test('"Listen only" switches to the audio rendition, is remembered, and switches back', async () => {
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'live' });
  const master = await sreda.api('GET', `/live/${event.id}/master.m3u8`);
  assert.match(master.text, /CODECS="mp4a\.[0-9.]+"\naudio\/index\.m3u8/, 'the master playlist lists the audio rendition');

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'live on the page' });
  await page.click('#play');
  await advances(page, 1);
  await page.locator('#listen').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.getAttribute('#listen', 'aria-pressed'), 'false');
  let now = await playing(page);
  assert.equal(now.url, `/live/${event.id}/master.m3u8`);
  assert.ok(now.videoCodec, `a video level first: ${JSON.stringify(now)}`);

  // The audio parts are loaded from the click on; hls.js reports the new level once they play (by then it may
  // hold seconds of them, and the page may jump to the live edge, so none need follow), and from then on
  // nothing of the video rendition is loaded.
  const clickedAt = requested.length;
  await page.click('#listen');
  await waitFor(async () => (await playing(page)).levelUrl === `/live/${event.id}/audio/index.m3u8`, { what: 'the audio level' });
  const switchedAt = requested.length;
  await advances(page, 2);
  now = await playing(page);
  assert.equal(now.url, `/live/${event.id}/audio/index.m3u8`);
  assert.equal(now.videoCodec, null, `no video in listen-only: ${JSON.stringify(now)}`);
  assert.equal(now.videoWidth, 0, 'no picture is decoded');
  const sinceClick = requested.slice(clickedAt);
  assert.ok(sinceClick.some((p) => p.startsWith(`/live/${event.id}/audio/`) && p.endsWith('.m4s')),
    `audio media loaded: ${sinceClick}`);
  const after = requested.slice(switchedAt);
  assert.ok(!after.some((p) => p.startsWith(`/live/${event.id}/source/`)), `nothing from the video rendition: ${after}`);
  assert.equal(await page.getAttribute('#listen', 'aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => localStorage.getItem('sreda.listenOnly')), '1');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the watch page, listening only');

  // Remembered: after a reload, Play goes straight to the audio rendition.
  await page.reload({ waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'live after the reload' });
  await page.click('#play');
  await waitFor(async () => (await playing(page)).levelUrl === `/live/${event.id}/audio/index.m3u8`, { what: 'the remembered audio level' });
  await advances(page, 1);
  await page.locator('#listen[aria-pressed="true"]').waitFor({ state: 'visible', timeout: 30000 });

  // And back to the picture.
  await page.click('#listen');
  await waitFor(async () => {
    const p = await playing(page);
    return p.url === `/live/${event.id}/master.m3u8` && p.videoCodec;
  }, { what: 'the video level again' });
  await advances(page, 1);
  await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, null, { timeout: 30000 });
  assert.equal(await page.getAttribute('#listen', 'aria-pressed'), 'false');
  assert.deepEqual(errors, []);
});
