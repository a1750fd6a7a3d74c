// "Go live from this browser" on the artist's view (/studio/<id>?t=…, issue 24): a librarian with a laptop
// and a webcam, or a teacher sharing a screen, goes on air with one big button — no OBS.
// Camera and microphone pickers (enumerateDevices; their names appear after the first permission) or "share
// my screen" (getDisplayMedia, with the microphone); a muted preview and a sound level meter (AnalyserNode);
// a private "test my picture and sound" (a loopback RTCPeerConnection pair in the page, nothing leaves it);
// "Go live"/"Stop"; the state in words; a network drop reconnects by itself. A browser without WebRTC
// (WebKitGTK, some hardened ones) is told so at once, with where to go instead.
// Sending is WHIP (RFC 9725) without trickle: the offer carries every candidate (gathering waits ≤ 2 s),
// POSTed to the studio view's whip_url with "Authorization: Bearer <stream key>" (the view holds the key; this
// panel never shows it); the answer's Location ends the session (DELETE). The server answers PATCH with 405.
// The view is fetched again for every publish: fresh TURN credentials in its ice_servers.
import { $ } from './dom.js';
import { ApiError, fetchJson } from './api.js';
import { t, own, onChange } from './i18n.js';
import { gathered, iceServerList, announcedIceServers, hasWebRtc } from './whep.js';

const DROP_MS = 3000;              // a drop noticed this long (and not healed) → a new session
// Nothing at all from the server this long while live (its RTCP and answers to the browser's ICE checks came at
// most 0.6–1 s apart in golive-drop.test) → a drop, said at once. Chromium says "disconnected" only after ~5–7 s.
const QUIET_MS = 3000;
const QUIET_POLL_MS = 500;
const RETRY_S = [2, 5, 10];        // reconnect attempts wait this long (then 10 s each)
const TEST_REPORT_MS = 3000;       // the test reports what the encoder made after this long
const MAX_KBPS_720 = 2500;         // the browser's encoder at 720p (less for smaller pictures)
const CONNECT_MS = 15000;          // answered but not connected this long (UDP blocked?) → a new session

const studioId = Number((location.pathname.match(/^\/studio\/(\d+)/) || [])[1]);
const token = new URLSearchParams(location.search).get('t') || '';

const ui = {
  panel: $('golive'),
  camera: $('golive-camera'), screen: $('golive-screen'),
  cam: $('golive-cam'), mic: $('golive-mic'), speech: $('golive-speech'),
  stage: $('golive-stage'), preview: $('golive-preview'), level: $('golive-level'),
  state: $('golive-state'), problem: $('golive-problem'), result: $('golive-test-result'),
  test: $('golive-test'), start: $('golive-start'), stop: $('golive-stop'),
};

// What the panel does now: idle | testing | connecting | live | reconnecting | refused | stopped.
const s = {
  state: 'idle', attempt: 0, why: '',     // reconnecting (attempt n); refused (why, in words)
  stream: null,                           // the camera/screen + microphone being shown (and sent)
  pc: null, location: null, key: '',      // the WHIP session
  dropTimer: 0, retryTimer: 0,
  noticed: false,                         // a drop is said (reconnecting) while the old session may still heal
  quiet: { timer: 0, heard: 0, sum: -1, longest: 0 },  // what the server sends, watched while live (longest: ms)
  audio: null, meterTimer: 0, heard: 0,   // the level meter (heard: the loudest level since the test began)
  test: null,                             // the loopback pair of "test my picture and sound"
  generation: 0,                          // bumps on Stop: late answers of an older start are ignored
  ending: null,                           // the DELETE of the last session, while on its way
};
window.sredaGoLive = s;  // for the browser tests

// ---- words ----
function label() {
  $('golive-title').textContent = t('golive.title');
  $('golive-hint').textContent = t('golive.hint');
  $('golive-source-label').textContent = t('golive.source');
  $('golive-camera-label').textContent = t('golive.source.camera');
  $('golive-screen-label').textContent = t('golive.source.screen');
  $('golive-cam-label').textContent = t('golive.camera');
  $('golive-mic-label').textContent = t('golive.microphone');
  $('golive-speech-label').textContent = t('golive.speech');
  $('golive-level-label').textContent = t('golive.level');
  ui.preview.setAttribute('aria-label', t('golive.preview'));
  ui.start.textContent = t('golive.start');
  ui.stop.textContent = t('golive.stop');
  showState();
  fillDevices();
}

