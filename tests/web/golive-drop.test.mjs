// Browser test for a real network drop while a browser is live (issue 24: "reconnect by itself after a network
// drop"): a real sreda (webrtc.local_addresses 127.0.0.1, a UDP port range of this test's own), Debian's Chromium
// headless with a fake camera and microphone. The drop is real for both halves of the artist's connection:
// its HTTP by Chromium's offline mode (context.setOffline), its media by the kernel: an nftables table of this
// test's own drops every UDP packet to and from the server's WebRTC port range (webrtc.port_min..port_max).
// Chromium's offline mode alone does not touch WebRTC (checked: a connected peer connection keeps receiving, also
// with DevTools' WebRTC packetLoss 100 in Network.emulateNetworkConditions).
//   The artist's page says in words that it reconnects; with the network back it goes live again by itself:
//   the same event (reconnects counted), its LL-HLS going on (segments numbered on from before the drop, a viewer's
//   hls.js plays on) and one recording, which grew across the drop and is the archive after the end.
//   A viewer in real time (WHEP, whose media crossed the same ports) sees it stop and is moved to LL-HLS by
//   itself, in words; it plays once the artist is back.
// Needs root and nft (Debian's nftables): without them it is skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { waitFor, WEBRTC_ARGS } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage as openPageOf } from './lib/pages.mjs';
import { waitState, noWhip, playsHls, pressStop } from './lib/golive.mjs';

const PORT_MIN = 40000 + (process.pid % 200) * 100;  // a range no other test's server uses at the same time
const PORT_MAX = PORT_MIN + 99;
const GRACE_S = 40;
const TABLE = `sreda_web_drop_${process.pid}`;

let sreda;
let artist;   // the artist's browser (goes offline)
let viewers;  // the viewers' browser (its network stays; only the server's UDP ports are cut)
let studio;
let event;
let viewUrl;

const f = fixture({ env: {
  SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1', SREDA_WEBRTC_PORT_MIN: String(PORT_MIN), SREDA_WEBRTC_PORT_MAX: String(PORT_MAX),
  SREDA_STUDIOS_RECONNECT_GRACE_S: String(GRACE_S), SREDA_LADDER_ENABLED: 'false',
} }, async () => {
  ({ sreda } = f);
  ({ studio, event } = await f.studioWithEvent('Библиотека №3', 'Мастер-класс: связь пропала', 5));
  viewUrl = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url;
  artist = await f.launch({ timezoneId: 'Europe/Moscow', extraArgs: WEBRTC_ARGS });
  viewers = await f.launch({ timezoneId: 'Europe/Moscow', extraArgs: WEBRTC_ARGS });
  f.track({ stop: async () => { nft(`delete table inet ${TABLE}`); } });
});
process.on('exit', () => nft(`delete table inet ${TABLE}`));

/** Runs `nft` with the arguments in one string; returns its result ('' when fine, else its error). */
function nft(command) {
  const r = spawnSync('nft', command.split(' '), { encoding: 'utf8' });
  return r.error ? r.error.message : r.status === 0 ? '' : r.stderr.trim();
}

/** Cuts (or restores) every UDP packet to and from the server's WebRTC ports as a broken network would: lost on
 *  arrival, without a word to the sender. */
function udpCut(on) {
  if (!on) return nft(`delete table inet ${TABLE}`);
  const ports = `${PORT_MIN}-${PORT_MAX}`;
  return nft(`add table inet ${TABLE}`) || nft(`add chain inet ${TABLE} cut { type filter hook input priority 0 ; policy accept ; }`) ||
    nft(`add rule inet ${TABLE} cut udp dport ${ports} drop`) || nft(`add rule inet ${TABLE} cut udp sport ${ports} drop`);
}

/** Why the kernel cannot cut this test's ports here, or ''. */
function noCut() {
  if (process.getuid && process.getuid() !== 0) return 'not root: nftables cannot cut the UDP ports';
  const err = udpCut(true) || udpCut(false);
  return err ? `nftables cannot cut the UDP ports here (${err}); scripts/setup installs nftables` : '';
}

const live = async () => (await sreda.api('GET', `/api/events/${event.id}/live`, undefined, sreda.token)).json;

/** The number of the live media playlist's newest segment (the source rendition: the ladder is off), -1 before one. */
async function newestSegment() {
  const master = (await sreda.api('GET', `/live/${event.id}/master.m3u8`)).text;
  const uri = master.split('\n').find((l) => l && !l.startsWith('#'));
  if (!uri) return -1;
  const r = await sreda.api('GET', new URL(uri, `${sreda.base}/live/${event.id}/master.m3u8`).pathname);
  const lines = r.text.split('\n');
  const first = lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:'));
  return r.status === 200 && first ? Number(first.split(':')[1]) + lines.filter((l) => l.startsWith('#EXTINF:')).length - 1 : -1;
}

