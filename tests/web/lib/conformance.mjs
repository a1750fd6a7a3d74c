// The conformance matrix (issue 16): what studios really send, each row published with a real encoder
// (ffmpeg's libx264/aac, GStreamer's x264enc/openh264enc/voaacenc) over RTMP or SRT, then checked end to end
// as a viewer and a curator would notice: hls.js plays the master playlist and keeps playing through a forced
// switch to every video level, ffmpeg decodes every rendition, the recording plays from start to end and its
// MP4 export has the right length and tracks. conformance.test.mjs runs it; scripts/test --long runs every
// row in both transports and both player configurations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness.mjs';

// One row. `video`: null for audio only; otherwise size, rate and the x264/encoder options. `audio`: null for
// video only; otherwise rate and channels. `seconds`: how long the studio publishes. `gst`: a GStreamer
// publisher instead of ffmpeg (RTMP only: rtmp2sink). `rungs`: the ladder rungs the row must get (checked
// against /api/events/{id}/live's `ladder`). `long`: only in --long mode. `overload`: more than a
// 2-core machine's ladder carries in real time (the overload policy drops rungs while the row plays): hls.js's
// levels may still list a rung stopped after the master was read. A stopped rung's
// playlist and parts answer 404 "stopped" at once (held part requests too), so hls.js moves to another level
// (tests/integration/test_ladder_overload_media.py). On these rows levels are not forced one by one (hls.js's
// manual mode); automatic selection, also on a slow line, is checked.
export const ROWS = [
  { name: 'OBS default: High, 2 B-frames, 2 s keyframes', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-bf', '2'] } },
  { name: 'High, 3 B-frames with b-pyramid', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-bf', '3', '-x264-params', 'b-pyramid=normal'] } },
  { name: 'Main', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'main'] } },
  { name: 'Constrained Baseline', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'baseline'] } },
  { name: 'High 4:2:0 at level 4.2', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-level', '4.2'] } },
  { name: '1920x1080 at 30 fps (OBS canvas)', video: { size: '1920x1080', rate: 30, x264: ['-profile:v', 'high', '-preset', 'ultrafast', '-bf', '2'] }, seconds: 22 },
  { name: '1920x1080 at 60 fps', video: { size: '1920x1080', rate: 60, x264: ['-profile:v', 'high', '-preset', 'ultrafast', '-bf', '2'] }, seconds: 22, overload: true },
  { name: '1280x720 at 60 fps', video: { size: '1280x720', rate: 60, x264: ['-profile:v', 'high', '-preset', 'ultrafast', '-bf', '2'] }, seconds: 22, overload: true },
  { name: '640x480 (4:3)', video: { size: '640x480', rate: 25, x264: ['-profile:v', 'high'] } },
  { name: '720x1280 (portrait phone)', video: { size: '720x1280', rate: 30, x264: ['-profile:v', 'high', '-preset', 'ultrafast'] }, seconds: 22 },
  { name: 'variable frame rate, jittered timestamps (phone app)', video: { size: '640x360', rate: 30, vfr: true, x264: ['-profile:v', 'high', '-bf', '0'] } },
  { name: 'keyframe every 1 s', video: { size: '640x360', rate: 30, keyint_s: 1, x264: ['-profile:v', 'high'] } },
  { name: 'keyframe every 4 s', video: { size: '640x360', rate: 30, keyint_s: 4, x264: ['-profile:v', 'high'] }, seconds: 20 },
  { name: 'keyframe every 10 s', video: { size: '640x360', rate: 30, keyint_s: 10, x264: ['-profile:v', 'high'] }, seconds: 32, long: true },
  { name: 'irregular keyframes (scene cuts)', video: { size: '640x360', rate: 30, keyframes_at: '0,1.3,3.1,4.0,6.2,7.1,9.5,11.3,12.2,14.8', x264: ['-profile:v', 'high'] } },
  { name: 'AAC 44.1 kHz', audio: { rate: 44100, channels: 2 } },
  { name: 'AAC mono', audio: { rate: 48000, channels: 1 } },
  { name: 'AAC 22.05 kHz mono', audio: { rate: 22050, channels: 1 } },
  { name: 'video without audio', audio: null },
  { name: 'audio without video (a lecture, a reading)', video: null },
  { name: 'GStreamer x264enc + voaacenc', gst: 'x264' },
  { name: 'GStreamer openh264enc + voaacenc', gst: 'openh264' },
  // The ladder's rung at the studio's own size: left out at a low bitrate (the studio's own stream is the top
  // rendition), encoded when the studio sends at least twice the rung's 700 kb/s.
  // (The 640x360 rows above at x264's default rate, 0.7–0.8 Mb/s here, get no 360p rung either: --long only.)
  { name: '360p at 300 kb/s: no 360p rung', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-b:v', '300k', '-maxrate', '300k', '-bufsize', '300k'] }, rungs: ['audio'], long: true },
  { name: '360p at 2 Mb/s: a 360p rung too', video: { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-b:v', '2000k', '-minrate', '2000k', '-maxrate', '2000k', '-bufsize', '1000k', '-x264-params', 'nal-hrd=cbr:filler=1'] }, rungs: ['360p', 'audio'] },
];

const DEFAULT_VIDEO = { size: '640x360', rate: 30, x264: ['-profile:v', 'high', '-bf', '2'] };
const DEFAULT_AUDIO = { rate: 48000, channels: 2 };

/** The row with its defaults filled in. */
export function resolveRow(row) {
  return {
    seconds: 16,
    ...row,
    video: row.video === null ? null : (row.video || DEFAULT_VIDEO),
    audio: row.audio === null ? null : { ...DEFAULT_AUDIO, ...(row.audio || {}) },
  };
}

function publishUrl(transport, key, sreda) {
  return transport === 'srt'
    ? { url: `srt://127.0.0.1:${sreda.srtPort}?streamid=publish:${key}&latency=200000`, format: 'mpegts' }
    : { url: `rtmp://127.0.0.1:${sreda.rtmpPort}/live/${key}`, format: 'flv' };
}

/** argv for the row's publisher (ffmpeg, or gst-launch-1.0 for the GStreamer rows). Without format=I420
 * x264enc is offered (and picks) 4:4:4, which no browser decodes: the server would transcode it (a rung at its
 * size instead of `source`, test_transcode_media), and these rows are about GStreamer's encoders as passed through. */
export function publisherCommand(row, transport, key, sreda) {
  const { url, format } = publishUrl(transport, key, sreda);
  if (row.gst) {
    const enc = row.gst === 'openh264'
      ? 'openh264enc bitrate=600000 gop-size=60 complexity=low'
      : 'x264enc bitrate=600 key-int-max=60 speed-preset=veryfast bframes=2';
    const desc = `videotestsrc is-live=true pattern=ball num-buffers=${row.seconds * 30} ! video/x-raw,width=640,height=360,framerate=30/1 ! ` +
      `videoconvert ! video/x-raw,format=I420 ! ${enc} ! h264parse ! queue ! mux. ` +
      `audiotestsrc is-live=true wave=sine num-buffers=${Math.ceil(row.seconds * 48000 / 1024)} samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! ` +
      `audioconvert ! voaacenc bitrate=128000 ! aacparse ! queue ! mux. ` +
      `flvmux name=mux streamable=true ! rtmp2sink location=${url}`;
    return ['gst-launch-1.0', ['-q', '-e', ...desc.split(' ').filter(Boolean)]];
  }
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  const v = row.video, a = row.audio;
  // Each input as long as the publish (an output -t with the variable-rate filter ends the sound a second
  // before the picture).
  const len = ['-t', String(row.seconds)];
  if (v) args.push('-re', '-f', 'lavfi', ...len, '-i', `testsrc2=size=${v.size}:rate=${v.rate}`);
  if (a) args.push('-re', '-f', 'lavfi', ...len, '-i', `sine=frequency=440:sample_rate=${a.rate}`);
  if (v) {
    const keyint = Math.round((v.keyint_s || 2) * v.rate);
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-b:v', '800k', ...v.x264);
    if (v.keyframes_at) args.push('-g', '1000', '-force_key_frames', v.keyframes_at);
    else args.push('-g', String(keyint), '-keyint_min', String(keyint), '-sc_threshold', '0');
    if (v.vfr) {
      // Phone apps: frames 33 ± 10 ms apart, timestamps as they come (no constant rate).
      args.push('-vf', `setpts='(N + 0.3*sin(N*1.7))/(${v.rate}*TB)'`, '-fps_mode', 'vfr', '-enc_time_base', '1/1000');
    }
  } else {
    args.push('-vn');
  }
  if (a) args.push('-c:a', 'aac', '-b:a', a.channels === 1 ? '64k' : '128k', '-ar', String(a.rate), '-ac', String(a.channels));
  else args.push('-an');
  args.push('-f', format, url);
  return ['ffmpeg', args];
}

/** Starts the row's publisher; resolves its exit code when it ends. */
export function startPublisher(row, transport, key, sreda, children) {
  const [cmd, args] = publisherCommand(row, transport, key, sreda);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO });
  const log = [];
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => log.push(c));
  children.add(proc);
  const done = new Promise((res) => proc.on('exit', (code, sig) => { children.delete(proc); res(code ?? sig); }));
  return { proc, log, done, stop: () => { try { proc.kill('SIGTERM'); } catch { /* gone */ } return done; } };
}

