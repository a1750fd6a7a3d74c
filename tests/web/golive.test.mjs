// Browser tests for "Go live from this browser" on the artist's view (issue 24): a real sreda
// (webrtc.local_addresses 127.0.0.1), Debian's Chromium headless with a fake camera and microphone.
//   (a) "Test my picture and sound", from the keyboard: the preview, the level meter, what the encoder made
//       (size, frames a second), sound heard; nothing is sent to the server; the camera's name in the picker
//       after the first permission; axe finds nothing serious
//   (a') "Share my screen": the fake picker's whole screen (contentHint detail) with the microphone
//   (b) a camera that cannot be used is explained by its error (not allowed, none, busy, cannot give the size)
//   (c) Go live: the event goes live over WHIP (H.264 + Opus, the picture size kept, ≤ 2.5 Mbit/s); a watch page
//       plays it with hls.js (LL-HLS); a second page with "Real time" plays it over WHEP (frames decoded); the
//       server loses the session and the page reconnects by itself, the same event going on; Stop → intermission
//   (d) refusals in words: a second publisher (ffmpeg on RTMP) and a wrong key
// (c) and (d) need the WHIP back end (the studio view's whip_url); (c)'s real-time part the WHEP one (the
// event's whep_url): without them they are skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { seriousViolations, tabTo, focusVisible, shot } from './lib/pages.mjs';
import { goLiveSetup, stateOf, waitState, noWhip as noWhipOf, pressStop } from './lib/golive.mjs';

let sreda;
let studio;
let event;
let viewUrl;

const { f, openPage } = goLiveSetup('Библиотека №3', 'Мастер-класс: оригами',
  (s) => ({ sreda, studio, event, viewUrl } = s));
const noWhip = () => noWhipOf(sreda, studio, viewUrl);