test('a network drop while live: reconnecting in words, then live again by itself, the same event', async (t) => {
  const why = (await noWhip(sreda, studio, viewUrl)) || noCut();
  if (why) return t.skip(why);
  const patched = await sreda.api('PATCH', `/api/events/${event.id}`, { realtime: true }, sreda.token);
  assert.equal(patched.status, 200, 'the event marked real-time');

  // The artist goes live. Its old sessions' DELETEs fail while offline or answer 404 afterwards.
  const { page, errors } = await openPageOf(artist, sreda.base, viewUrl, { ignore: [/^404 .*\/whip\/\d+\/./] });
  await waitFor(async () => page.isVisible('#golive'), { what: 'the go-live panel' });
  await page.click('#golive-start');
  await waitState(page, 'live', 45000);
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the event live' });

  // Viewers: one on LL-HLS (Play), one in real time (WHEP).
  const hls = await openPageOf(viewers, sreda.base, `/watch/${event.id}`, { ignore: [/^(404|503) .*\/live\//] });
  await hls.page.click('#play');
  await playsHls(hls.page, 'the LL-HLS viewer');
  const rt = await openPageOf(viewers, sreda.base, `/watch/${event.id}`, { ignore: [/^(404|503) .*\/(live|whep)\//] });
  await waitFor(async () => rt.page.isVisible('#realtime-toggle'), { what: 'the "Real time" choice' });
  await rt.page.click('#realtime-toggle');
  await waitFor(async () => (await rt.page.getAttribute('#realtime-status', 'data-key')) === 'watch.realtime.playing',
    { timeoutMs: 30000, what: 'the viewer playing in real time' });

  const before = { segment: await newestSegment(), recorded: (await waitFor(async () => {
    const r = (await live()).recording;
    return r && r.duration_s > 2 ? r : null;
  }, { what: 'the recording to grow' })).duration_s, reconnects: (await live()).reconnects || 0 };
  assert.ok(before.segment >= 0, 'the live media playlist has segments');
  const location = await page.evaluate(() => window.sredaGoLive.location);
  // How near a healthy connection came to the page's "nothing heard from the server" (3 s: a drop).
  t.diagnostic(`live, the server was silent ${Math.round(await page.evaluate(() => window.sredaGoLive.quiet.longest))} ms at most`);

  // The network drops: HTTP and UDP.
  const t0 = Date.now();
  await artist.setOffline(true);
  assert.equal(udpCut(true), '', 'the UDP ports cut');
  await waitState(page, 'reconnecting', 45000);
  assert.match(await page.textContent('#golive-state'), /^Связь прервалась\. Подключаемся снова \(попытка \d\)…$/);
  t.diagnostic(`the page said it reconnects ${Date.now() - t0} ms after the drop`);
  // The real-time viewer is moved to LL-HLS by itself, and told so.
  await waitFor(async () => ['watch.realtime.network', 'watch.realtime.stalled']
    .includes(await rt.page.getAttribute('#realtime-status', 'data-key')), { timeoutMs: 30000, what: 'the real-time viewer told it stopped' });
  assert.match(await rt.page.textContent('#realtime-status'), /\S/, 'in words');
  assert.equal(await rt.page.getAttribute('#realtime-toggle', 'aria-pressed'), 'false');
  // A while offline: the page keeps trying (and failing) on its own.
  await waitFor(async () => (await page.evaluate(() => window.sredaGoLive.attempt)) >= 2, { timeoutMs: 30000, what: 'a second attempt while offline' });
  assert.equal(await page.getAttribute('#golive-state', 'data-state'), 'reconnecting');

  // The network comes back: live again by itself, a new session, the same event.
  assert.equal(udpCut(false), '', 'the UDP ports open again');
  await artist.setOffline(false);
  const back = Date.now();
  await waitState(page, 'live', 60000);
  t.diagnostic(`live again ${Date.now() - back} ms after the network came back (${Date.now() - t0} ms after the drop)`);
  assert.equal(await page.textContent('#golive-state'), 'Вы в эфире.');
  assert.notEqual(await page.evaluate(() => window.sredaGoLive.location), location, 'a new session');
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'the same event live again' });
  assert.ok(Date.now() - t0 < GRACE_S * 1000, 'within the reconnect grace');
  await waitFor(async () => ((await live()).reconnects || 0) > before.reconnects, { what: 'the reconnect counted on the event' });
  // LL-HLS goes on (its segments numbered on from before the drop), and so does the one recording.
  await waitFor(async () => (await newestSegment()) > before.segment + 1, { timeoutMs: 30000, what: `new segments after #${before.segment}` });
  const recorded = await waitFor(async () => {
    const r = (await live()).recording;
    return r && r.duration_s > before.recorded + 3 ? r.duration_s : null;
  }, { timeoutMs: 30000, what: `the recording growing on from ${before.recorded} s` });
  await playsHls(hls.page, 'the LL-HLS viewer after the drop');
  await playsHls(rt.page, 'the real-time viewer, moved to LL-HLS');

  await pressStop(page, sreda, event.id);
  // After the grace the event ends: its one recording is the archive, as long as both halves together.
  const archived = await waitFor(async () => {
    const e = await sreda.publicEvent(event.id);
    return e.state === 'archived' && e.recording ? e : null;
  }, { timeoutMs: (GRACE_S + 60) * 1000, what: 'the event archived' });
  t.diagnostic(`recorded ${before.recorded} s before the drop, ${recorded} s after; archived ${archived.recording.duration_s} s`);
  assert.ok(archived.recording.duration_s >= recorded - 1, `one recording: ${archived.recording.duration_s} s ≥ ${recorded} s`);
  assert.equal((await sreda.api('GET', archived.recording.master)).status, 200, 'the archive plays');
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);
  assert.deepEqual(hls.errors, []);
  assert.deepEqual(rt.errors, []);
  for (const p of [page, hls.page, rt.page]) await p.close();
});
