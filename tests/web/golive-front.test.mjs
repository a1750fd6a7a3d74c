// Browser test for going live behind the HTTPS front (deploy/front: Debian's nginx, started by
// tests/integration/front_helpers.py with a self-signed certificate; sreda's server.public_url names the front, as
// the README tells an administrator to set it). The artist's page over https:// goes live over WHIP: the offer and
// the answer go through the front (POST /whip, the session's Location, DELETE on Stop), the media over UDP straight
// to sreda. Viewers over https:// play it in LL-HLS (hls.js) and in real time (WHEP through the front).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { waitFor, WEBRTC_ARGS } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf, seriousViolations } from './lib/pages.mjs';
import { freePort, startFront } from './lib/front.mjs';
import { waitState, noWhip, playsHls, pressStop } from './lib/golive.mjs';

const HTTPS_PORT = await freePort();
const base = `https://127.0.0.1:${HTTPS_PORT}`;

let sreda;
let browser;
let studio;
let event;
let viewPath;  // /studio/<id>?t=…

const f = fixture({ env: {
  SREDA_SERVER_PUBLIC_URL: base, SREDA_SERVER_TRUSTED_PROXIES: '127.0.0.1/32', SREDA_LADDER_ENABLED: 'false',
  SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1',
} }, async () => {
  ({ sreda } = f);
  ({ studio, event } = await f.studioWithEvent('Библиотека на набережной', 'Мастер-класс через HTTPS', 5));
  const view = new URL((await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url, base);
  viewPath = view.pathname + view.search;
  f.track(await startFront(sreda, HTTPS_PORT));
  browser = await f.launch({ ignoreHTTPSErrors: true, timezoneId: 'Europe/Moscow', extraArgs: WEBRTC_ARGS });
});

const openPage = (path, opts) => openPageOf(browser, base, path, opts);

/** A request to the front from outside the browser (its certificate is the test's own). */
function viaFront(method, path, headers = {}, body = '') {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('behind the HTTPS front: go live over WHIP, viewers play LL-HLS and real time', async (t) => {
  const why = await noWhip(sreda, studio, viewPath);
  if (why) return t.skip(why);
  // What a WHIP client from another site (or OBS) gets through the front: CORS, Accept-Post.
  const options = await viaFront('OPTIONS', `/whip/${studio.id}`, { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' });
  assert.ok(options.status === 204 || options.status === 200, `OPTIONS ${options.status}`);
  assert.match(String(options.headers['accept-post']), /application\/sdp/);
  assert.ok(options.headers['access-control-allow-origin'], 'CORS through the front');

  const whip = [];
  const { page, errors, foreign } = await openPage(viewPath);
  page.on('response', (r) => { if (/\/whip\//.test(r.url())) whip.push(`${r.request().method()} ${r.status()} ${r.url().replace(base, '')}`); });
  assert.equal(await page.evaluate(() => window.isSecureContext), true, 'a secure context: the camera may be used');
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  await page.click('#golive-start');
  await waitState(page, 'live', 45000);
  const location = await page.evaluate(() => window.sredaGoLive.location);
  assert.ok(location.startsWith(`${base}/whip/${studio.id}/`), `the session is at the front: ${location}`);
  assert.deepEqual(whip, [`POST 201 /whip/${studio.id}`], 'the offer went through the front');
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the event live' });
  const media = (await sreda.api('GET', `/api/events/${event.id}/live`, undefined, sreda.token)).json.publisher;
  assert.equal(media.protocol, 'whip');

  const viewer = await openPage(`/watch/${event.id}`);
  await viewer.page.click('#play');
  await playsHls(viewer.page, 'the viewer over HTTPS');
  const protocols = await viewer.page.evaluate(() => [...new Set(performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/live/')).map((e) => e.nextHopProtocol))]);
  assert.deepEqual(protocols, ['h2'], 'LL-HLS over HTTP/2 through the front');

  const patched = await sreda.api('PATCH', `/api/events/${event.id}`, { realtime: true }, sreda.token);
  assert.equal(patched.status, 200);
  const whep = [];
  const rt = await openPage(`/watch/${event.id}`);
  rt.page.on('response', (r) => { if (/\/whep\//.test(r.url())) whep.push(`${r.request().method()} ${r.status()} ${r.url().replace(base, '')}`); });
  await waitFor(async () => rt.page.isVisible('#realtime-toggle'), { what: 'the "Real time" choice' });
  await rt.page.click('#realtime-toggle');
  await waitFor(() => rt.page.evaluate(async () => (await window.sredaPlayer.whep.framesDecoded()) > 0),
    { timeoutMs: 30000, what: 'frames decoded over WHEP through the front' });
  await waitFor(async () => (await rt.page.getAttribute('#realtime-status', 'data-key')) === 'watch.realtime.playing',
    { what: 'the page to say it plays in real time' });
  assert.ok(whep.includes(`POST 201 /whep/${event.id}`), `the WHEP offer went through the front: ${whep}`);
  assert.deepEqual(await seriousViolations(page), []);

  await pressStop(page, sreda, event.id);
  await waitFor(() => whip.includes(`DELETE 200 ${new URL(location).pathname}`), { what: `the session ended through the front: ${whip}` });
  for (const p of [{ errors, foreign }, viewer, rt]) assert.deepEqual(p.foreign, [], 'nothing but the front');
  assert.deepEqual(errors, []);
  assert.deepEqual(viewer.errors.filter((e) => !/\/live\//.test(e)), []);
  assert.deepEqual(rt.errors.filter((e) => !/\/live\//.test(e)), []);
  for (const p of [page, viewer.page, rt.page]) await p.close();
});
