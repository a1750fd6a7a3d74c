// Helpers of the "Go live" browser tests (golive*.test.mjs): their common setup, the panel's state as the page
// says it, whether this build has the WHIP back end, what a viewer sees of a stream.
import { waitFor, WEBRTC_ARGS } from './harness.mjs';
import { fixture } from './fixture.mjs';
import { openPage as openPageOf } from './pages.mjs';

/** The setup golive*.test.mjs share: the fixture with a sreda on webrtc.local_addresses 127.0.0.1, a studio
 *  `studioName` with the event `title` in 5 minutes, the artist's view URL, and Chromium with a fake camera,
 *  microphone and screen picker. ready({ sreda, studio, event, viewUrl }) is called once they exist, before the
 *  first test. Returns { f (the fixture), openPage(path, opts) (a page in that Chromium) }. */
export function goLiveSetup(studioName, title, ready) {
  let browser;
  const f = fixture({ env: { SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1' } }, async () => {
    const { sreda } = f;
    const { studio, event } = await f.studioWithEvent(studioName, title, 5);
    const viewUrl = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url;
    browser = await f.launch({ timezoneId: 'Europe/Moscow', extraArgs: WEBRTC_ARGS });
    ready({ sreda, studio, event, viewUrl });
  });
  return { f, openPage: (path, opts) => openPageOf(browser, f.sreda.base, path, opts) };
}

export const stateOf = (page) => page.getAttribute('#golive-state', 'data-state');

/** Waits for the panel's state; a timeout says what the page said. */
export async function waitState(page, want, timeoutMs = 30000) {
  try {
    // A refusal is final: no use waiting for anything else then.
    await waitFor(async () => [want, 'refused'].includes(await stateOf(page)), { timeoutMs, what: `the go-live state "${want}"` });
    if ((await stateOf(page)) !== want) throw new Error(`not "${want}" but refused`);
  } catch (err) {
    const said = await page.textContent('#golive-state');
    const problem = await page.textContent('#golive-problem');
    throw new Error(`${err.message} (it says ${JSON.stringify(said)}; problem ${JSON.stringify(problem)})`);
  }
}

/** Why WHIP cannot be tried on this build, or '' when it can: the studio view names no whip_url, or the
 *  server says it has no WHIP back end (503 webrtc_unavailable to a bare offer; with one it answers 400). */
export async function noWhip(sreda, studio, viewUrl) {
  const token = new URL(viewUrl, sreda.base).searchParams.get('t');
  const view = (await sreda.api('GET', `/api/studio-view/${studio.id}?t=${token}`)).json;
  if (!view.publish.whip_url) return 'the server offers no WHIP (no whip_url in the studio view)';
  const r = await fetch(new URL(new URL(view.publish.whip_url).pathname, sreda.base), { method: 'POST', body: 'v=0\r\n',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${studio.stream_key}` } });
  const error = await r.json().then((j) => j.error || {}, () => ({}));
  return r.status === 503 && error.code === 'webrtc_unavailable' ? `no WHIP back end in this build (503: ${error.message})` : '';
}

/** Waits until `page` (a watch page) plays with hls.js, its time moving on by a second. */
export async function playsHls(page, what, timeoutMs = 45000) {
  await waitFor(() => page.evaluate(() => !!window.sredaPlayer.hls && window.sredaPlayer.video.currentTime > 0.5),
    { timeoutMs, what: `${what}: hls.js playing` });
  const t0 = await page.evaluate(() => window.sredaPlayer.video.currentTime);
  await waitFor(async () => (await page.evaluate(() => window.sredaPlayer.video.currentTime)) > t0 + 1,
    { timeoutMs: 20000, what: `${what}: LL-HLS time advancing` });
}

/** The picture `page`'s video shows now: its size and whether a frame drawn from it is not all black. */
export function picture(page) {
  return page.evaluate(() => {
    const v = window.sredaPlayer.video;
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 36;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0, c.width, c.height);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let bright = 0;
    for (let i = 0; i < px.length; i += 4) bright = Math.max(bright, px[i], px[i + 1], px[i + 2]);
    return { width: v.videoWidth, height: v.videoHeight, bright };
  });
}

/** Presses Stop on the artist's `page`: the panel says so and the event (`eventId` on `sreda`) goes to intermission. */
export async function pressStop(page, sreda, eventId) {
  await page.click('#golive-stop');
  await waitState(page, 'stopped');
  if ((await page.textContent('#golive-state')) !== 'Эфир остановлен.') throw new Error(`Stop said ${await page.textContent('#golive-state')}`);
  await waitFor(async () => (await sreda.publicEvent(eventId)).state === 'intermission',
    { timeoutMs: 30000, what: 'the event in intermission after Stop' });
}
