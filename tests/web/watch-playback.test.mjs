// Browser test for the playback report (issue 22): the watch page tells the server what it plays over its
// audience socket ({"type":"playback"}, server/audience/PROTOCOL.md) when it starts, while it plays and when it
// pauses, and the curators' report counts that page as a viewer of the live event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';

let sreda;
let browser;
let event;

fixture({ env: { SREDA_REPORTS_SAMPLE_S: '1' } }, async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Дом культуры', 'Концерт хора', 5));
  f.publish(studio, 90);  // stopped by the fixture
  browser = await f.launch();
});

test('the watch page reports what it plays, and the report counts it', async () => {
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'live' });
  const page = await browser.newPage();
  const sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try { sent.push(JSON.parse(f.payload)); } catch { /* not ours */ }
  }));
  await page.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'live on the page' });
  await page.click('#play');
  const playing = () => sent.find((m) => m.type === 'playback' && m.playing);
  await waitFor(async () => playing(), { timeoutMs: 30000, what: 'a playback frame saying it plays' });
  const first = playing();
  assert.equal(first.mode, 'live');
  assert.match(String(first.rendition), /^[A-Za-z0-9_-]{1,16}$/, JSON.stringify(first));

  const report = async () => (await sreda.api('GET', `/api/events/${event.id}/report`, undefined, sreda.token)).json;
  await waitFor(async () => (await report()).peak_viewers === 1, { timeoutMs: 30000, what: 'the report to count the page' });
  const r = await report();
  assert.equal(r.unique_viewers, 1);
  // The rung's minutes or a timeline sample naming it come with the next tally (a loaded machine: seconds later).
  const counted = (x) => x.renditions[first.rendition] > 0 || x.timeline.some((s) => s.renditions[first.rendition] === 1);
  await waitFor(async () => counted(await report()), { timeoutMs: 30000, what: `the report to count rendition ${first.rendition}` });

  await page.evaluate(() => document.getElementById('video').pause());
  await waitFor(async () => sent.some((m) => m.type === 'playback' && m.playing === false),
    { what: 'a playback frame saying it paused' });
  await waitFor(async () => (await report()).timeline.at(-1).viewers === 0, { timeoutMs: 30000, what: 'no viewer after the pause' });
  await page.close();
});
