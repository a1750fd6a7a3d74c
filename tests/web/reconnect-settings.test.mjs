// A studio that reconnects within the grace period with other settings (issue 16's matrix row): 640x360
// High at 30 fps with 48 kHz sound, then 960x540 Main at 25 fps with 44.1 kHz sound. The event's ladder is
// fixed by the first session (hls.js never reloads the master playlist), so what changes is each
// rendition's init segment after a discontinuity. Checked as viewers and curators would notice:
// - the watch page opened before the change keeps playing through it, without a reload;
// - a stock hls.js (default settings) that joins after the change plays the master playlist;
// - the recording plays from its start, across the change, to its end; its MP4 export covers the event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { resolveRow, startPublisher, ffprobeJson, variants, advances, openStockPlayer } from './lib/conformance.mjs';

let sreda;
let browser;

const { children } = fixture(async (f) => {
  ({ sreda } = f);
  browser = await f.launch();
});

// At 2 Mb/s (CBR with filler), over twice the 360p rung's 700 kb/s: the ladder encodes a 360p rung at the
// studio's own size too (below that, `source` would be the only video rendition), so a rung lives across the change.
const FIRST = resolveRow({ name: 'first', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-bf', '2', '-b:v', '2000k', '-minrate', '2000k', '-maxrate', '2000k', '-bufsize', '1000k', '-x264-params', 'nal-hrd=cbr:filler=1'] }, seconds: 12 });
const SECOND = resolveRow({ name: 'second', video: { size: '960x540', rate: 25, x264: ['-profile:v', 'main'] }, audio: { rate: 44100 }, seconds: 14 });

test('a studio reconnects with other settings: viewers keep watching, the recording plays across the change', async (t) => {
  const studio = await sreda.createStudio('Студия с новыми настройками');
  const event = await sreda.createEvent(studio, 'Смена настроек', 5);
  const master = `${sreda.base}/live/${event.id}/master.m3u8`;
  const first = startPublisher(FIRST, 'rtmp', studio.stream_key, sreda, children);
  const watch = await browser.newPage();
  const joiner = await browser.newPage();
  try {
    await waitFor(async () => {
      const r = await fetch(master);
      return r.status === 200 && variants(await r.text(), master).filter((v) => v.video).length >= 2;
    }, { timeoutMs: 45000, what: 'the first session\'s ladder' });
    await watch.goto(`${sreda.base}/watch/${event.id}`, { waitUntil: 'load' });
    await watch.click('#play');
    await watch.waitForFunction(() => window.sredaPlayer && window.sredaPlayer.hls, null, { timeout: 30000 });
    await watch.evaluate(() => {
      window.__v = document.getElementById('video');
      window.__log = [];
      window.sredaPlayer.hls.on(window.Hls.Events.ERROR, (_e, d) => window.__log.push(`error ${d.type} ${d.details} fatal=${d.fatal}`));
    });
    await advances(watch, 2, 'the watch page before the change');

    assert.ok([0, 255].includes(await first.done), `first publisher: ${first.log.join('')}`);
    await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'intermission',
      { timeoutMs: 30000, what: 'the studio to drop' });
    const second = startPublisher(SECOND, 'rtmp', studio.stream_key, sreda, children);
    // Live again with the new picture size.
    await waitFor(async () => {
      const live = await sreda.api('GET', `/api/events/${event.id}/live`, undefined, sreda.token);
      const v = live.json && live.json.publisher && live.json.publisher.media && live.json.publisher.media.video;
      return v && v.width === 960;
    }, { timeoutMs: 30000, what: 'the second session (960x540)' });
    await advances(watch, 5, 'the watch page across the change', 40000);
    const size = await watch.evaluate(() => ({ w: window.__v.videoWidth, h: window.__v.videoHeight }));
    t.diagnostic(`watch page after the change: ${size.w}x${size.h}`);

    await openStockPlayer(joiner, sreda.base, master);
    await advances(joiner, 3, 'a stock hls.js joining after the change');

    assert.ok([0, 255].includes(await second.done), `second publisher: ${second.log.join('')}`);
  } finally {
    await watch.close();
  }

  // The recording: plays from the start across the change, and to its end after a seek.
  await waitFor(async () => ['intermission', 'ended', 'archived'].includes((await sreda.publicEvent(event.id)).state),
    { timeoutMs: 30000, what: 'the studio to leave' });
  await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token);
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'archived', { timeoutMs: 60000, what: 'archived' });
  const published = FIRST.seconds + SECOND.seconds;
  await openStockPlayer(joiner, sreda.base, `${sreda.base}/archive/${event.id}/master.m3u8`);
  await advances(joiner, 1, 'the recording from its start');
  const duration = await joiner.evaluate(() => window.__v.duration);
  // Both sessions, and at most the intermission between them (a few seconds here).
  assert.ok(duration >= published - 3 && duration <= published + 10, `recording ${duration} s, published ${published} s`);
  await joiner.evaluate((s) => { window.__v.currentTime = s; }, FIRST.seconds - 1);
  await advances(joiner, 3, 'the recording across the change');
  await joiner.evaluate(() => { window.__v.currentTime = window.__v.duration - 2.5; });
  await joiner.waitForFunction(() => window.__ended, null, { timeout: 30000, polling: 100 })
    .catch(async () => assert.fail(`the recording did not play to its end:\n${(await joiner.evaluate(() => window.__log)).join('\n')}`));
  await joiner.close();

  // The MP4 export (default rendition): one file per part (the settings changed once: two parts), each saying
  // which stretch it covers; together they cover the event, each with both tracks.
  let exported = 0;
  let parts = 1;
  for (let part = 1; part <= parts; ++part) {
    const r = await fetch(`${sreda.base}/api/events/${event.id}/recording.mp4?part=${part}`,
      { headers: { authorization: `Bearer ${sreda.token}` }, signal: AbortSignal.timeout(120000) });
    if (r.status !== 200) assert.fail(`export part ${part}: ${r.status} ${await r.text()}`);
    const says = r.headers.get('x-recording-part');
    parts = Number(says.split(' of ')[1]);
    assert.equal(says, `${part} of 2`);
    assert.match(r.headers.get('content-disposition'), new RegExp(`part${part}-of-2\\.mp4`));
    const file = `${sreda.dataDir}/export-reconnect-${part}.mp4`;
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const probe = await ffprobeJson(file);
    rmSync(file, { force: true });
    assert.ok(!probe.error, `ffprobe: ${probe.error}`);
    assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
    const d = Number(probe.format.duration);
    const [from, to] = r.headers.get('x-recording-covers-s').split(' of ')[0].split('-').map(Number);
    assert.ok(Math.abs(to - from - d) <= 1, `part ${part}: ${d} s, says ${r.headers.get('x-recording-covers-s')}`);
    exported += d;
  }
  t.diagnostic(`recording ${duration.toFixed(1)} s; ${parts} export parts, ${exported.toFixed(1)} s; published ${published} s`);
  assert.ok(exported >= published - 3 && exported <= published + 10, `exports ${exported} s, published ${published} s`);
  const beyond = await fetch(`${sreda.base}/api/events/${event.id}/recording.mp4?part=3`, { headers: { authorization: `Bearer ${sreda.token}` } });
  assert.equal(beyond.status, 404);
});
