// scripts/bench/latency, the part that runs things (the method is described in scripts/bench/latency).
//   node bench.mjs --seconds N --work DIR [--warmup S]
// Starts sreda (tests/web/lib/harness.mjs), nginx + nginx-rtmp, one ffmpeg publisher teed to both, and
// Debian's Chromium with three tabs; prints the table. Every process it starts is stopped at the end (and
// its pid is written to DIR/pids so the shell wrapper can kill leftovers).
import { spawn } from 'node:child_process';
import { writeFileSync, appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sreda, launchBrowser, waitFor, REPO } from '../../../tests/web/lib/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const SECONDS = Number(args.seconds || 60);
const WARMUP = Number(args.warmup || process.env.LAT_WARMUP || 10);
const WORK = resolve(args.work || '/tmp');
const FPS = 25;
// LAT_OBS=1: the publisher encodes as OBS does by default (High profile, 2 B-frames, no zerolatency tune).
const OBS = process.env.LAT_OBS === '1';
const X264_SETTINGS = OBS ? ['-profile:v', 'high', '-bf', '2'] : ['-tune', 'zerolatency', '-profile:v', 'main'];
// The watch page's pace (player-web/public/live-pace.js) rates, read from the page itself so tab (a) stays the page.
const watchConst = (name) => {
  const m = readFileSync(join(REPO, 'player-web/public/watch.js'), 'utf8').match(new RegExp(`const ${name} = ([0-9.]+);`));
  if (!m) throw new Error(`${name} not found in player-web/public/watch.js`);
  return Number(m[1]);
};
const WATCH_CATCHUP_RATE = watchConst('WATCH_CATCHUP_RATE');
const WATCH_SLOWDOWN_RATE = watchConst('WATCH_SLOWDOWN_RATE');
const GOP = Number(process.env.LAT_GOP || 25);   // frames: 1 s, so nginx-rtmp really cuts 1 s fragments
const BITS = 16, BOX = 24;                       // barcode geometry, as in player.html
const NGINX = process.env.NGINX || '/usr/sbin/nginx';
const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

const kids = [];
function track(proc, name) {
  kids.push({ proc, name });
  appendFileSync(join(WORK, 'pids'), `${proc.pid} ${name}\n`);
  return proc;
}
process.on('exit', () => { for (const { proc } of kids) { try { proc.kill('SIGKILL'); } catch { /* gone */ } } });

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

function waitExit(proc, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((r) => {
    const t = setTimeout(() => r(false), ms);
    proc.once('exit', () => { clearTimeout(t); r(true); });
  });
}
async function stopProc(proc, sig = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(sig);
  if (!(await waitExit(proc, 8000))) { proc.kill('SIGKILL'); await waitExit(proc, 3000); }
}

const log = (...a) => console.error('latency:', ...a);

