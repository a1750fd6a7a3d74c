// Browser test for the watch page's recording mode: an event is published, ended and archived; its
// /watch page then plays /archive/<id>/master.m3u8 as a VOD with a seek bar (native controls), the arrow
// keys seek, and a reload resumes where the viewer stopped (localStorage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';

const TITLE = 'Запись концерта хора';
const PUBLISH_S = 14;

let sreda;
let publisher;
let browser;
let event;

fixture(async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Дом культуры', TITLE, 5));
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
  publisher = f.publish(studio, PUBLISH_S);  // last: its seconds are the test's, not Chromium's start-up
});

test('an archived event plays its recording: seek bar, arrow keys, resume after a reload', async (t) => {
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'live' });
  await waitFor(async () => !publisher.running(), { timeoutMs: 60000, what: 'the publisher to finish' });
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'intermission', { what: 'intermission' });
  const end = await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token);
  assert.equal(end.status, 200, end.text);
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'archived', { what: 'archived' });
  const pub = await sreda.publicEvent(event.id);
  assert.ok(Math.abs(pub.duration_s - PUBLISH_S) <= 2.5, `public duration ${pub.duration_s}`);

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`); });
  const requested = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'archived', { what: 'state "archived"' });
  assert.match(await page.textContent('#banner'), /Запись трансляции/);
  assert.equal(await page.isVisible('#play'), true, 'Play is offered for the recording');

  await page.click('#play');
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 0.5 && !v.paused && v.readyState >= 3;
  }, null, { timeout: 30000, polling: 100 });
  assert.ok(requested.some((p) => p === `/archive/${event.id}/master.m3u8`), 'the recording, not the live stream');
  assert.ok(!requested.some((p) => p.startsWith('/live/')), 'nothing from /live/');
  const info = await page.evaluate(() => {
    const v = document.getElementById('video');
    return { duration: v.duration, controls: v.controls };
  });
  t.diagnostic(`recording duration in the player: ${info.duration.toFixed(2)} s`);
  assert.ok(Math.abs(info.duration - PUBLISH_S) <= 2.5, `duration ${info.duration}`);
  assert.equal(info.controls, true, 'native controls: the seek bar');

  // → seeks 10 s ahead, ← comes back.
  const before10 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((b) => document.getElementById('video').currentTime >= Math.min(b + 9, 11),
    before10, { timeout: 10000 });
  const after10 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((a) => document.getElementById('video').currentTime <= a - 8, after10, { timeout: 10000 });

  // Stop at 7 s; a reload offers to continue and starts there.
  await page.evaluate(() => { const v = document.getElementById('video'); v.currentTime = 7; });
  await page.waitForFunction(() => Math.abs(document.getElementById('video').currentTime - 7) < 1, null, { timeout: 10000 });
  await page.evaluate(() => document.getElementById('video').pause());
  const saved = await page.evaluate((id) => localStorage.getItem(`sreda.resume.${id}`), event.id);
  assert.ok(saved !== null && Math.abs(Number(saved) - 7) <= 1, `saved position ${saved}`);
  await page.reload({ waitUntil: 'load' });
  await waitFor(async () => (await page.textContent('#play-label')) === 'Продолжить просмотр', { what: 'the resume label' });
  await page.click('#play');
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return !v.paused && v.readyState >= 3 && v.currentTime >= 6;
  }, null, { timeout: 30000, polling: 100 });
  assert.deepEqual(errors, []);
  await page.close();
});
