// scripts/bench/webrtc, glass to glass (the method is in g2g.html and scripts/bench/webrtc's header).
//   node g2g.mjs --seconds N --warmup S [--hls 0|1] [--llhls 1] [--client PATH/webrtc_viewers]
// With --client, a second studio publishes over RTMP (webrtc_viewers --rtmp: the clock barcode painted into
// each frame by the wall clock) and a fourth tab watches it over WHEP (sreda's WHEP encode).
// Starts sreda (tests/web/lib/harness.mjs: temp data dir, free ports, 127.0.0.1, webrtc.local_addresses
// 127.0.0.1) and Debian's Chromium with tabs on sreda's origin: the publisher (canvas clock → WHIP), a WHEP
// viewer, an LL-HLS viewer (hls.js) and the browser's floor (the clock between two peer connections in one
// tab, no server); prints one table row per viewer. Everything it starts stops at exit.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sreda, launchBrowser, waitFor, stopAll } from '../../../tests/web/lib/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const SECONDS = Number(args.seconds || 30);
const WARMUP = Number(args.warmup || 10);
const WITH_HLS = args.hls !== '0';
const LLHLS_ONLY = args.llhls === '1';
const log = (...a) => console.error('[webrtc g2g]', ...a);
// When each new part of a media playlist comes (a blocking reload for the next one, as a player asks): Date.now()
// minus the wall time of the part's end by the playlist's PROGRAM-DATE-TIME (the segment's + the parts before it):
// how long after its media the server published it, offset by the run's clock reference (same for every part).
async function partTiming(url, ms) {
  const delays = [];
  const until = Date.now() + ms;
  let next = null;
  while (Date.now() < until) {
    const q = next ? `?_HLS_msn=${next.msn}&_HLS_part=${next.part}` : '';
    const text = await fetch(url + q, { signal: AbortSignal.timeout(10000) }).then((r) => r.text()).catch(() => '');
    const now = Date.now();
    let msn = Number((/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text) || [])[1]);
    let pdt = NaN, end = 0, part = 0, last = null, complete = false;
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) { pdt = Date.parse(line.slice(25)); end = 0; part = 0; }
      else if (line.startsWith('#EXT-X-PART:')) {
        end += 1000 * Number((/DURATION=([\d.]+)/.exec(line) || [])[1]);
        last = { msn, part, at: pdt + end };
        part++;
        complete = false;
      } else if (line.startsWith('#EXTINF:')) { msn++; complete = true; }
    }
    if (!last) { await sleep(200); continue; }
    if (next) delays.push(now - last.at);
    next = complete ? { msn: last.msn + 1, part: 0 } : { msn: last.msn, part: last.part + 1 };
  }
  return delays;
}

// A media playlist's layout in one line: each segment's duration, parts and which of them are INDEPENDENT
// (e.g. "2.000s 10p i0" — ten parts, only the first independent).
function layout(text) {
  const out = [];
  let parts = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PART:')) {
      const d = Number((/DURATION=([\d.]+)/.exec(line) || [])[1]);
      parts.push({ d, i: /INDEPENDENT=YES/.test(line) });
    } else if (line.startsWith('#EXTINF:')) {
      const d = parseFloat(line.slice(8));
      out.push(parts.length ? `${d.toFixed(3)}s ${parts.length}p i${parts.map((p, k) => (p.i ? k : -1)).filter((k) => k >= 0).join(',')}`
        + ` [${parts.map((p) => p.d.toFixed(2)).join(' ')}]` : `${d.toFixed(3)}s`);
      parts = [];
    }
  }
  if (parts.length) out.push(`open ${parts.length}p`);
  return out.slice(-6).join(' | ');
}