function showState() {
  const st = s.state;
  let text = '';
  if (st === 'testing') text = t('golive.state.testing');
  else if (st === 'connecting') text = t('golive.state.connecting');
  else if (st === 'live') text = t('golive.state.live');
  else if (st === 'reconnecting') text = t('golive.state.reconnecting', { n: s.attempt });
  else if (st === 'refused') text = t('golive.state.refused', { why: s.why });
  else if (st === 'stopped') text = t('golive.state.stopped');
  else text = t('golive.state.idle');
  if (ui.state.textContent !== text) ui.state.textContent = text;
  ui.state.dataset.state = st;
  ui.panel.dataset.state = st;
  const sending = st === 'connecting' || st === 'live' || st === 'reconnecting';
  const focused = document.activeElement;
  ui.start.hidden = sending;
  ui.stop.hidden = !sending;
  ui.test.hidden = sending;
  ui.test.textContent = t(st === 'testing' ? 'golive.test.stop' : 'golive.test');
  ui.test.setAttribute('aria-pressed', String(st === 'testing'));
  // The source cannot change under a running session (a new one would be needed): chosen before.
  for (const c of [ui.camera, ui.screen, ui.cam, ui.mic, ui.speech]) c.disabled = sending;
  ui.cam.disabled = sending || ui.screen.checked;
  // The focus follows the button the artist needs next: Stop appears where Go live was, and back.
  if (focused && (focused.hidden || focused.disabled) && ui.panel.contains(focused)) (sending ? ui.stop : ui.start).focus();
}

function problem(text) {
  ui.problem.textContent = text || '';
  ui.problem.hidden = !text;
}

// A camera, microphone or screen that could not be used, by err.name, with what to do.
function deviceProblem(err, screen) {
  const name = err && err.name;
  if (name === 'NotAllowedError') return t(screen ? 'golive.err.screen.notallowed' : 'golive.err.notallowed');
  if (name === 'NotFoundError') return t('golive.err.notfound');
  if (name === 'NotReadableError' || name === 'AbortError') return t('golive.err.notreadable');
  if (name === 'OverconstrainedError') return t('golive.err.overconstrained');
  if (name === 'SecurityError' || name === 'insecure') return t('golive.err.insecure');
  return t('golive.err.other', { name: name || String(err) });
}

// ---- devices ----
let devices = [];
async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { devices = []; }
  fillDevices();
}

function fillDevices() {
  const fill = (select, kind, nameKey) => {
    const chosen = select.value;
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    const options = [new Option(t('golive.device.default'), '')];
    list.forEach((d, i) => options.push(new Option(d.label || t(nameKey, { n: i + 1 }), d.deviceId)));
    select.replaceChildren(...options);
    if (options.some((o) => o.value === chosen)) select.value = chosen;
  };
  fill(ui.cam, 'videoinput', 'golive.device.camera.n');
  fill(ui.mic, 'audioinput', 'golive.device.microphone.n');
}