test('test my picture and sound: preview, level, encoded size, nothing sent; keyboard; axe', async () => {
  const { page, errors, foreign } = await openPage(viewUrl);
  const sent = [];
  page.on('request', (r) => { if (/\/whip\//.test(r.url())) sent.push(`${r.method()} ${r.url()}`); });
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  assert.equal(await page.textContent('#golive-title'), 'Выйти в эфир из браузера');
  assert.equal(await page.textContent('#golive-start'), 'Выйти в эфир');
  assert.equal(await page.textContent('#golive-state'), 'Не в эфире.');
  assert.deepEqual(await seriousViolations(page), []);

  assert.ok(await tabTo(page, 'golive-test'), 'the test button is reachable with Tab');
  assert.ok(await focusVisible(page), 'the focused button shows it');
  await page.keyboard.press('Enter');
  await waitState(page, 'testing');
  assert.equal(await page.textContent('#golive-state'), 'Проверка: в эфир ничего не идёт.');
  assert.equal(await page.textContent('#golive-test'), 'Закончить проверку');
  await waitFor(() => page.evaluate(() => document.getElementById('golive-preview').videoWidth > 0),
    { what: 'the preview to show the camera' });
  await waitFor(async () => Number(await page.getAttribute('#golive-test-result', 'data-width')) > 0,
    { timeoutMs: 20000, what: 'the test to report what the encoder made' });
  const result = await page.textContent('#golive-test-result');
  assert.match(result, /^Картинка: \d+×\d+, \d+ кадров в секунду\. /);
  assert.match(result, /Это видите только вы\.$/);
  // The fake microphone beeps: the meter moves and the test says sound is heard.
  await waitFor(async () => (await page.textContent('#golive-test-result')).includes('Звук слышен.'),
    { timeoutMs: 20000, what: 'the sound to be heard' });
  // The camera's name appears in the picker once the browser was allowed to use it.
  const cams = await page.$$eval('#golive-cam option', (os) => os.map((o) => o.textContent));
  assert.ok(cams.length >= 2 && cams[0] === 'Как в браузере' && cams.slice(1).every((c) => c && !/^Камера \d/.test(c)),
    `camera names after permission: ${JSON.stringify(cams)}`);
  assert.deepEqual(await seriousViolations(page), []);
  await shot(page, 'golive-test.png');
  await page.keyboard.press('Enter');  // the same button, still focused, ends the test
  await waitState(page, 'idle');
  assert.equal(await page.evaluate(() => document.getElementById('golive-preview').srcObject), null, 'the camera is released');
  assert.deepEqual(sent, [], 'a test sends nothing to the server');
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
  await page.close();
});

test('share my screen: the test shows the screen, with the microphone', async () => {
  const { page, errors } = await openPage(viewUrl);
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  assert.equal(await page.textContent('#golive-screen-label'), 'Мой экран (и микрофон)');
  await page.check('#golive-screen');
  assert.equal(await page.isDisabled('#golive-cam'), true, 'no camera to choose for the screen');
  await page.click('#golive-test');
  await waitState(page, 'testing');
  // Headless Chromium's fake picker shares its whole (virtual) screen, 1280×900 (the viewport's window).
  const tracks = await page.evaluate(() => window.sredaGoLive.stream.getTracks().map((tr) => `${tr.kind} ${tr.contentHint}`));
  assert.deepEqual(tracks.sort(), ['audio music', 'video detail']);
  await waitFor(async () => Number(await page.getAttribute('#golive-test-result', 'data-width')) > 0,
    { timeoutMs: 20000, what: 'the test to report the screen\'s picture' });
  const settings = await page.evaluate(() => window.sredaGoLive.stream.getVideoTracks()[0].getSettings().displaySurface);
  assert.equal(settings, 'monitor');
  await page.click('#golive-test');
  await waitState(page, 'idle');
  await page.check('#golive-camera');
  assert.equal(await page.isDisabled('#golive-cam'), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a camera that cannot be used is explained, with what to do', async () => {
  const { page, errors } = await openPage(viewUrl);
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  // The browser's errors as it gives them (a headless browser has no camera to unplug or block).
  await page.evaluate(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('simulated', window.failWith));
  });
  const expected = {
    NotAllowedError: /^Браузеру не разрешено включать камеру и микрофон\. Нажмите на значок камеры/,
    NotFoundError: /^Камера или микрофон не найдены\. Подключите их/,
    NotReadableError: /^Камера или микрофон заняты другой программой \(Zoom, Skype, другая вкладка\)/,
    OverconstrainedError: /^Выбранная камера не может дать такую картинку/,
  };
  for (const [name, re] of Object.entries(expected)) {
    await page.evaluate((n) => { window.failWith = n; }, name);
    await page.click('#golive-test');
    await waitFor(async () => re.test(await page.textContent('#golive-problem')), { what: `the words for ${name}` });
    assert.equal(await page.isVisible('#golive-problem'), true);
    assert.equal(await stateOf(page), 'idle', `${name}: not testing`);
  }
  await page.evaluate(() => { window.failWith = 'NotReadableError'; });
  await page.click('#golive-start');
  await waitFor(async () => /заняты другой программой/.test(await page.textContent('#golive-problem')), { what: 'Go live says it too' });
  assert.equal(await stateOf(page), 'idle');
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('go live: WHIP → live, LL-HLS and real time play it, Stop → intermission', async (t) => {
  const why = await noWhip();
  if (why) return t.skip(why);
  // After the drop the page ends its old session too, which the server already ended: 404.
  const { page, errors } = await openPage(viewUrl, { ignore: [/^404 .*\/whip\/\d+\/./] });
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  assert.equal(await page.textContent('#key'), studio.stream_key, 'the publish settings still show the key');
  const keyShown = async () => page.evaluate((k) => document.getElementById('golive').textContent.includes(k), studio.stream_key);
  await page.click('#golive-start');
  await waitState(page, 'live', 45000);
  assert.equal(await page.textContent('#golive-state'), 'Вы в эфире.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'golive-stop', 'the focus moves to Stop');
  assert.equal(await keyShown(), false, 'the panel never shows the stream key');
  // H.264 and Opus on the wire; the encoder keeps its picture size and stays under 2.5 Mbit/s.
  const sent = await page.evaluate(async () => {
    const pc = window.sredaGoLive.pc;
    const codecs = {};
    (await pc.getStats()).forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
    const out = [];
    (await pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp') out.push(`${r.kind} ${String(codecs[r.codecId]).toLowerCase()}`); });
    const p = pc.getSenders().find((x) => x.track.kind === 'video').getParameters();
    return { out: out.sort(), degradation: p.degradationPreference, max: p.encodings[0].maxBitrate };
  });
  assert.deepEqual(sent.out, ['audio audio/opus', 'video video/h264']);
  assert.equal(sent.degradation, 'maintain-resolution');
  assert.ok(sent.max > 0 && sent.max <= 2500000, `maxBitrate ${sent.max}`);
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the event live' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'the artist\'s view to say LIVE' });

  // A viewer presses Play: hls.js plays LL-HLS.
  const viewer = await openPage(`/watch/${event.id}`);
  await viewer.page.click('#play');
  await waitFor(() => viewer.page.evaluate(() => !!window.sredaPlayer.hls && window.sredaPlayer.video.currentTime > 1),
    { timeoutMs: 45000, what: 'hls.js to play the browser\'s stream' });
  const t0 = await viewer.page.evaluate(() => window.sredaPlayer.video.currentTime);
  await waitFor(async () => (await viewer.page.evaluate(() => window.sredaPlayer.video.currentTime)) > t0 + 1,
    { timeoutMs: 20000, what: 'playback to advance' });

  // Real time (WHEP), where the event is marked for it.
  const patched = await sreda.api('PATCH', `/api/events/${event.id}`, { realtime: true }, sreda.token);
  const pub = await sreda.publicEvent(event.id);
  if (patched.status === 200 && pub.realtime === true && pub.whep_url) {
    const rt = await openPage(`/watch/${event.id}`);
    await waitFor(async () => rt.page.isVisible('#realtime-toggle'), { what: 'the "Real time" choice' });
    const choice = rt.page.getByRole('button', { name: 'Без задержки', exact: true });
    assert.equal(await choice.count(), 1, 'the choice is named in words');
    await choice.click();
    await waitFor(() => rt.page.evaluate(async () => (await window.sredaPlayer.whep.framesDecoded()) > 0),
      { timeoutMs: 30000, what: `frames decoded over WHEP (status: ${await rt.page.textContent('#realtime-status')})` });
    await waitFor(async () => (await rt.page.getAttribute('#realtime-status', 'data-key')) === 'watch.realtime.playing',
      { what: 'the page to say it plays in real time' });
    assert.equal(await rt.page.evaluate(() => window.sredaPlayer.hls), null, 'not hls.js');
    await waitFor(() => rt.page.evaluate(() => window.sredaPlayer.video.currentTime > 1), { what: 'the real-time video to play' });
    assert.deepEqual(await seriousViolations(rt.page), []);
    assert.deepEqual(rt.errors, []);
    await rt.page.close();
  } else {
    t.diagnostic(`real time not tried: PATCH realtime → ${patched.status}, public realtime=${pub.realtime} whep_url=${pub.whep_url}`);
  }
  assert.deepEqual(await seriousViolations(page), []);
  await shot(page, 'golive-live.png');

  // The server loses the session (as after a network drop it ends it): the page notices and reconnects by
  // itself, and the same event goes on.
  const location = await page.evaluate(() => window.sredaGoLive.location);
  assert.match(location, new RegExp(`/whip/${studio.id}/`));
  const gone = await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${studio.stream_key}` } });
  assert.equal(gone.status, 200, 'the session ends');
  await waitState(page, 'reconnecting', 45000);
  assert.match(await page.textContent('#golive-state'), /^Связь прервалась\. Подключаемся снова \(попытка \d\)…$/);
  await waitState(page, 'live', 60000);
  assert.notEqual(await page.evaluate(() => window.sredaGoLive.location), location, 'a new session');
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the same event live again' });

  await pressStop(page, sreda, event.id);
  assert.deepEqual(errors, []);
  assert.deepEqual(viewer.errors.filter((e) => !/\/live\//.test(e)), []);  // the stream ending may 404 a part
  await viewer.page.close();
  await page.close();
});

test('refusals in words: a second publisher, a wrong key', async (t) => {
  const why = await noWhip();
  if (why) return t.skip(why);
  const { page } = await openPage(viewUrl, { ignore: [/^(401|409) .*\/whip\//] });
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  // ffmpeg publishes over RTMP: the browser is the second publisher.
  const publisher = f.publish(studio, 60);
  await waitFor(async () => ['live'].includes((await sreda.publicEvent(event.id)).state),
    { timeoutMs: 60000, what: `the RTMP publisher live (${publisher.log.join('')})` });
  await page.click('#golive-start');
  await waitState(page, 'refused', 45000);
  assert.equal(await page.textContent('#golive-state'),
    'Сервер не принял трансляцию: эта студия уже в эфире (может быть, из OBS или другой вкладки). Остановите ту трансляцию.');
  assert.equal(await page.isVisible('#golive-start'), true, 'Go live can be pressed again');
  await publisher.stop();
  // A key that is not (or no longer) the studio's.
  await page.route('**/whip/**', (route) => route.continue({
    headers: { ...route.request().headers(), authorization: 'Bearer wrong-key-0000000000000000000000000000' },
  }));
  await page.click('#golive-start');
  await waitState(page, 'refused', 45000);
  assert.match(await page.textContent('#golive-state'), /^Сервер не принял трансляцию: ключ студии не подходит/);
  assert.deepEqual(await seriousViolations(page), []);
  await page.close();
});