const sreda = new Sreda({ env: {
  SREDA_WEBRTC_LOCAL_ADDRESSES: '127.0.0.1', SREDA_WEBRTC_PORT_MIN: '47000', SREDA_WEBRTC_PORT_MAX: '47999',
  SREDA_ARCHIVE_RENDITIONS: process.env.SREDA_ARCHIVE_RENDITIONS ?? 'none',
} });
let browser = null;
let rtmpPublisher = null;
let rtmpEvent = null;
const pages = {};
try {
  await sreda.start();
  await sreda.login();
  const studio = await sreda.createStudio('webrtc g2g');
  const event = await sreda.createEvent(studio, 'webrtc g2g', 0, 120);
  // The real-time (WHEP) flag, where the server has one.
  await sreda.api('PATCH', `/api/events/${event.id}`, { realtime: true }, sreda.token).catch(() => {});
  browser = await launchBrowser({
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows'],
  });
  const html = readFileSync(join(HERE, 'g2g.html'));
  await browser.route(`${sreda.base}/__bench/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  const open = async (name, query) => {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') log(`${name} console:`, m.text()); });
    await page.goto(`${sreda.base}/__bench/g2g.html?${new URLSearchParams(query)}`);
    pages[name] = page;
    return page;
  };
  const state = (page) => page.evaluate(() => ({ state: window.bench.state, error: window.bench.error }));
  const until = async (name, want, timeoutMs) => waitFor(async () => {
    const s = await state(pages[name]);
    if (s.error) throw new Error(`${name}: ${s.error}`);
    return want.includes(s.state) ? s : null;
  }, { timeoutMs, what: `${name} ${want.join('/')}` });

  // --llhls 1 (scripts/bench/webrtc llhls): the WHIP studio's LL-HLS through the watch page's player with
  // nothing else running (the publisher tab and one watch-page tab), then the RTMP studio (the peer) the same
  // way, one after the other so each has the machine. One table row each, against the LL-HLS goal.
  const llhlsOnly = async (studio, event) => {
    const rows = [];
    const phase = async (label, what, ev, name) => {
      const src = `/live/${ev.id}/master.m3u8`;
      await waitFor(async () => (await fetch(`${sreda.base}${src}`)).status === 200 || null,
        { timeoutMs: 60000, what: `${what}: the event live (its master playlist)` });
      const loadStart = loadavg()[0];
      await open(name, { role: 'hls', pace: '1', src });
      await until(name, ['playing'], 60000);
      await sleep(WARMUP * 1000);
      await pages[name].evaluate(() => { window.bench.samples = []; window.bench.sampling = true; });
      log(`${what}: sampling ${SECONDS} s`);
      const probe = partTiming(`${sreda.base}/live/${ev.id}/source/index.m3u8`, SECONDS * 1000);
      await sleep(SECONDS * 1000);
      const delays = (await probe).sort((x, y) => x - y);
      const b = await pages[name].evaluate(() => ({ samples: window.bench.samples, bad: window.bench.bad,
        info: window.bench.info ? window.bench.info() : null }));
      const text = await (await fetch(`${sreda.base}/live/${ev.id}/source/index.m3u8`)).text().catch(() => '');
      log(`${what} source playlist: ${text.split('\n').filter((l) => /PART-INF|SERVER-CONTROL/.test(l)).join(' ')} ${layout(text)}`);
      const at = (d, f) => (d.length ? (d[Math.min(d.length - 1, Math.ceil(f * d.length) - 1)] / 1000).toFixed(3) : 'n/a');
      log(`${what} source parts: ${delays.length} came, each ${at(delays, 0.5)} s (p50) / ${at(delays, 0.95)} s (p95) after its media end's PROGRAM-DATE-TIME`);
      if (b.info) log(`${what}: hls.js latency ${Number(b.info.latency).toFixed(2)} s, target ${Number(b.info.target).toFixed(2)} s`);
      const s = b.samples.slice().sort((x, y) => x - y);
      rows.push({ label, n: s.length, p50: at(s, 0.5), p95: at(s, 0.95), bad: b.bad,
        range: s.length ? `${(s[0] / 1000).toFixed(3)}–${(s[s.length - 1] / 1000).toFixed(3)}` : 'n/a',
        stalls: b.info ? b.info.stalls : 'n/a', target: b.info ? Number(b.info.target).toFixed(2) : 'n/a',
        load: `${loadStart.toFixed(1)}→${loadavg()[0].toFixed(1)}`, parts: at(delays, 0.5) });
      await pages[name].close();
    };
    await open('publisher', { role: 'publish', whip: `/whip/${studio.id}`, key: studio.stream_key });
    await until('publisher', ['sent', 'connected'], 30000);
    await phase('WHIP (Chromium) → LL-HLS, the watch page', 'WHIP', event, 'whip-watch');
    await pages.publisher.close();  // the WHIP studio stops: the RTMP studio gets the machine
    const studio2 = await sreda.createStudio('webrtc g2g rtmp');
    const event2 = await sreda.createEvent(studio2, 'webrtc g2g rtmp', 0, 120);
    rtmpPublisher = spawn(args.client, ['--rtmp', `rtmp://127.0.0.1:${sreda.rtmpPort}/live/${studio2.stream_key}`],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    await phase('RTMP (the peer) → LL-HLS, the watch page', 'RTMP', event2, 'rtmp-watch');
    const p50 = (r) => Number(r.p50), p95 = (r) => Number(r.p95);
    console.log('| path | frames read | p50 (s) | p95 (s) | min–max (s) | stalls | hls.js target (s) | parts after PDT p50 (s) | load 1 min | goal: p50 ≤ 1.5, p95 ≤ 2.0, no stalls |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const met = r.n > 0 && p50(r) <= 1.5 && p95(r) <= 2.0 && r.stalls === 0;
      console.log(`| ${r.label} | ${r.n} | ${r.p50} | ${r.p95} | ${r.range} | ${r.stalls} | ${r.target} | ${r.parts} | ${r.load} | ${met ? 'met' : 'missed'} |`);
    }
  };
  if (LLHLS_ONLY) await llhlsOnly(studio, event);
  else {
    const viewers = [['browser → browser, no server (the floor)', 'loop', { role: 'loop' }]];
    const failed = [];  // [label, why]: rows that could not be measured
    await open('publisher', { role: 'publish', whip: `/whip/${studio.id}`, key: studio.stream_key });
    const published = await until('publisher', ['sent', 'connected'], 30000).then(() => true, (e) => {
      log(String(e.message));
      failed.push(['WHIP → WHEP (passthrough)', `WHIP publish: ${e.message}`]);
      if (WITH_HLS) failed.push(['WHIP → LL-HLS (hls.js lowLatencyMode)', 'WHIP publish failed']);
      return false;
    });
    if (published) {
      log('publisher sent its offer; waiting for the viewers');
      viewers.push(['WHIP → WHEP (passthrough)', 'whep', { role: 'whep', whep: `/whep/${event.id}` }]);
      if (WITH_HLS) {
        viewers.push(['WHIP → LL-HLS (hls.js lowLatencyMode)', 'hls', { role: 'hls', src: `/live/${event.id}/master.m3u8` }]);
        viewers.push(['WHIP → LL-HLS (the watch page: pace, start jump)', 'hls-watch',
          { role: 'hls', pace: '1', src: `/live/${event.id}/master.m3u8` }]);
      }
      // LL-HLS needs the event live and a few parts: the HLS tab opens after the playlist exists.
      await waitFor(async () => (await fetch(`${sreda.base}/live/${event.id}/master.m3u8`)).status === 200 || null,
        { timeoutMs: 60000, what: 'the event live (its master playlist)' }).catch((e) => log(String(e.message)));
    }
    if (args.client) {
      const studio2 = await sreda.createStudio('webrtc g2g rtmp');
      const event2 = await sreda.createEvent(studio2, 'webrtc g2g rtmp', 0, 120);
      await sreda.api('PATCH', `/api/events/${event2.id}`, { realtime: true }, sreda.token).catch(() => {});
      rtmpPublisher = spawn(args.client, ['--rtmp', `rtmp://127.0.0.1:${sreda.rtmpPort}/live/${studio2.stream_key}`],
        { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitFor(async () => (await fetch(`${sreda.base}/live/${event2.id}/master.m3u8`)).status === 200 || null,
        { timeoutMs: 60000, what: 'the RTMP event live' }).catch((e) => log(String(e.message)));
      viewers.push(['RTMP → WHEP (the WHEP encode)', 'rtmp-whep', { role: 'whep', whep: `/whep/${event2.id}` }]);
      // The same server's LL-HLS for an RTMP studio (keyframe every 2 s), as the watch page plays it: the peer.
      if (WITH_HLS) viewers.push(['RTMP → LL-HLS (the watch page)', 'rtmp-hls-watch', { role: 'hls', pace: '1', src: `/live/${event2.id}/master.m3u8` }]);
      rtmpEvent = event2;
    }
    for (const [, name, query] of viewers) await open(name, query);
    for (const [, name] of viewers) {
      await until(name, ['playing'], 60000).catch((e) => log(String(e.message)));
    }
    await sleep(WARMUP * 1000);
    for (const [, name] of viewers) await pages[name].evaluate(() => { window.bench.samples = []; window.bench.sampling = true; });
    log(`sampling ${SECONDS} s`);
    const probes = [['WHIP', published ? event : null], ['RTMP', rtmpEvent]].filter(([, ev]) => ev && WITH_HLS)
      .map(([what, ev]) => ({ what, delays: [], run: partTiming(`${sreda.base}/live/${ev.id}/source/index.m3u8`, SECONDS * 1000) }));
    await sleep(SECONDS * 1000);
    for (const p of probes) p.delays = await p.run;
    console.log('| path | frames read | p50 (s) | p95 (s) | min–max (s) | unreadable |');
    console.log('|---|---|---|---|---|---|');
    for (const [label, name] of viewers) {
      const b = await pages[name].evaluate(() => ({ samples: window.bench.samples, bad: window.bench.bad, state: window.bench.state, error: window.bench.error }));
      const s = b.samples.slice().sort((x, y) => x - y);
      const pct = (p) => (s.length ? (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] / 1000).toFixed(3) : 'n/a');
      console.log(`| ${label} | ${s.length} | ${pct(0.5)} | ${pct(0.95)} | ${s.length ? `${(s[0] / 1000).toFixed(3)}–${(s[s.length - 1] / 1000).toFixed(3)}` : 'n/a'} | ${b.bad}${b.error ? ` (${b.error})` : s.length ? '' : ` (state ${b.state})`} |`);
    }
    // The LL-HLS players' state (hls.js level, its latency estimate and target, stalls while sampling) and the
    // segment and part layout of the events' source renditions: where the seconds go.
    for (const [label, name] of viewers) {
      const info = await pages[name].evaluate(() => (window.bench.info ? window.bench.info() : null));
      if (info) log(`${label}: level ${info.level} (${info.height}p), hls.js latency ${Number(info.latency).toFixed(2)} s, target ${Number(info.target).toFixed(2)} s, stalls ${info.stalls}`);
    }
    for (const [what, ev] of [['WHIP', published ? event : null], ['RTMP', rtmpEvent]]) {
      if (!ev) continue;
      const text = await (await fetch(`${sreda.base}/live/${ev.id}/source/index.m3u8`)).text().catch(() => '');
      log(`${what} source playlist: ${text.split('\n').filter((l) => /PART-INF|SERVER-CONTROL/.test(l)).join(' ')} ${layout(text)}`);
    }
    for (const p of probes) {
      const d = p.delays.slice().sort((x, y) => x - y);
      const at = (f) => (d.length ? (d[Math.min(d.length - 1, Math.ceil(f * d.length) - 1)] / 1000).toFixed(3) : 'n/a');
      log(`${p.what} source parts: ${d.length} came, each ${at(0.5)} s (p50) / ${at(0.95)} s (p95) after its media end's PROGRAM-DATE-TIME`);
    }
    // What the browser's encoder saw and did (its outbound video stats): keyframe requests (PLI/FIR) that reached
    // it and the keyframes it made.
    if (published) {
      const enc = await pages.publisher.evaluate(async () => {
        const out = [];
        (await window.bench.pc.getStats()).forEach((r) => {
          if (r.type === 'outbound-rtp' && r.kind === 'video')
            out.push(`PLIs ${r.pliCount}, FIRs ${r.firCount}, keyframes ${r.keyFramesEncoded} of ${r.framesEncoded} frames, encoder ${r.encoderImplementation}`);
        });
        return out.join('; ');
      }).catch((e) => e.message);
      log(`WHIP publisher (Chromium): ${enc}`);
    }
    for (const line of sreda.log.filter((l) => /package source.*parts of/.test(l))) log(`sreda: ${line.slice(-90)}`);
    const metrics = await fetch(`${sreda.base}/metrics`).then((r) => (r.ok ? r.text() : '')).catch(() => '');
    const pli = metrics.split('\n').filter((l) => l.startsWith('sreda_whip_keyframe_requests_total')).join('; ');
    if (pli) log(`keyframe requests: ${pli}`);
    for (const [label, why] of failed) console.log(`| ${label} | not measured: ${why.replace(/\|/g, '/').slice(0, 160)} | | | | |`);
  }
} catch (err) {
  log('failed:', err.message);
  log(sreda.logText(40));
  process.exitCode = 1;
} finally {
  if (rtmpPublisher && rtmpPublisher.exitCode === null) rtmpPublisher.kill('SIGTERM');
  await stopAll(sreda, browser).catch((e) => log('stop:', e.message));
}