// The camera (or screen) and the microphone, as chosen; throws the browser's error.
async function openMedia() {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) throw Object.assign(new Error('no mediaDevices'), { name: 'insecure' });
  const speech = ui.speech.checked;  // a lecture: the browser cleans the voice up; music: untouched
  const audio = {
    echoCancellation: speech, noiseSuppression: speech, autoGainControl: speech,
    ...(ui.mic.value ? { deviceId: { exact: ui.mic.value } } : {}),
  };
  let stream;
  if (ui.screen.checked) {
    if (!md.getDisplayMedia) throw Object.assign(new Error('no getDisplayMedia'), { name: 'NotFoundError' });
    const screen = await md.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    let mic;
    try {
      mic = await md.getUserMedia({ audio });
    } catch (err) {
      screen.getTracks().forEach((tr) => tr.stop());
      throw err;
    }
    stream = new MediaStream([...screen.getVideoTracks(), ...mic.getAudioTracks()]);
    stream.getVideoTracks().forEach((tr) => { tr.contentHint = 'detail'; });
  } else {
    stream = await md.getUserMedia({
      video: {
        width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 },
        ...(ui.cam.value ? { deviceId: { exact: ui.cam.value } } : {}),
      },
      audio,
    });
    stream.getVideoTracks().forEach((tr) => { tr.contentHint = 'motion'; });
  }
  stream.getAudioTracks().forEach((tr) => { tr.contentHint = speech ? 'speech' : 'music'; });
  // The screen's own "Stop sharing" bar ends the video track: stop the broadcast in words, not in silence.
  stream.getVideoTracks().forEach((tr) => tr.addEventListener('ended', () => {
    if (s.stream === stream && s.state !== 'idle' && s.state !== 'stopped') stop();
  }));
  return stream;
}

async function useMedia() {
  if (s.stream) return s.stream;
  problem('');
  let stream;
  try {
    stream = await openMedia();
  } catch (err) {
    problem(deviceProblem(err, ui.screen.checked));
    throw err;
  }
  s.stream = stream;
  ui.stage.hidden = false;
  ui.preview.srcObject = stream;
  ui.preview.play().catch(() => {});
  startMeter(stream);
  listDevices();  // names appear after the first permission
  return stream;
}

function releaseMedia() {
  stopMeter();
  if (s.stream) s.stream.getTracks().forEach((tr) => tr.stop());
  s.stream = null;
  ui.preview.srcObject = null;
  ui.stage.hidden = true;
}

// ---- sound level ----
function startMeter(stream) {
  stopMeter();
  if (!stream.getAudioTracks().length || typeof AudioContext === 'undefined') return;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  // The last ~0.7 s: read every 100 ms, no sound between two reads is missed (a short clap counts as heard);
  // the meter shows the loudness of the newest 40 ms.
  analyser.fftSize = 32768;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  const recent = Math.round(ctx.sampleRate * 0.04);
  s.audio = ctx;
  ctx.resume().catch(() => {});
  s.meterTimer = setInterval(() => {
    analyser.getFloatTimeDomainData(data);
    let sum = 0, peak = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (i >= data.length - recent) sum += v * v;
      if (Math.abs(v) > peak) peak = Math.abs(v);
    }
    const rms = Math.sqrt(sum / recent);
    ui.level.value = Math.min(1, Math.sqrt(rms) * 1.5);  // a rough loudness: quiet speech shows, loud music fills it
    s.heard = Math.max(s.heard, peak);
  }, 100);
}

function stopMeter() {
  clearInterval(s.meterTimer);
  if (s.audio) s.audio.close().catch(() => {});
  s.audio = null;
  ui.level.value = 0;
}

// ---- codecs and encoder settings ----
// H.264 (packetization-mode=1, constrained baseline 42e01f first) for video, Opus for audio: what the
// server passes on to LL-HLS and real-time viewers without re-encoding.
function preferCodecs(transceiver, kind) {
  if (!transceiver.setCodecPreferences || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities(kind);
  if (!caps) return;
  const rank = (c) => {
    const mime = c.mimeType.toLowerCase();
    const fmtp = (c.sdpFmtpLine || '').toLowerCase();
    if (kind === 'audio') return mime === 'audio/opus' ? 0 : 1;
    if (mime !== 'video/h264') return 3;
    if (!/packetization-mode=1/.test(fmtp)) return 4;  // mode 0 last: the server takes mode 1
    return /profile-level-id=42e01f/.test(fmtp) ? 0 : /profile-level-id=42/.test(fmtp) ? 1 : 2;
  };
  const codecs = caps.codecs.map((c, i) => [rank(c), i, c]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
  try { transceiver.setCodecPreferences(codecs); } catch { /* the browser's own order then */ }
}

function maxKbps(track) {
  const height = (track.getSettings && track.getSettings().height) || 720;
  return Math.round(MAX_KBPS_720 * Math.min(1, Math.max(0.4, height / 720)));
}

async function tuneSender(sender, track) {
  const kbps = maxKbps(track);
  try {
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) p.encodings = [{}];
    p.encodings[0].maxBitrate = kbps * 1000;
    // A lower resolution would restart the server's session (a new recording part): keep it, drop frames.
    p.degradationPreference = 'maintain-resolution';
    await sender.setParameters(p);
  } catch { /* older browsers: their defaults */ }
}

function addTracks(pc, stream) {
  for (const track of stream.getTracks()) {
    const sendEncodings = track.kind === 'video' ? [{ maxBitrate: maxKbps(track) * 1000 }] : undefined;
    const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], ...(sendEncodings ? { sendEncodings } : {}) });
    preferCodecs(tr, track.kind);
  }
}