function nginxConf(dir, rtmpPort, httpPort) {
  const hls = join(dir, 'hls');
  mkdirSync(hls, { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  return `load_module ${RTMP_MODULE};
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    chunk_size 4096;
    application live {
      live on;
      record off;
      hls on;
      hls_path ${hls};
      hls_fragment 1s;
      hls_playlist_length 6s;
    }
  }
}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types {
    text/html html;
    application/javascript js;
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
  }
  server {
    listen 127.0.0.1:${httpPort};
    location /hls/ {
      alias ${hls}/;
      add_header Access-Control-Allow-Origin * always;
      add_header Cache-Control no-cache;
    }
    location /bench/ { alias ${HERE}/; }
    location /vendor/ { alias ${REPO}/player-web/public/vendor/; }
    location = /live-pace.js { alias ${REPO}/player-web/public/live-pace.js; }
  }
}
`;
}

/** The publisher's picture: testsrc2 with the frame number n as a 16-bit barcode, top left
 * (row 0: bit k white when set; row 1: the complement, so a damaged read is detected). */
function barcodeFilter() {
  const f = [`drawbox=x=0:y=0:w=${BITS * BOX}:h=${2 * BOX}:color=black:t=fill`];
  for (let k = 0; k < BITS; k++) {
    const bit = `mod(floor(n/${2 ** k}),2)`;
    f.push(`drawbox=x=${k * BOX}:y=0:w=${BOX}:h=${BOX}:color=white:t=fill:enable='${bit}'`);
    f.push(`drawbox=x=${k * BOX}:y=${BOX}:w=${BOX}:h=${BOX}:color=white:t=fill:enable='1-${bit}'`);
  }
  return f.join(',\n');
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');

async function main() {
  const ffDuration = WARMUP + SECONDS + Number(process.env.LAT_PREROLL || 15) + 150;  // a bound; the publisher is stopped as soon as we are done
  // LAT_HOG=1: a busy process takes one core for the whole run (another service on the machine).
  if (process.env.LAT_HOG === '1') {
    track(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }), 'node');
    log('CPU hog: one busy process for the whole run');
  }
  // ---- sreda ----
  const sreda = new Sreda();
  await sreda.start();
  track(sreda.proc, 'sreda');
  await sreda.login();
  const studio = await sreda.createStudio('Latency bench');
  const event = await sreda.createEvent(studio, 'Latency bench', 5, 60);
  log(`sreda http=${sreda.httpPort} rtmp=${sreda.rtmpPort} event=${event.id}`);

  // ---- edges (LAT_EDGE_CMD, scripts/bench/edge): a command started with EDGE_ORIGIN_PORT=<sreda's HTTP port>
  // that prints "edge <name> <base URL>" per edge it runs, then "ready", and runs them until it gets SIGTERM.
  const edges = [];
  let edgeProc = null;
  if (process.env.LAT_EDGE_CMD) {
    edgeProc = track(spawn('bash', ['-c', process.env.LAT_EDGE_CMD], {
      env: { ...process.env, EDGE_ORIGIN_PORT: String(sreda.httpPort) }, stdio: ['ignore', 'pipe', 'inherit'] }), 'bash');
    let out = '';
    edgeProc.stdout.setEncoding('utf8');
    edgeProc.stdout.on('data', (c) => { out += c; });
    await waitFor(() => {
      if (edgeProc.exitCode !== null) throw new Error(`the edges exited ${edgeProc.exitCode}: ${out}`);
      return /^ready$/m.test(out);
    }, { timeoutMs: 60000, what: 'the edges' });
    for (const m of out.matchAll(/^edge (\S+) (\S+)$/gm)) edges.push({ name: m[1], base: m[2] });
    log(`edges: ${edges.map((e) => `${e.name} ${e.base}`).join(', ')}`);
  }

  // ---- nginx-rtmp ----
  const ndir = join(WORK, 'nginx');
  mkdirSync(ndir, { recursive: true });
  const nRtmp = await freePort();
  const nHttp = await freePort();
  writeFileSync(join(ndir, 'nginx.conf'), nginxConf(ndir, nRtmp, nHttp));
  const nginx = track(spawn(NGINX, ['-p', `${ndir}/`, '-e', `${ndir}/error.log`, '-c', join(ndir, 'nginx.conf')],
    { stdio: ['ignore', 'ignore', 'pipe'] }), 'nginx');
  let nginxErr = '';
  nginx.stderr.on('data', (c) => { nginxErr += c; });
  const nBase = `http://127.0.0.1:${nHttp}`;
  await waitFor(async () => {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxErr} ${existsSync(join(ndir, 'error.log')) ? readFileSync(join(ndir, 'error.log'), 'utf8') : ''}`);
    return (await fetch(`${nBase}/bench/player.html`)).ok;
  }, { timeoutMs: 15000, what: 'nginx' });
  log(`nginx http=${nHttp} rtmp=${nRtmp}`);

  // ---- the publisher: one encode, teed to both servers; -progress gives (wall clock, output time) ----
  const filterFile = join(WORK, 'barcode.filter');
  writeFileSync(filterFile, barcodeFilter());
  const tee = `[f=flv:onfail=ignore]rtmp://127.0.0.1:${sreda.rtmpPort}/live/${studio.stream_key}|` +
    `[f=flv:onfail=ignore]rtmp://127.0.0.1:${nRtmp}/live/bench`;
  const ff = track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin',
    '-progress', 'pipe:1', '-stats_period', '0.2',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=${FPS}`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(ffDuration), '-filter_script:v', filterFile,
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', ...X264_SETTINGS, '-pix_fmt', 'yuv420p',
    '-g', String(GOP), '-keyint_min', String(GOP), '-sc_threshold', '0', '-b:v', '800k',
    '-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2', '-flags', '+global_header',
    '-f', 'tee', tee], { stdio: ['ignore', 'pipe', 'pipe'] }), 'ffmpeg');
  let ffErr = '';
  ff.stderr.on('data', (c) => { ffErr += c; });
  const progress = [];   // [wall ms, output time ms]
  let pbuf = '';
  let outUs = null;
  ff.stdout.setEncoding('utf8');
  ff.stdout.on('data', (chunk) => {
    const wall = Date.now();
    pbuf += chunk;
    let i;
    while ((i = pbuf.indexOf('\n')) >= 0) {
      const line = pbuf.slice(0, i).trim();
      pbuf = pbuf.slice(i + 1);
      if (line.startsWith('out_time_us=')) outUs = Number(line.slice(12));
      else if (line.startsWith('progress=') && Number.isFinite(outUs) && outUs > 0) progress.push([wall, outUs / 1000]);
    }
  });

  const sredaSrc = `${sreda.base}/live/${event.id}/master.m3u8`;
  const nginxSrc = `${nBase}/hls/bench.m3u8`;
  await waitFor(async () => {
    if (ff.exitCode !== null) throw new Error(`ffmpeg exited ${ff.exitCode}: ${ffErr}`);
    const a = await fetch(sredaSrc);
    const b = await fetch(nginxSrc);
    return a.ok && b.ok;
  }, { timeoutMs: 30000, what: `both playlists (ffmpeg: ${ffErr})` });
  log('both playlists are up');
  // sreda's media playlist as a player first sees it: its header, and the first segment's PDT.
  let sredaHeader = '';
  let firstPdt = null;
  try {
    const master = await (await fetch(sredaSrc)).text();
    const variant = master.split('\n').find((l) => l && !l.startsWith('#'));
    const media = await (await fetch(new URL(variant.trim(), sredaSrc))).text();
    sredaHeader = media.split('\n').filter((l) => /^#EXT-X-(TARGETDURATION|SERVER-CONTROL|PART-INF|MEDIA-SEQUENCE)/.test(l)).join(' ');
    const m = media.match(/#EXT-X-MEDIA-SEQUENCE:0\b[\s\S]*?#EXT-X-PROGRAM-DATE-TIME:(\S+)/);
    if (m) firstPdt = Date.parse(m[1]);
  } catch (err) { log(`could not read sreda's media playlist: ${err.message}`); }

  // Viewers join a stream that is already running (a playlist with a full HOLD-BACK behind its edge),
  // not one that began a second ago: a player started on a 2-segment playlist sits closer to the edge
  // than it ever would later, and stays there.
  const PREROLL = Number(process.env.LAT_PREROLL || 15);
  log(`pre-roll: publishing ${PREROLL} s before the viewers join`);
  await sleep(PREROLL * 1000);
  if (ff.exitCode !== null) throw new Error(`ffmpeg exited ${ff.exitCode}: ${ffErr}`);

  // ---- the browser: three tabs, same page, same hls.js ----
  const browser = await launchBrowser({ viewport: { width: 640, height: 360 } });
  const setups = [
    // As the watch page plays it (player-web/public/watch.js): lowLatencyMode, paced by live-pace.js (catch-up
    // at most 1.05×, 0.97× when ahead of the target).
    { name: 'sreda LL-HLS (watch page settings)', src: sredaSrc, ll: 1, catchup: WATCH_CATCHUP_RATE, pace: WATCH_SLOWDOWN_RATE, goal: true },
    { name: 'sreda, no parts (lowLatencyMode off)', src: sredaSrc, ll: 0 },
    { name: 'nginx-rtmp HLS, 1 s fragments', src: nginxSrc, ll: 0 },
    // Plain hls.js in low-latency mode, no catch-up: a player on someone else's page stays where it starts.
    { name: 'sreda LL-HLS, plain hls.js (no catch-up)', src: sredaSrc, ll: 1, catchup: 1, plain: true },
  ];
  // Optional 5th tab: LL-HLS with hls.js's own catch-up (LAT_CATCHUP=1.5: up to 1.5× speed to reach its
  // target; 1 is the plain hls.js tab above). LAT_SYNC=S: that tab aims S seconds behind the
  // playlist's end (hls.js liveSyncDuration) instead of PART-HOLD-BACK.
  // With edges: the watch page's settings straight to sreda and through each edge, nothing else (fewer tabs on
  // the shared cores).
  if (edges.length) {
    setups.splice(1);
    for (const e of edges) {
      setups.push({ ...setups[0], name: `sreda LL-HLS through the ${e.name} edge`, src: sredaSrc.replace(sreda.base, e.base),
        goal: false, edge: e.name });
    }
  }
  if (process.env.LAT_CATCHUP) {
    const catchup = Number(process.env.LAT_CATCHUP);
    if (!(catchup >= 1 && catchup <= 2)) throw new Error('LAT_CATCHUP must be 1..2');
    const sync = Number(process.env.LAT_SYNC || 0);
    const name = (catchup > 1 ? `sreda LL-HLS, maxLiveSyncPlaybackRate ${catchup}` : 'sreda LL-HLS, no catch-up') +
      (sync > 0 ? `, liveSyncDuration ${sync}` : '');
    if (catchup > 1 || sync > 0) setups.push({ name, src: sredaSrc, ll: 1, catchup, sync });
  }
  try {
    for (const s of setups) {
      s.page = await browser.newPage();
      s.page.on('pageerror', (e) => log(`${s.name}: pageerror ${e.message}`));
      if (s.goal && process.env.LAT_DEBUG) {
        const file = resolve(process.env.LAT_DEBUG);
        log(`hls.js debug log of '${s.name}': ${file}`);
        s.page.on('console', (m) => appendFileSync(file, `${Date.now()} ${m.text()}\n`));
        s.debug = 1;
      }
      await s.page.goto(`${nBase}/bench/player.html?ll=${s.ll}&catchup=${s.catchup || 1}&sync=${s.sync || 0}&pace=${s.pace || 0}&debug=${s.debug || 0}&src=${encodeURIComponent(s.src)}`, { waitUntil: 'load', timeout: 30000 });
    }
    // Playing = the barcode reads and the playhead moves.
    for (const s of setups) {
      let last = -1;
      await waitFor(async () => {
        const p = await s.page.evaluate(() => window.bench.peek());
        const ok = p.frame >= 0 && last >= 0 && p.currentTime > last;
        last = p.currentTime;
        return ok;
      }, { timeoutMs: 60000, intervalMs: 500, what: `${s.name} to play` });
    }
    log(`all three play; warm-up ${WARMUP} s, then ${SECONDS} s of samples every 250 ms`);
    await sleep(WARMUP * 1000);
    await Promise.all(setups.map((s) => s.page.evaluate(() => window.bench.start())));
    for (let t = 0; t < SECONDS; t += 10) await sleep(Math.min(10, SECONDS - t) * 1000);
    for (const s of setups) s.result = await s.page.evaluate(() => window.bench.stop());
  } finally {
    await browser.close().catch(() => {});
    await stopProc(ff, 'SIGINT');
  }

  // ---- the publisher's clock: frame n left the encoder at  off + n × 40 ms ----
  // off = the smallest (wall − output time) over the progress reports: a report is written just after
  // the packet it counts, never before, so the lower envelope is the tightest bound.
  const steady = progress.filter(([, t]) => t > 2000);
  const offs = steady.map(([w, t]) => w - t).sort((a, b) => a - b);
  const off = offs[0];
  const spread = pct(offs, 50) - off;

  const rows = [];
  for (const s of setups) {
    const r = s.result;
    const good = r.samples.filter((x) => x.frame >= 0);
    const lat = good.map((x) => (x.now - (off + (x.frame * 1000) / FPS)) / 1000).sort((a, b) => a - b);
    const pdt = r.samples.filter((x) => x.playingDate).map((x) => (x.now - x.playingDate) / 1000).sort((a, b) => a - b);
    const hl = r.samples.filter((x) => x.hlsLatency !== null).map((x) => x.hlsLatency).sort((a, b) => a - b);
    s.p50 = pct(lat, 50); s.p95 = pct(lat, 95);
    rows.push([s.name, `${lat.length}/${r.samples.length}`, fmt(s.p50), fmt(s.p95),
      `${r.waiting} (${(r.waitingMs / 1000).toFixed(1)} s)`, pdt.length ? `${fmt(pct(pdt, 50))} / ${fmt(pct(pdt, 95))}` : 'no PDT',
      hl.length ? fmt(pct(hl, 50)) : '—']);
    const tl = r.samples.filter((x) => x.target !== null).map((x) => x.target).sort((a, b) => a - b);
    const ah = r.samples.map((x) => x.ahead).sort((a, b) => a - b);
    s.diag = `hls.targetLatency p50 ${fmt(pct(tl, 50))} s, buffer ahead of the playhead p50 ${fmt(pct(ah, 50))} s`;
    s.errs = r.errors;
    s.stalls = r.stalls || [];
    s.switches = r.switches || [];
    s.fatal = r.fatal;
  }
  const head = ['setup', 'samples', 'p50 s', 'p95 s', 'stalls (time)', 'PDT p50/p95 s', 'hls.latency p50'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  console.log('');
  console.log(`glass-to-glass latency, viewers join ${PREROLL} s into the stream; ${SECONDS} s of steady playback after ${WARMUP} s warm-up${process.env.LAT_HOG === '1' ? ', a CPU hog on one core' : ''}, ` +
    `640x360 ${FPS} fps x264 veryfast ${OBS ? 'High, 2 B-frames (OBS-like)' : 'zerolatency'}, GOP ${GOP / FPS} s, one ffmpeg teed to both servers`);
  console.log(line(head));
  console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('');
  const a = setups[0];
  const plain = setups.find((s) => s.plain);
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  console.log(`goal: sreda LL-HLS (watch page) p50 <= 1.5 s: ${fmt(a.p50)} s  ${verdict(a.p50 <= 1.5)}`);
  console.log(`goal: sreda LL-HLS (watch page) p95 <= 2.0 s: ${fmt(a.p95)} s  ${verdict(a.p95 <= 2.0)}`);
  console.log(`goal: sreda LL-HLS (watch page) no stalls: ${a.result.waiting}  ${verdict(a.result.waiting === 0)}`);
  if (plain) console.log(`goal: sreda LL-HLS, plain hls.js p50 <= 2.0 s: ${fmt(plain.p50)} s  ${verdict(plain.p50 <= 2.0)}`);
  for (const s of setups.filter((x) => x.edge)) {
    console.log(`edge ${s.edge}: p50 ${fmt(s.p50)} s p95 ${fmt(s.p95)} s vs straight to sreda p50 ${fmt(a.p50)} s: ` +
      `+${fmt(s.p50 - a.p50)} s, stalls ${s.result.waiting}`);
  }
  console.log('');
  console.log(`notes: samples = barcode reads / ticks; publisher clock from ${steady.length} ffmpeg progress reports ` +
    `(median report lag ${spread.toFixed(0)} ms); stalls = <video> 'waiting' events while sampling.`);
  if (sredaHeader) console.log(`  sreda media playlist: ${sredaHeader}`);
  if (firstPdt !== null) {
    console.log(`  sreda's first PROGRAM-DATE-TIME is ${(firstPdt - off).toFixed(0)} ms after the publisher sent frame 0 ` +
      '(PDT-based latency reads low by about that much)');
  }
  for (const s of setups) console.log(`  ${s.name}: ${s.diag}`);
  for (const s of setups) {
    const e = [...new Set(s.errs)];
    if (e.length || s.fatal) console.log(`  ${s.name}: hls.js errors: ${e.join(', ')}${s.fatal ? ` (${s.fatal} fatal)` : ''}`);
    for (const st of s.stalls) console.log(`  ${s.name}: stalled ${st}`);
    if (s.switches.length > 1) console.log(`  ${s.name}: hls.js levels: ${s.switches.join(', ')}`);
  }

  if (edgeProc) await stopProc(edgeProc);
  await stopProc(nginx, 'SIGQUIT');
  const code = await sreda.stop();
  if (code !== 0) log(`sreda exited with ${code} after SIGTERM:\n${sreda.logText(20)}`);
}

main().then(() => process.exit(0), (err) => { console.error('latency: FAILED:', err.stack || err); process.exit(1); });
