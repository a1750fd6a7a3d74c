// The watch page and "Go live" in the engines other than Chromium (issue 24: the README says which browsers were
// tried and how). A real sreda (127.0.0.1, webrtc.local_addresses 127.0.0.1), a real ffmpeg publisher (RTMP) on
// an event marked real-time, and:
//   Firefox ESR (Debian's firefox-esr, headless, puppeteer-core over WebDriver BiDi; a fake camera and microphone
//   by its prefs; no OpenH264, which Firefox would fetch from its vendor at run time: switched off)
//     (a) the watch page plays LL-HLS (hls.js over MSE)
//     (b) "Real time": its WebRTC has no H.264 without OpenH264, the server refuses the offer (422), and the page
//         says this browser cannot and plays LL-HLS by itself
//     (c) Go live: the private test works (the fake camera's picture through the encoder; not the sound level:
//         no audio output here, without which Firefox's AudioContext does not run); Go live
//         is refused in words (this browser cannot send H.264, and what to do), the event not on air
//   WebKitGTK (Debian's webkit2gtk-driver: WebKitWebDriver and its MiniBrowser under Xvfb, mock camera and
//   microphone; the engine closest to Safari on Linux)
//     (d) the watch page plays LL-HLS (hls.js over MSE: this build has no native HLS); no "Real time" offered
//         (the build has no WebRTC)
//     (e) the go-live panel says at once that this browser cannot go live and where to go instead; its buttons
//         say so again instead of waiting for nothing
// An engine is skipped, saying why, only when its Debian packages are absent (scripts/setup installs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf, seriousViolations } from './lib/pages.mjs';
import { launchFirefox, noFirefox, noWebKit, WebKit } from './lib/engines.mjs';

let sreda;
let firefox;
let watched;    // a real-time event, its studio publishing over RTMP
let studio;     // a studio with an event soon, for Go live
let soon;       // its event
let viewUrl;