// ---- test my picture and sound (private) ----
async function startTest() {
  if (!hasWebRtc()) return problem(t('golive.err.nowebrtc'));
  try { await useMedia(); } catch { return; }
  s.state = 'testing';
  s.heard = 0;
  ui.result.hidden = true;
  showState();
  // Encode the picture as going live would, between two connections inside this page: what the encoder
  // really makes (size, frames a second) is reported. Nothing leaves the computer.
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  const test = { a, b, timer: 0 };
  s.test = test;
  a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate).catch(() => {}); };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate).catch(() => {}); };
  b.ontrack = () => {};
  try {
    addTracks(a, s.stream);
    const video = a.getSenders().find((x) => x.track && x.track.kind === 'video');
    if (video) await tuneSender(video, video.track);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
  } catch (err) {
    endTest();
    problem(t('golive.err.other', { name: (err && err.name) || String(err) }));
    return;
  }
  const report = async () => {
    if (s.test !== test) return;
    let width = 0, height = 0, fps = 0;
    try {
      (await a.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video') {
          width = r.frameWidth || width; height = r.frameHeight || height; fps = r.framesPerSecond || fps;
        }
      });
    } catch { /* closed meanwhile */ }
    if (s.test !== test) return;
    const picture = width ? t('golive.test.picture', { w: width, h: height, fps: Math.round(fps) }) : t('golive.test.nopicture');
    const sound = !s.stream.getAudioTracks().length ? t('golive.test.nomic')
      : s.heard > 0.01 ? t('golive.test.sound') : t('golive.test.silent');
    ui.result.textContent = `${picture} ${sound} ${t('golive.test.private')}`;
    ui.result.dataset.width = String(width);
    ui.result.hidden = false;
    test.timer = setTimeout(report, TEST_REPORT_MS);
  };
  test.timer = setTimeout(report, TEST_REPORT_MS);
}

function endTest() {
  if (!s.test) return;
  clearTimeout(s.test.timer);
  s.test.a.close();
  s.test.b.close();
  s.test = null;
}

function stopTest() {
  endTest();
  releaseMedia();
  s.state = 'idle';
  showState();
}

// ---- going live (WHIP) ----
async function goLive() {
  if (!hasWebRtc()) return problem(t('golive.err.nowebrtc'));  // it would wait for nothing: said at once
  const gen = ++s.generation;
  endTest();
  ui.result.hidden = true;
  problem('');
  s.attempt = 0;
  s.noticed = false;
  s.state = 'connecting';  // at once: an earlier refusal's words go away with the press
  showState();
  try { await useMedia(); } catch { s.state = 'idle'; showState(); return; }
  if (gen !== s.generation) return;
  publish(gen);
}