/** Runs a command, resolves { code, out, err }. */
export function run(cmd, args, timeoutMs = 60000) {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, sig) => { clearTimeout(t); res({ code: code ?? sig, out, err }); });
  });
}

export const ffprobeJson = async (url) => {
  const r = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', url]);
  return r.code === 0 ? JSON.parse(r.out) : { error: r.err };
};

/** The media playlists of a master playlist (absolute URLs) with their attributes. */
export function variants(masterText, masterUrl) {
  const lines = masterText.split('\n').map((l) => l.trim());
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('#EXT-X-STREAM-INF:')) continue;
    const attrs = lines[i].slice('#EXT-X-STREAM-INF:'.length);
    out.push({ attrs, url: new URL(lines[i + 1], masterUrl).href, name: lines[i + 1].split('/')[0],
      video: /avc1|hvc1/.test(attrs) });
  }
  return out;
}

// The checks a Safari/Apple HLS player relies on (RFC 8216bis, Apple's HLS authoring spec), on what is served:
// returns a list of problems (empty = fine).
export function checkMaster(text) {
  const problems = [];
  if (!text.startsWith('#EXTM3U')) problems.push('master: no #EXTM3U');
  for (const line of text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'))) {
    if (!/BANDWIDTH=\d+/.test(line)) problems.push(`master: no BANDWIDTH in ${line}`);
    if (!/CODECS="[^"]+"/.test(line)) problems.push(`master: no CODECS in ${line}`);
    if (/avc1/.test(line) && !/RESOLUTION=\d+x\d+/.test(line)) problems.push(`master: video without RESOLUTION: ${line}`);
    if (/avc1/.test(line) && !/FRAME-RATE=[\d.]+/.test(line)) problems.push(`master: video without FRAME-RATE: ${line}`);
  }
  return problems;
}