const f = fixture({ env: { SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1' } }, async () => {
  ({ sreda } = f);
  const rtmp = await f.studioWithEvent('Дом культуры', 'Мастер-класс: вопросы и ответы', 2);
  watched = rtmp.event;
  f.publish(rtmp.studio, 240);
  const patched = await sreda.api('PATCH', `/api/events/${watched.id}`, { realtime: true }, sreda.token);
  assert.equal(patched.status, 200, `realtime on: ${patched.text}`);
  ({ studio, event: soon } = await f.studioWithEvent('Библиотека №3', 'Мастер-класс: оригами', 5));
  viewUrl = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url;
  if (!noFirefox()) firefox = f.track(await launchFirefox());
});

/** An async function body run in the page with `arg` (the same text for both engines); its value. */
const inFirefox = (page) => (body, arg) => page.evaluate(`(async (arg) => { ${body} })(${JSON.stringify(arg ?? null)})`);

/** Waits until the page plays LL-HLS with hls.js: its time moves on by a second and more. */
async function playsHls(js, what) {
  await waitFor(() => js('return !!window.sredaPlayer.hls && window.sredaPlayer.video.currentTime > 0.5;'),
    { timeoutMs: 45000, what: `${what}: hls.js playing` });
  const t0 = await js('return window.sredaPlayer.video.currentTime;');
  await waitFor(async () => (await js('return window.sredaPlayer.video.currentTime;')) > t0 + 1,
    { timeoutMs: 20000, what: `${what}: LL-HLS time advancing` });
}

const textOf = 'return document.getElementById(arg).textContent;';
const favicon = /^404 .*\/favicon\.ico$/;  // Firefox asks every site for one; sreda has none
const live = () => waitFor(async () => (await sreda.publicEvent(watched.id)).state === 'live',
  { timeoutMs: 60000, what: 'the RTMP studio live' });

test('Firefox: the watch page plays LL-HLS; "Real time" says this browser cannot and plays LL-HLS', { skip: noFirefox() || false }, async () => {
  await live();
  const { page, errors, foreign } = await openPageOf(firefox, sreda.base, `/watch/${watched.id}`, { ignore: [favicon] });
  const js = inFirefox(page);
  await waitFor(() => js('return !document.getElementById("play").hidden && !!window.sredaPlayer.event;'), { what: 'the page loaded' });
  await page.click('#play');
  await playsHls(js, 'Firefox');
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
  await page.close();

  // Without OpenH264 Firefox's WebRTC has no H.264 at all: the server refuses its offer (422 whep_no_h264).
  const rt = await openPageOf(firefox, sreda.base, `/watch/${watched.id}`, { ignore: [/^422 .*\/whep\//, favicon] });
  const rjs = inFirefox(rt.page);
  assert.deepEqual(await rjs('return RTCRtpReceiver.getCapabilities("video").codecs.map((c) => c.mimeType).filter((m) => /h264/i.test(m));'), []);
  await waitFor(() => rjs('return !document.getElementById("realtime").hidden;'), { what: 'the "Real time" choice' });
  await rt.page.click('#realtime-toggle');
  await waitFor(() => rjs('return document.getElementById("realtime-status").dataset.key === "watch.realtime.browser";'),
    { timeoutMs: 20000, what: `the words for a browser that cannot (status: ${await rjs(textOf, 'realtime-status')})` });
  assert.equal(await rjs(textOf, 'realtime-status'),
    'Этот браузер не умеет показывать без задержки. Показываем обычным способом, с задержкой в несколько секунд.');
  await playsHls(rjs, 'Firefox after real time');
  assert.equal(await rjs('return document.getElementById("realtime-toggle").getAttribute("aria-pressed");'), 'false');
  assert.deepEqual(rt.errors, []);
  await rt.page.close();
});

test('Firefox: the private test works; Go live is refused in words (no H.264)', { skip: noFirefox() || false }, async () => {
  const { page, errors } = await openPageOf(firefox, sreda.base, viewUrl, { ignore: [/^422 .*\/whip\//, favicon] });
  const js = inFirefox(page);
  const state = () => js('return document.getElementById("golive-state").dataset.state;');
  await waitFor(() => js('return !document.getElementById("golive").hidden;'), { what: 'the go-live panel' });
  assert.equal(await js('return document.getElementById("golive-problem").hidden;'), true, 'no problem said at first');
  await page.click('#golive-test');
  await waitFor(async () => (await state()) === 'testing', { what: 'the test to start' });
  await waitFor(() => js('return document.getElementById("golive-preview").videoWidth > 0;'), { what: 'the preview' });
  await waitFor(() => js('return Number(document.getElementById("golive-test-result").dataset.width) > 0;'),
    { timeoutMs: 20000, what: 'the test to report what the encoder made' });
  // The picture only: this machine has no sound card, and Firefox's AudioContext (the level meter) does not run
  // without an audio output, so the meter stays still here (Chromium's headless one runs without).
  assert.match(await js(textOf, 'golive-test-result'), /^Картинка: \d+×\d+, \d+ кадров в секунду\. /);
  await page.click('#golive-test');
  await waitFor(async () => (await state()) === 'idle', { what: 'the test to end' });

  await page.click('#golive-start');
  await waitFor(async () => (await state()) === 'refused', { timeoutMs: 45000, what: `the refusal (${await js(textOf, 'golive-state')})` });
  assert.match(await js(textOf, 'golive-state'),
    /^Сервер не принял трансляцию: этот браузер не умеет отправлять видео H\.264, которое нужно серверу\. В Firefox включите модуль OpenH264/);
  assert.equal(await js('return window.sredaGoLive.stream;'), null, 'the camera is released');
  assert.equal((await sreda.publicEvent(soon.id)).state, 'scheduled', 'not on air');
  assert.deepEqual(await seriousViolations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('WebKitGTK: hls.js plays LL-HLS; no "Real time" and no Go live without WebRTC, said in words', { skip: noWebKit() || false }, async (t) => {
  await live();
  const wk = f.track(await new WebKit(f.children).start());
  const js = (body, arg) => wk.run(body, arg);
  t.diagnostic(`WebKitGTK ${wk.version}: WebRTC ${await js('return typeof RTCPeerConnection;')}, ` +
    `native HLS "${await js('return document.createElement("video").canPlayType("application/vnd.apple.mpegurl");')}"`);
  // The page's own errors, from here on (WebDriver has no console).
  const errorsHook = 'window.seen = []; addEventListener("error", (e) => seen.push(String(e.message))); ' +
    'addEventListener("unhandledrejection", (e) => seen.push(String(e.reason)));';
  await wk.goto(`${sreda.base}/watch/${watched.id}`);
  await js(errorsHook);
  await waitFor(() => js('return !!window.sredaPlayer && !!window.sredaPlayer.event;'), { what: 'the page loaded' });
  assert.equal(await js('return typeof RTCPeerConnection;'), 'undefined', 'this WebKitGTK has no WebRTC');
  assert.equal(await js('return document.getElementById("realtime").hidden;'), true, 'no "Real time" offered');
  await wk.click('#play');
  await playsHls(js, 'WebKitGTK');
  assert.deepEqual(await js('return window.seen;'), []);

  await wk.goto(new URL(viewUrl, sreda.base).href);
  await js(errorsHook);
  // The panel is shown before golive.js runs: wait for its words, not for the panel.
  await waitFor(() => js('return !document.getElementById("golive-problem").hidden;'), { what: 'the go-live panel\'s words' });
  const said = 'Этот браузер не умеет выходить в эфир (в нём нет WebRTC). Откройте эту страницу в Chrome, Edge, Firefox, ' +
    'Яндекс Браузере или Safari — или выходите в эфир из OBS с настройками ниже.';
  assert.equal(await js(textOf, 'golive-problem'), said);
  assert.equal(await js('return document.getElementById("golive-problem").hidden;'), false);
  for (const button of ['#golive-start', '#golive-test']) {
    await js('document.getElementById("golive-problem").textContent = "";');
    await wk.click(button);
    await waitFor(async () => (await js(textOf, 'golive-problem')) === said, { what: `${button} to say it again` });
    assert.equal(await js('return document.getElementById("golive-state").dataset.state;'), 'idle', `${button}: not waiting`);
  }
  assert.deepEqual(await js('return window.seen;'), []);
  await wk.close();
});