// One WHIP session: the view (key, whip_url, ice_servers) → offer with candidates → POST → answer.
async function publish(gen) {
  // The page's own last session ends first (Stop, then Go live at once: not "already publishing").
  if (s.ending) await Promise.race([s.ending, new Promise((r) => setTimeout(r, 2000))]);
  if (gen !== s.generation) return;
  let view;
  try {
    view = await fetchJson(`/api/studio-view/${studioId}?t=${encodeURIComponent(token)}`, { cache: 'no-store' });
  } catch (err) {
    if (gen !== s.generation) return;
    if (err instanceof ApiError && err.status === 404) return refused(t('studio.invalid'));
    return retryLater(gen);
  }
  if (gen !== s.generation) return;
  const whip = view && ((view.publish && view.publish.whip_url) || view.whip_url);
  if (!whip) return refused(t('golive.off'));
  s.key = (view.publish && view.publish.stream_key) || '';
  const url = new URL(whip, location.href).href;
  const given = view.publish && 'ice_servers' in view.publish ? view.publish.ice_servers : view.ice_servers;
  let servers = iceServerList(given);
  if (given === undefined) servers = await announcedIceServers(url);  // an older server: its OPTIONS says
  if (gen !== s.generation) return;
  const pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: 'max-bundle' });
  s.pc = pc;
  pc.addEventListener('connectionstatechange', () => watchConnection(pc, gen));
  let response;
  try {
    addTracks(pc, s.stream);
    const video = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    if (video) await tuneSender(video, video.track);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (gen !== s.generation || s.pc !== pc) return;
    response = await fetch(url, {
      method: 'POST', cache: 'no-store',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.key}` },
      body: pc.localDescription.sdp,
    });
  } catch (err) {
    if (gen !== s.generation || s.pc !== pc) return;
    closePc();
    if (err && err.name === 'TypeError') return retryLater(gen);  // the network: try again
    return refused(t('golive.err.other', { name: (err && err.name) || String(err) }));
  }
  if (gen !== s.generation || s.pc !== pc) {
    if (response.ok && response.headers.get('location')) endSession(new URL(response.headers.get('location'), url).href);
    return;
  }
  if (response.status !== 201 && response.status !== 200) {
    closePc();
    const text = await response.text().catch(() => '');
    let error = {};
    try { error = JSON.parse(text).error || {}; } catch { /* not JSON */ }
    // A drop the server has not noticed yet (409) and a busy server (503) heal: try again. A wrong or
    // changed key, no event now, a codec the server cannot take: said in words, and left to the artist.
    const again = (response.status >= 500 && error.code !== 'webrtc_unavailable') ||
      (response.status === 409 && s.state === 'reconnecting');
    if (again) return retryLater(gen);
    return refused(refusalText(response.status, error));
  }
  s.location = response.headers.get('location') ? new URL(response.headers.get('location'), url).href : null;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  } catch (err) {
    if (gen !== s.generation || s.pc !== pc) return;
    endSession(s.location);
    s.location = null;
    closePc();
    return refused(t('golive.err.answer'));
  }
  const video = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
  if (video) tuneSender(video, video.track);  // again, now that the encoder exists
  watchConnection(pc, gen);
  // Answered, but the media path never opens (a firewall that blocks UDP): try again as after a drop.
  s.dropTimer = s.dropTimer || setTimeout(() => {
    s.dropTimer = 0;
    if (gen !== s.generation || s.pc !== pc || pc.connectionState === 'connected') return;
    closePc(true);
    retryLater(gen);
  }, CONNECT_MS);
}

// The server's refusal in the page's words where known, else in the server's own.
function refusalText(status, error) {
  const msg = error.message || `HTTP ${status}`;
  return own(`srv.${msg}`) ?? own(`golive.why.${error.code}`) ?? own(`golive.why.${status}`) ?? msg;
}

function refused(why) {
  clearTimers();
  closePc();
  releaseMedia();
  s.state = 'refused';
  s.why = why;
  showState();
}

function watchConnection(pc, gen) {
  if (gen !== s.generation || s.pc !== pc) return;
  const c = pc.connectionState;
  if (c === 'connected') {
    if (!s.quiet.timer) watchQuiet(pc, gen);
    if (!s.noticed) live();
  } else if (c === 'failed' || c === 'disconnected' || c === 'closed') {
    dropped(pc, gen);
  }
}

function live() {
  clearTimeout(s.dropTimer);
  s.dropTimer = 0;
  s.noticed = false;
  s.attempt = 0;
  s.state = 'live';
  showState();
}

// A drop is said at once; DROP_MS later, unless the server was heard from again, the session is given up.
function dropped(pc, gen) {
  if (s.state === 'live') {
    s.noticed = true;
    s.attempt += 1;
    s.state = 'reconnecting';
    showState();
  }
  if (s.dropTimer) return;
  s.dropTimer = setTimeout(() => {
    s.dropTimer = 0;
    if (gen !== s.generation || s.pc !== pc) return;
    if (pc.connectionState === 'connected' && !s.noticed) return;
    closePc(true);
    retryLater(gen);
  }, DROP_MS);
}

// Whether anything comes from the server (getStats: every candidate pair's bytes, ICE requests and answers).
function watchQuiet(pc, gen) {
  const q = s.quiet;
  q.heard = performance.now();
  q.sum = -1;
  const timer = setInterval(async () => {
    if (gen !== s.generation || s.pc !== pc) return clearInterval(timer);
    let sum = 0;
    try {
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'candidate-pair') sum += (r.bytesReceived || 0) + (r.responsesReceived || 0) + (r.requestsReceived || 0);
      });
    } catch { return; }
    if (gen !== s.generation || s.pc !== pc) return;
    const now = performance.now();
    if (sum !== q.sum) {
      if (q.sum >= 0 && s.state === 'live') q.longest = Math.max(q.longest, now - q.heard);
      q.sum = sum;
      q.heard = now;
      if (s.noticed && pc.connectionState === 'connected') live();  // it healed before DROP_MS
    } else if (now - q.heard >= QUIET_MS && s.state === 'live') {
      dropped(pc, gen);
    }
  }, QUIET_POLL_MS);
  q.timer = timer;
}

function stopQuiet() { clearInterval(s.quiet.timer); s.quiet.timer = 0; }

// A new session after a drop: 2, 5, 10 s, then every 10 s; the server keeps the same event meanwhile.
function retryLater(gen) {
  if (gen !== s.generation) return;
  if (!s.noticed) s.attempt += 1;  // a noticed drop said its attempt already
  s.noticed = false;
  s.state = 'reconnecting';
  showState();
  clearTimeout(s.retryTimer);
  const wait = RETRY_S[Math.min(s.attempt - 1, RETRY_S.length - 1)];
  s.retryTimer = setTimeout(() => { if (gen === s.generation) publish(gen); }, wait * 1000);
}

// Ends the server's session (best effort: the server also notices a silent publisher by itself).
function endSession(url, keepalive = false) {
  if (!url) return;
  const ending = fetch(url, { method: 'DELETE', keepalive, headers: { authorization: `Bearer ${s.key}` } })
    .catch(() => {}).finally(() => { if (s.ending === ending) s.ending = null; });
  s.ending = ending;
}

function closePc(endOld = false) {
  if (endOld) { endSession(s.location); s.location = null; }
  stopQuiet();
  if (s.pc) s.pc.close();
  s.pc = null;
}

function clearTimers() {
  clearTimeout(s.dropTimer);
  clearTimeout(s.retryTimer);
  s.dropTimer = s.retryTimer = 0;
  s.noticed = false;
}

function stop() {
  s.generation++;
  clearTimers();
  endSession(s.location);
  s.location = null;
  closePc();
  endTest();
  releaseMedia();
  s.state = 'stopped';
  showState();
}

// ---- wiring ----
ui.test.addEventListener('click', () => (s.state === 'testing' ? stopTest() : startTest()));
ui.start.addEventListener('click', goLive);
ui.stop.addEventListener('click', stop);
// Another camera, microphone or source while testing: show it at once.
for (const c of [ui.cam, ui.mic, ui.camera, ui.screen, ui.speech]) {
  c.addEventListener('change', () => {
    showState();
    if (s.state === 'testing') { endTest(); releaseMedia(); startTest(); }
  });
}
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener('devicechange', listDevices);
}
window.addEventListener('pagehide', () => { if (s.location) endSession(s.location, true); });
onChange(label);

if (!studioId || !token) ui.panel.hidden = true;
else {
  label();
  listDevices();
  if (!window.isSecureContext) problem(t('golive.err.insecure'));
  else if (!hasWebRtc()) problem(t('golive.err.nowebrtc'));
}
