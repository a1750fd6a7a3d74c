// Browser test for going live with a shared screen (issue 24: a computer-literacy class shows the teacher's
// screen, with the microphone): a real sreda (webrtc.local_addresses 127.0.0.1, its default ladder, which also
// turns the browser's Opus into AAC for LL-HLS), Debian's Chromium headless with its fake screen picker and fake
// microphone.
//   "Share my screen", then Go live: the event is live over WHIP; the server takes the screen's picture size and
//   Opus; the live stream offers the screen at its own size, with sound; a viewer's hls.js plays it: the screen's
//   shape, a picture that is not black, and the microphone's beeps heard in the stream (not silence).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { seriousViolations } from './lib/pages.mjs';
import { goLiveSetup, waitState, noWhip, playsHls, picture, pressStop } from './lib/golive.mjs';

let sreda;
let studio;
let event;
let viewUrl;

const { openPage } = goLiveSetup('Центр компьютерной грамотности', 'Урок: электронная почта',
  (s) => ({ sreda, studio, event, viewUrl } = s));

/** The loudest sample `page`'s video plays within ~0.7 s (its own stream, taken with captureStream). */
function loudness(page) {
  return page.evaluate(async () => {
    const v = window.sredaPlayer.video;
    if (!window.__listen) {
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 32768;
      ctx.createMediaStreamSource(v.captureStream()).connect(analyser);
      await ctx.resume();
      window.__listen = { analyser, data: new Float32Array(analyser.fftSize) };
    }
    const { analyser, data } = window.__listen;
    analyser.getFloatTimeDomainData(data);
    return data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  });
}

test('share my screen, go live: viewers see the screen and hear the microphone', async (t) => {
  const why = await noWhip(sreda, studio, viewUrl);
  if (why) return t.skip(why);
  const { page, errors } = await openPage(viewUrl);
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  await page.check('#golive-screen');
  await page.click('#golive-start');
  await waitState(page, 'live', 45000);
  assert.equal(await page.textContent('#golive-state'), 'Вы в эфире.');
  // What goes out: the whole (fake) screen with the microphone, H.264 at the screen's own size.
  const sent = await page.evaluate(async () => {
    const { stream, pc } = window.sredaGoLive;
    const video = stream.getVideoTracks()[0];
    let size = null;
    (await pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video' && r.frameWidth) size = [r.frameWidth, r.frameHeight]; });
    return { surface: video.getSettings().displaySurface, hint: video.contentHint, settings: [video.getSettings().width, video.getSettings().height],
      audio: stream.getAudioTracks().map((a) => a.label), size };
  });
  assert.equal(sent.surface, 'monitor');
  assert.equal(sent.hint, 'detail');
  assert.equal(sent.audio.length, 1, 'the microphone goes with the screen');
  const [w, h] = sent.settings;
  t.diagnostic(`the screen: ${w}×${h}, encoded ${JSON.stringify(sent.size)}, microphone ${JSON.stringify(sent.audio)}`);

  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the event live' });
  const live = await waitFor(async () => {
    const r = await sreda.api('GET', `/api/events/${event.id}/live`, undefined, sreda.token);
    return r.json && r.json.publisher && r.json.publisher.media && r.json.publisher.media.video ? r.json : null;
  }, { what: 'the server to see the publisher\'s media' });
  const media = live.publisher.media;
  assert.equal(live.publisher.protocol, 'whip');
  assert.deepEqual([media.video.codec, media.video.width, media.video.height], ['h264', w, h], 'the screen\'s size, kept');
  assert.equal(media.audio && media.audio.codec, 'opus', 'the microphone\'s sound reaches the server');

  const viewer = await openPage(`/watch/${event.id}`);
  await viewer.page.click('#play');
  await playsHls(viewer.page, 'the viewer');
  const seen = await waitFor(async () => {
    const p = await picture(viewer.page);
    return p.width > 0 && p.bright > 40 ? p : null;
  }, { timeoutMs: 20000, what: 'a picture that is not black' });
  t.diagnostic(`the viewer sees ${seen.width}×${seen.height}`);
  assert.ok(Math.abs(seen.width / seen.height - w / h) < 0.02, `the screen's shape: ${seen.width}×${seen.height} for ${w}×${h}`);
  const master = (await sreda.api('GET', `/live/${event.id}/master.m3u8`)).text;
  assert.match(master, new RegExp(`RESOLUTION=${w}x${h},[^\\n]*CODECS="[^"]*mp4a[^"]*"\\nsource/`), `the screen at its own size, with sound: ${master}`);
  // The fake microphone beeps: the viewer hears the beeps, not silence.
  await waitFor(async () => (await loudness(viewer.page)) > 0.01, { timeoutMs: 20000, intervalMs: 200, what: 'the microphone heard by the viewer' });
  assert.deepEqual(await seriousViolations(page), []);

  await pressStop(page, sreda, event.id);
  assert.deepEqual(errors, []);
  assert.deepEqual(viewer.errors.filter((e) => !/\/live\//.test(e)), []);  // the stream ending may 404 a part
  await viewer.page.close();
  await page.close();
});
