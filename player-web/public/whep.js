// "Real time" on the watch page (issue 24): for events the curator marked real-time (a master class with
// questions), WHEP (draft-ietf-wish-whep) plays the event under a second behind the stage. It is a choice
// beside the one big Play button, which stays the simple default (LL-HLS through hls.js). Whenever real time
// cannot play — the server is full (503), the event has no real-time feed (404), the browser's WebRTC cannot
// play H.264 (422: Debian's Firefox without OpenH264), ICE fails (a strict firewall), or no picture is decoded
// within a few seconds — the page says so in words and plays LL-HLS by itself (watch.js's onFallback). A
// browser without WebRTC at all (WebKitGTK) is not offered real time.
// Non-trickle: the offer carries every candidate (gathering waits ≤ 2 s); the answer's Location ends the
// session (DELETE); the server answers PATCH with 405.

const GATHER_MS = 2000;
const FIRST_FRAME_MS = 6000;   // no decoded frame this long after the POST → LL-HLS
const DROP_MS = 3000;          // disconnected this long (or failed) → LL-HLS
const FROZEN_MS = 5000;        // playing, then no new frame this long → LL-HLS

// ---- shared with golive.js ----

/** Resolves when ICE gathering is complete, or after `ms` (the offer then goes with what it has). */
export function gathered(pc, ms = GATHER_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === 'complete') done(); }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** RTCIceServers from a list of URLs or {urls, username, credential}, as the API gives them. */
export function iceServerList(list) {
  return (Array.isArray(list) ? list : []).map((x) => (typeof x === 'string' ? { urls: x } : x))
    .filter((x) => x && x.urls);
}

/** RTCIceServers from an answer's Link headers (RFC 9725 §4.6: rel="ice-server", with TURN credentials). */
export function linkIceServers(header) {
  const out = [];
  for (const m of String(header || '').matchAll(/<([^>]+)>((?:\s*;\s*[\w-]+=(?:"[^"]*"|[^;,]*))*)/g)) {
    const params = {};
    for (const p of m[2].matchAll(/;\s*([\w-]+)=(?:"([^"]*)"|([^;,]*))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3];
    if (params.rel !== 'ice-server') continue;
    const server = { urls: m[1] };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    out.push(server);
  }
  return out;
}

/** The ICE servers an endpoint announces in its OPTIONS answer (none when it announces none or fails). */
export async function announcedIceServers(url) {
  try {
    const r = await fetch(url, { method: 'OPTIONS', cache: 'no-store' });
    return linkIceServers(r.headers.get('link'));
  } catch {
    return [];
  }
}

/** Whether this browser has WebRTC at all (WebKitGTK is built without it; some browsers switch it off). */
export function hasWebRtc() { return typeof window.RTCPeerConnection === 'function'; }

/**
 * A WHEP player for `video`. onPlaying() when the first frame is decoded; onFallback(reason) once, with
 * reason 'busy' | 'unavailable' | 'browser' (it cannot play the stream: no WebRTC, H.264 or Opus) | 'network' |
 * 'noframes' | 'stalled', after which this player has stopped itself.
 */
export function createWhep(video, { onPlaying, onFallback }) {
  const w = { pc: null, location: null, active: false, playing: false, reason: null, timers: [] };

  function clearTimers() { w.timers.forEach(clearTimeout); w.timers = []; }

  function fallback(reason) {
    if (!w.active) return;
    w.reason = reason;
    stop();
    onFallback(reason);
  }

  async function framesDecoded(pc) {
    let n = 0;
    try {
      (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded || 0; });
    } catch { /* closed */ }
    return n;
  }

  async function start(url, iceServers) {
    stop();
    w.active = true;
    w.playing = false;
    w.reason = null;
    const token = {};
    w.starting = token;
    let servers = iceServerList(iceServers);
    if (!servers.length) servers = await announcedIceServers(url);
    if (w.starting !== token || !w.active) return;
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: 'max-bundle' });
    } catch {
      return fallback('browser');  // WebRTC switched off in this browser
    }
    w.pc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (w.pc !== pc) return;
      const c = pc.connectionState;
      if (c === 'failed' || c === 'disconnected') {
        w.timers.push(setTimeout(() => {
          if (w.pc === pc && pc.connectionState !== 'connected') fallback('network');
        }, c === 'failed' ? 0 : DROP_MS));
      }
    });
    const video_ = pc.addTransceiver('video', { direction: 'recvonly' });
    const audio = pc.addTransceiver('audio', { direction: 'recvonly' });
    // The receivers' tracks exist before the answer: the video element gets them now, and play() waits.
    video.srcObject = new MediaStream([video_.receiver.track, audio.receiver.track]);
    video.play().catch(() => {});  // the page's play() came before this source existed
    // H.264 first: the server sends the studio's H.264 (or its own constrained-baseline encode).
    if (video_.setCodecPreferences && RTCRtpReceiver.getCapabilities) {
      const caps = RTCRtpReceiver.getCapabilities('video');
      if (caps) {
        const h264 = (c) => c.mimeType.toLowerCase() === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine || '');
        try { video_.setCodecPreferences([...caps.codecs.filter(h264), ...caps.codecs.filter((c) => !h264(c))]); } catch { /* keep */ }
      }
    }
    let r;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (w.pc !== pc) return;
      r = await fetch(url, { method: 'POST', cache: 'no-store', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    } catch {
      if (w.pc === pc) fallback('network');
      return;
    }
    if (w.pc !== pc) return;
    if (r.status === 503 || r.status === 429) {
      // A full server (viewer limits, overload) or one without real time at all: said differently.
      const error = await r.json().then((j) => j.error || {}, () => ({}));
      return fallback(error.code === 'webrtc_unavailable' ? 'unavailable' : 'busy');
    }
    // 422: the server cannot use this page's own offer, i.e. this browser's WebRTC plays no H.264 (Firefox
    // without its OpenH264 plugin) or no Opus: said so.
    if (r.status === 422) return fallback('browser');
    if (r.status !== 201 && r.status !== 200) return fallback('unavailable');
    const loc = r.headers.get('location');
    w.location = loc ? new URL(loc, url).href : null;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    } catch {
      if (w.pc === pc) fallback('unavailable');
      return;
    }
    // A picture decoded within a few seconds, else LL-HLS; then new frames all along (a picture frozen for
    // FROZEN_MS: LL-HLS, which also rides out the studio's intermission).
    const started = performance.now();
    let frames = 0, movedAt = 0;
    const check = async () => {
      if (w.pc !== pc) return;
      const n = await framesDecoded(pc);
      if (w.pc !== pc) return;
      const now = performance.now();
      if (n > frames) { frames = n; movedAt = now; }
      if (!w.playing && frames > 0) {
        w.playing = true;
        if (onPlaying) onPlaying();
      }
      if (!w.playing && now - started > FIRST_FRAME_MS) return fallback('noframes');
      if (w.playing && now - movedAt > FROZEN_MS) return fallback('stalled');
      w.timers.push(setTimeout(check, w.playing ? 1000 : 250));
    };
    check();
  }

  function stop() {
    clearTimers();
    w.starting = null;
    const had = w.active;
    w.active = false;
    w.playing = false;
    if (w.location) fetch(w.location, { method: 'DELETE', keepalive: true }).catch(() => {});
    w.location = null;
    if (w.pc) w.pc.close();
    w.pc = null;
    if (had && video.srcObject) { video.srcObject = null; }
  }

  w.start = start;
  w.stop = stop;
  w.framesDecoded = () => (w.pc ? framesDecoded(w.pc) : Promise.resolve(0));
  return w;
}