export function checkMedia(name, text, { live }) {
  const problems = [];
  const num = (re) => { const m = text.match(re); return m ? Number(m[1]) : null; };
  const target = num(/#EXT-X-TARGETDURATION:(\d+)/);
  if (target === null) problems.push(`${name}: no TARGETDURATION`);
  for (const m of text.matchAll(/#EXTINF:([\d.]+)/g)) {
    if (Math.round(Number(m[1])) > target) problems.push(`${name}: EXTINF ${m[1]} rounds above TARGETDURATION ${target}`);
  }
  if (!/#EXT-X-MAP:URI=/.test(text)) problems.push(`${name}: no EXT-X-MAP`);
  if (live) {
    const partTarget = num(/PART-TARGET=([\d.]+)/);
    if (partTarget === null) problems.push(`${name}: live playlist without PART-TARGET`);
    const holdBack = num(/PART-HOLD-BACK=([\d.]+)/);
    if (holdBack !== null && partTarget !== null && holdBack < 2 * partTarget) problems.push(`${name}: PART-HOLD-BACK ${holdBack} < 2 × PART-TARGET`);
    for (const m of text.matchAll(/#EXT-X-PART:DURATION=([\d.]+)/g)) {
      if (Number(m[1]) > partTarget + 1e-6) problems.push(`${name}: part ${m[1]} s longer than PART-TARGET ${partTarget}`);
    }
  } else if (!/#EXT-X-ENDLIST/.test(text)) {
    problems.push(`${name}: recording without ENDLIST`);
  }
  return problems;
}

/** The first PROGRAM-DATE-TIME of each msn in a media playlist: Map msn → ms. */
export function pdtByMsn(text) {
  const out = new Map();
  let msn = num0(text.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/));
  let pdt = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
    else if (line && !line.startsWith('#')) { if (pdt !== null) out.set(msn, pdt); pdt = null; msn++; }
  }
  return out;
}
function num0(m) { return m ? Number(m[1]) : 0; }

export const HLS_SCRIPT = join(REPO, 'player-web/public/vendor/hls.min.js');

/** Waits until the page's media element (window.__v) has played `seconds` more and is not paused; fails with
 * the player's log (window.__log) if not. */
export async function advances(page, seconds, what, timeoutMs = 30000) {
  const start = await page.evaluate(() => window.__v.currentTime);
  try {
    await page.waitForFunction(({ start, seconds }) => {
      const v = window.__v;
      return !v.paused && v.currentTime >= start + seconds;
    }, { start, seconds }, { timeout: timeoutMs, polling: 100 });
  } catch {
    const state = await page.evaluate(() => ({ t: window.__v.currentTime, paused: window.__v.paused, log: window.__log.slice(-15) }));
    assert.fail(`${what}: playback did not advance ${seconds} s from ${start.toFixed(2)} within ${timeoutMs / 1000} s ` +
      `(now ${state.t.toFixed(2)}, paused ${state.paused}):\n${state.log.join('\n')}`);
  }
}

/** A stock hls.js (default settings) playing `url` on a blank page of the server (`base`): window.__v the
 * video, window.__hls the player, window.__log its errors, level switches, stalls and media errors,
 * window.__ended set at 'ended'. */
export async function openStockPlayer(page, base, url) {
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ path: HLS_SCRIPT });
  await page.evaluate((url) => {
    const v = document.createElement('video');
    v.muted = true;
    document.body.appendChild(v);
    window.__v = v;
    window.__log = [];
    window.__ended = false;
    const hls = new window.Hls();
    window.__hls = hls;
    const t0 = performance.now();
    const note = (s) => window.__log.push(`${((performance.now() - t0) / 1000).toFixed(2)} ${s}`);
    hls.on(window.Hls.Events.ERROR, (_e, d) => note(`error ${d.type} ${d.details} fatal=${d.fatal}`));
    hls.on(window.Hls.Events.LEVEL_SWITCHED, (_e, d) => note(`level ${d.level}`));
    v.addEventListener('waiting', () => note(`waiting at ${v.currentTime.toFixed(2)}`));
    v.addEventListener('error', () => note(`media error ${v.error && v.error.code}: ${v.error && v.error.message}`));
    v.addEventListener('ended', () => { window.__ended = true; });
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => v.play().catch((e) => note(`play: ${e}`)));
    hls.loadSource(url);
    hls.attachMedia(v);
  }, url);
}
