// The live watch page: /watch/<event id>.
// One big Play button (sound on), hls.js in low-latency mode (Safari/iPad: native HLS), a quiet banner for
// "starts at", "back in a moment" and "ended", latency behind live and a "go to live" button.
// It heals itself: while the event is not live it polls the public API every few seconds; when the event
// is (again) live it (re)loads the master playlist; network errors are retried, media errors recovered.
// Text from the API goes in only through textContent.
// An archived event plays its recording (/archive/<id>/master.m3u8) as a VOD: the native seek bar, the
// arrow keys seek (±10 s, ±60 s with Shift), and the position is kept in localStorage so a viewer
// comes back where they stopped.
// hls.js (vendor/hls.min.js) and live-pace.js are classic scripts before this module: window.Hls,
// window.sredaLivePace. "Real time" (whep.js): for events with `realtime`, a choice beside Play that plays
// over WHEP and falls back to LL-HLS by itself, saying so. The audience panel (comments.js) is imported first, so it hears the first event.
import './comments.js';
import { $, remembered } from './dom.js';
import { fetchJson } from './api.js';
import * as i18n from './i18n.js';
import { createWhep, hasWebRtc } from './whep.js';

const POLL_NOT_LIVE_MS = 4000;   // scheduled / intermission / no connection: look again soon
const POLL_LIVE_MS = 15000;      // live: only to notice intermission / end
const RETRY_MS = 3000;           // after a network error on the playlist or media
const STALL_RELOAD_MS = 8000;    // live, wanted to play, no progress this long → reload the playlist
const SEEK_S = 10;               // arrow keys in a recording (Shift: 60 s)
const BEHIND_S = 3;              // "back to live" shows when this much later than the player's target latency
const RESUME_MIN_S = 5;          // positions closer than this to the start or the end are not kept
const WATCH_CATCHUP_RATE = 1.05; // live: play this much faster to get back to hls.js's target latency…
const WATCH_SLOWDOWN_RATE = 0.97; // …and this much slower when closer to live than it (a slow studio clock)
// The packager puts every run of an event on its output timeline at media time + run_gap_ms
// (server/package/cmaf_packager.h, shared_clock): a segment's tfdt is the event's media time + 200 ms.
const PACKAGER_RUN_GAP_MS = 200;

// Text: i18n.js (Russian by default, other languages switchable; settings.js renders the switches).
const T = i18n.t;
const STATES = ['scheduled', 'live', 'intermission', 'ended', 'archived', 'cancelled'];

const video = $('video');
const playBtn = $('play');
const playLabel = $('play-label');
const banner = $('banner');
const liveBar = $('live-bar');
const latencyEl = $('latency');
const goLiveBtn = $('go-live');
const listenBtn = $('listen');

const m = location.pathname.match(/^\/watch\/(\d+)/);
const eventId = m ? m[1] : null;
const masterUrl = eventId ? `/live/${eventId}/master.m3u8` : null;
const archiveUrl = eventId ? `/archive/${eventId}/master.m3u8` : null;
const resumeKey = `sreda.resume.${eventId}`;
const listenKey = 'sreda.listenOnly';  // remembered for every event: "1" = sound only

const player = {
  event: null,        // the last public event seen
  hls: null,          // the hls.js instance, when MSE is used
  native: false,      // Safari / iPad native HLS
  wantPlay: false,    // the viewer pressed Play: play whenever there is something to play
  lastProgress: 0,    // performance.now() when currentTime last moved
  lastTime: -1,
  pollTimer: 0,
  retryTimer: 0,
  retryPending: false,  // a retry after an error is due (retrySoon): poll() leaves the start to it
  // Recordings: the event's media time (ms) at currentTime 0 — see mediaMs(). null until known.
  mediaStartMs: null,
  mediaMs,
  // Listen only: the master playlist's audio-only variant (CODECS mp4a only), played on its own.
  listenOnly: readListenOnly(),
  audioUrl: null,     // that variant's media playlist, for the master playlist in audioFor
  audioFor: null,
  video,
  realtime: false,    // the viewer chose "Real time" (WHEP) for this event
  whep: null,         // whep.js's player (its pc, for the tests' getStats)
};
window.sredaPlayer = player;  // for the browser tests and for curious viewers' consoles

const useHlsJs = typeof window.Hls !== 'undefined' && window.Hls.isSupported();
const useNative = !useHlsJs && !!video.canPlayType('application/vnd.apple.mpegurl');

// ---- text ----
function timeOf(iso) {
  const d = new Date(iso);
  const hm = i18n.date(d, { hour: '2-digit', minute: '2-digit' });
  const today = new Date();
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (d.toDateString() === today.toDateString()) return T('watch.at', { t: hm });
  if (d.toDateString() === tomorrow.toDateString()) return T('watch.at.tomorrow', { t: hm });
  return T('watch.at.date', { d: i18n.date(d, { day: 'numeric', month: 'long' }), t: hm });
}

function whenText(e) {
  const opts = { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  return i18n.date(e.starts_at, opts);
}

function setBanner(text, kind) {
  banner.textContent = text || '';
  banner.hidden = !text;
  banner.dataset.kind = kind || '';
}

// A refusal by a server limit (429, 503): say so in plain words, and when we try again (Retry-After).
function refusedFor(status, retryAfter) {
  if (status !== 429 && status !== 503) return 0;
  const s = Math.min(300, Math.max(1, parseInt(retryAfter, 10) || 5));
  setBanner(T('watch.busy', { s }), 'busy');
  return s * 1000;
}

function bannerFor(e) {
  switch (e.state) {
    case 'scheduled': return [T('watch.banner.scheduled', { when: timeOf(e.starts_at) }), 'scheduled'];
    case 'intermission': return [T('watch.banner.intermission'), 'intermission'];
    case 'ended': return [T('watch.banner.ended'), 'ended'];
    case 'archived': return [T('watch.banner.archived'), 'ended'];
    case 'cancelled': return [T('watch.banner.cancelled'), 'cancelled'];
    default: return ['', ''];
  }
}

function isArchived() { return !!player.event && player.event.state === 'archived'; }

function durationText(s) {
  const m = Math.round(s / 60);
  return m >= 60 ? T('watch.duration', { h: Math.floor(m / 60), m: m % 60 }) : T('watch.duration.min', { m: Math.max(m, 1) });
}

// ---- listen only ----
function readListenOnly() { return remembered.read(listenKey) === '1'; }
function showListen() {
  listenBtn.hidden = !player.audioUrl || !hasSource();
  listenBtn.setAttribute('aria-pressed', String(player.listenOnly));
  $('listen-label').textContent = T(player.listenOnly ? 'watch.listen.off' : 'watch.listen');
}
// hls.js drops audio-only variants from hls.levels when the master playlist also has video ones, so the
// audio rendition is found in the parsed master playlist (MANIFEST_LOADED) and loaded as its own source.
function audioVariant(levels) {
  const a = (levels || []).find((l) => l.audioCodec && !l.videoCodec && !l.width && !(l.attrs && l.attrs.RESOLUTION));
  return a ? (Array.isArray(a.url) ? a.url[0] : a.url) : null;
}
function toggleListen() {
  player.listenOnly = !player.listenOnly;
  remembered.write(listenKey, player.listenOnly ? '1' : '0');
  showListen();
  if (hasSource()) startPlayback(isArchived() ? video.currentTime : 0);
}

// ---- media time (recordings) ----
// Comments carry media_ms, the event's media clock (server/hub: the first session starts at 500 ms of
// headroom, later sessions continue after the previous one). The archive stores the packager's segments,
// whose tfdt is media time + PACKAGER_RUN_GAP_MS; a trim drops whole segments from the start. hls.js
// plays a VOD from currentTime 0 = the first listed segment and reports that segment's decode time as
// initPTS (baseTime / timescale, already moved back by the segment's playlist position), so
//   media_ms = initPTS_s * 1000 - PACKAGER_RUN_GAP_MS + currentTime * 1000
// is exact for the recording's first run (trimmed or not). After a DISCONTINUITY (the studio reconnected)
// hls.js continues on the playlist's EXTINF sum, and the media clock only skips the 500 ms session
// headroom there, so a comment may come up to ~0.5 s early per reconnect. Native HLS (Safari) has no
// initPTS: it is taken as the media clock's start.
function mediaMs() {
  if (player.mediaStartMs === null) return null;
  return player.mediaStartMs + video.currentTime * 1000;
}

// ---- resume position (recordings) ----
function savedPosition() {
  const v = parseFloat(remembered.read(resumeKey));
  return Number.isFinite(v) ? v : 0;
}
function savePosition() {
  if (!isArchived() || !hasSource() || !(video.currentTime > 0)) return;
  const d = video.duration;
  if (video.currentTime < RESUME_MIN_S || (Number.isFinite(d) && d - video.currentTime < RESUME_MIN_S)) remembered.forget(resumeKey);
  else remembered.write(resumeKey, String(Math.floor(video.currentTime)));
}
function seekBy(s) {
  const d = Number.isFinite(video.duration) ? video.duration : Infinity;
  video.currentTime = Math.max(0, Math.min(d - 0.5, video.currentTime + s));
  savePosition();
}

function showEvent(e) {
  document.title = T('watch.doc.title', { title: e.title });
  $('title').textContent = e.title;
  $('studio').textContent = e.studio && e.studio.name ? e.studio.name : '';
  $('state').textContent = STATES.includes(e.state) ? T(`watch.state.${e.state}`) : e.state;
  $('state').dataset.state = e.state;
  $('when').textContent = whenText(e);
  $('description').textContent = e.description || '';
  // A residents' wish this event answers (the Wishes page, /wishes).
  $('wish').hidden = !e.wish;
  $('wish').textContent = e.wish ? T('watch.wish', { text: e.wish.text }) : '';
  if (e.ics_url) $('ics').href = e.ics_url;
  let [text, kind] = bannerFor(e);
  if (player.wantPlay && e.state === 'scheduled') text += T('watch.banner.auto.start');
  if (player.wantPlay && e.state === 'intermission') text += T('watch.banner.auto.resume');
  if (e.state === 'archived') {
    if (e.poster && !video.getAttribute('poster')) video.poster = e.poster;
    text = e.duration_s ? T('watch.banner.record.len', { d: durationText(e.duration_s) }) : T('watch.banner.record');
    if (!hasSource() && savedPosition() > 0) playLabel.textContent = T('watch.play.resume');
    else if (!hasSource()) playLabel.textContent = T('watch.play.record');
  }
  setBanner(text, kind);
  $('realtime').hidden = !realtimeOffered() || !['scheduled', 'live', 'intermission'].includes(e.state);
  // Play is offered while something is or may soon be on; it is the one big thing on the page.
  playBtn.hidden = !(['scheduled', 'live', 'intermission', 'archived'].includes(e.state)) || isPlaying();
}

// ---- polling the event ----
function schedulePoll(ms) {
  clearTimeout(player.pollTimer);
  player.pollTimer = setTimeout(poll, ms);
}

async function poll() {
  let e = null;
  try {
    e = await fetchJson(`/api/public/events/${eventId}`, { cache: 'no-store' });
    if (!e) throw new Error('no event');
  } catch (err) {
    if (err.status === 404) {
      $('title').textContent = T('watch.missing');
      setBanner(T('watch.missing.hint'), 'missing');
      playBtn.hidden = true;
      return;  // nothing will ever appear here
    }
    const wait = refusedFor(err.status, err.retryAfter);
    if (wait) { schedulePoll(wait); return; }
    setBanner(T('watch.offline'), 'offline');
    schedulePoll(POLL_NOT_LIVE_MS);
    return;
  }
  const before = player.event ? player.event.state : null;
  player.event = e;
  showEvent(e);
  document.dispatchEvent(new CustomEvent('sreda:event', { detail: e }));  // comments.js follows the state
  if (e.state === 'live') {
    // Not while a retry after an error is due: that one starts it (else each failed start would start
    // the next at once: a loop as fast as the server answers).
    if (player.wantPlay && !player.retryPending && (before !== 'live' || !hasSource())) startPlayback();
    schedulePoll(POLL_LIVE_MS);
  } else if (e.state === 'intermission' || e.state === 'scheduled') {
    schedulePoll(POLL_NOT_LIVE_MS);
  } else if (e.state === 'ended') {
    schedulePoll(POLL_NOT_LIVE_MS);  // to offer the recording as soon as it is archived
  } else if (e.state === 'archived' && before && before !== 'archived' && hasSource()) {
    stopSource();  // the live window ended: the whole recording replaces it
  }
  // archived, cancelled: final; no more polling
}

// ---- real time (WHEP) ----
// Offered only where it can play: a browser without WebRTC (WebKitGTK, some hardened ones) plays LL-HLS.
function realtimeOffered() {
  return !!player.event && player.event.realtime === true && !!player.event.whep_url && hasWebRtc();
}
function showRealtime(key) {
  const st = $('realtime-status');
  st.textContent = key ? T(key) : '';
  st.hidden = !key;
  st.dataset.key = key || '';
  $('realtime-toggle').setAttribute('aria-pressed', String(player.realtime));
}
function toggleRealtime() {
  player.realtime = !player.realtime;
  showRealtime('');
  player.wantPlay = true;
  const e = player.event;
  if (e && e.state === 'live') startPlayback();
  else onPlayClick();  // not on air yet: it starts by itself, in real time, when the studio goes live
}
player.whep = createWhep(video, {
  onPlaying: () => showRealtime('watch.realtime.playing'),
  // Real time could not play: LL-HLS (the usual way) at once, saying why — unless the event is no longer live
  // (its end or an intermission stops real time too; the page then shows that as usual).
  onFallback: async (reason) => {
    player.realtime = false;
    showRealtime('');
    await poll();
    if (!player.event || player.event.state !== 'live') return;
    showRealtime(`watch.realtime.${reason}`);
    if (player.wantPlay && !hasSource()) startPlayback();
  },
});

// ---- playback ----
function hasSource() { return !!player.hls || (player.native && !!video.getAttribute('src')) || player.whep.active; }
function isPlaying() { return hasSource() && !video.paused && !video.ended; }

function stopSource() {
  clearTimeout(player.retryTimer);
  player.retryPending = false;
  if (player.unpace) { player.unpace(); player.unpace = null; }
  if (player.hls) { player.hls.destroy(); player.hls = null; }
  if (player.native) { video.removeAttribute('src'); video.load(); }
  player.whep.stop();
}

function retrySoon() {
  clearTimeout(player.retryTimer);
  player.retryPending = true;
  player.retryTimer = setTimeout(() => {
    player.retryPending = false;
    if (player.wantPlay && player.event && (player.event.state === 'live' || isArchived())) startPlayback();
    else poll();
  }, RETRY_MS);
}

// `at`: where a recording starts (the saved position when not given).
function startPlayback(at) {
  stopSource();
  player.lastProgress = performance.now();
  const vod = isArchived();
  const master = vod ? archiveUrl : masterUrl;
  const audioOnly = player.listenOnly && player.audioFor === master && !!player.audioUrl;
  const url = audioOnly ? player.audioUrl : master;
  const resumeAt = vod ? (at > 0 ? at : savedPosition()) : 0;
  if (!vod && realtimeOffered() && player.realtime) {
    showRealtime('watch.realtime.connecting');
    player.whep.start(new URL(player.event.whep_url, location.href).href, player.event.ice_servers);
    tryPlay();
    return;
  }
  if (useHlsJs) {
    const hls = new window.Hls(vod ? { startPosition: resumeAt > 0 ? resumeAt : -1, fragLoadingMaxRetry: 6 } : {
      lowLatencyMode: true,
      // Gentle pace (live-pace.js, not hls.js's maxLiveSyncPlaybackRate, which only speeds up). hls.js
      // picks its start position before the first parts arrive, so playback begins up to ~2 s further
      // behind live than its target (the playlist's PART-HOLD-BACK) and, without catch-up, stays there. It
      // may play at most 5 % faster (pitch kept) until it is back at the target, and only while more than
      // 1 s is buffered ahead; a studio whose clock runs slow is met by playing 3 % slower; after a stall
      // hls.js moves its target back by 1 s. scripts/bench/latency measures it (LAT_CATCHUP=1 adds a tab
      // without catch-up).
      // No back-buffer trimming of our own (hls.js's default): with backBufferLength set, hls.js trims the
      // played past every segment, and a trim that completes while a part is between loaded and appended
      // drops that segment from hls.js's fragment tracker; its parts then count as not loaded, hls.js
      // picks the same segment again at the next boundary and loads nothing: a 3 s wait, several an hour
      // (seen with the clock-drift test's hls.js log). The browser evicts played media itself when its
      // buffer quota fills.
      backBufferLength: Infinity,
      liveDurationInfinity: true,
      manifestLoadingMaxRetry: 2,
      levelLoadingMaxRetry: 4,
      fragLoadingMaxRetry: 6,
    });
    player.hls = hls;
    if (!vod) player.unpace = window.sredaLivePace(hls, video, { fast: WATCH_CATCHUP_RATE, slow: WATCH_SLOWDOWN_RATE });
    hls.on(window.Hls.Events.ERROR, (_ev, data) => {
      if (!data.fatal || hls !== player.hls) return;
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        // Network (404 before the studio's first segment, a dropped connection, a server restart) or
        // anything else: start over from the master playlist in a moment, after checking the state. A
        // refusal by a limit says so and waits as long as the server asked.
        const code = data.response && data.response.code;
        const details = data.networkDetails;
        const wait = refusedFor(code, details && details.getResponseHeader ? details.getResponseHeader('retry-after') : null);
        stopSource();
        if (wait) { clearTimeout(player.retryTimer); player.retryTimer = setTimeout(() => poll(), wait); return; }
        retrySoon();
        poll();
      }
    });
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => { if (player.wantPlay) tryPlay(); });
    hls.on(window.Hls.Events.LEVEL_SWITCHED, announcePlayback);
    if (!audioOnly) {
      hls.on(window.Hls.Events.MANIFEST_LOADED, (_ev, data) => {
        player.audioFor = master;
        player.audioUrl = audioVariant(data.levels);
        showListen();
        // Remembered "listen only": now that the audio rendition is known, play it instead.
        if (player.listenOnly && player.audioUrl) setTimeout(() => { if (hls === player.hls) startPlayback(resumeAt); }, 0);
      });
    }
    if (vod) {
      hls.on(window.Hls.Events.INIT_PTS_FOUND, (_ev, data) => {
        if (data.frag && data.frag.cc === 0 && data.timescale > 0) {
          player.mediaStartMs = (data.initPTS / data.timescale) * 1000 - PACKAGER_RUN_GAP_MS;
        }
      });
    }
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (useNative) {
    player.native = true;
    if (vod) player.mediaStartMs = 0;
    video.src = url;
    if (resumeAt > 0) video.addEventListener('loadedmetadata', () => { video.currentTime = resumeAt; }, { once: true });
  } else {
    setBanner(T('watch.unsupported'), 'error');
    return;
  }
  tryPlay();
}

function tryPlay() {
  video.muted = false;
  video.volume = 1;
  const p = video.play();
  if (p && p.catch) {
    p.catch((err) => {
      if (err && err.name === 'NotAllowedError') {
        playLabel.textContent = T('watch.play.press');
        playBtn.hidden = false;
      }
      // AbortError: a new source replaced this one; nothing to do.
    });
  }
}

function onPlayClick() {
  player.wantPlay = true;
  const e = player.event;
  if (e && (e.state === 'live' || e.state === 'archived')) {
    if (!hasSource()) startPlayback();
    else if (e.state === 'archived') tryPlay();
    else { goLive(false); tryPlay(); }
  } else {
    // Not on air yet: remember the wish; playback starts by itself when the studio goes live.
    if (e) showEvent(e);
    playLabel.textContent = T('watch.play.waiting');
    schedulePoll(500);
  }
}

// Seek to the live edge. `always`: even when only slightly behind (the button); otherwise only when far.
function goLive(always) {
  const hls = player.hls;
  let target = null;
  if (hls && Number.isFinite(hls.liveSyncPosition)) target = hls.liveSyncPosition;
  else if (video.seekable.length) target = video.seekable.end(video.seekable.length - 1) - 1.5;
  if (target === null || !Number.isFinite(target)) return;
  if (always || target - video.currentTime > 10) video.currentTime = target;
}

// Seconds behind the live edge, also while paused (hls.latency is only updated while playing): the
// playlist's edge, advanced by the time since it was loaded (hls.js's own estimate), minus the position.
function latencySeconds() {
  const hls = player.hls;
  if (hls) {
    const d = hls.latestLevelDetails;
    if (d && d.live && Number.isFinite(d.edge) && Number.isFinite(d.age) && video.readyState > 0) {
      const lat = d.edge + d.age - video.currentTime;
      if (lat > 0) return lat;
    }
    if (Number.isFinite(hls.latency) && hls.latency > 0) return hls.latency;
    if (hls.playingDate) return (Date.now() - hls.playingDate.getTime()) / 1000;
  }
  if (player.native && video.seekable.length) {
    return video.seekable.end(video.seekable.length - 1) - video.currentTime;
  }
  return null;
}

function tick() {
  const now = performance.now();
  if (video.currentTime !== player.lastTime) { player.lastTime = video.currentTime; player.lastProgress = now; }
  const live = player.event && player.event.state === 'live';
  if (isArchived() && isPlaying()) savePosition();
  // A quiet watchdog: live, wanted, but nothing moving for a while → load the master playlist again.
  if (live && player.wantPlay && !video.paused && now - player.lastProgress > STALL_RELOAD_MS) {
    player.lastProgress = now;
    startPlayback();
  }
  // Live, playing or paused: how far behind, and "back to live" once the viewer is clearly behind
  // (paused, or stalled); at the edge the button is not there.
  const lat = live && hasSource() && !video.ended && player.wantPlay ? latencySeconds() : null;
  if (lat !== null && Number.isFinite(lat)) {
    latencyEl.textContent = T('watch.latency', { s: i18n.number(lat, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) });
    liveBar.hidden = false;
    const target = player.hls && Number.isFinite(player.hls.targetLatency) ? player.hls.targetLatency : 4;
    const behind = lat > target + BEHIND_S;
    goLiveBtn.classList.toggle('behind', behind);
    goLiveBtn.hidden = !behind && goLiveBtn !== document.activeElement;  // a focused button stays (no lost focus)
  } else {
    liveBar.hidden = true;
  }
}

// ---- wiring ----
playBtn.addEventListener('click', onPlayClick);
$('realtime-toggle').addEventListener('click', toggleRealtime);
listenBtn.addEventListener('click', toggleListen);
goLiveBtn.addEventListener('click', () => { goLive(true); if (video.paused) tryPlay(); tick(); });
goLiveBtn.addEventListener('blur', () => { if (!goLiveBtn.classList.contains('behind')) goLiveBtn.hidden = true; });
video.addEventListener('playing', () => {
  playBtn.hidden = true;
  showListen();
  video.controls = true;  // volume and full screen from here on
  if (player.event && player.event.state === 'live') setBanner('', '');
});
video.addEventListener('pause', () => {
  if (!player.wantPlay) return;
  playLabel.textContent = T('watch.play.continue');
  playBtn.hidden = false;
});
// What this page plays, for the curators' reports: comments.js sends it over the audience socket
// (PROTOCOL.md "playback") when it changes and every 10 s while playing. The rendition is the rung's folder in
// the playlist's URL (/live/<id>/<rung>/index.m3u8); null when the browser plays HLS itself (Safari).
function playbackReport() {
  let rendition = null;
  const hls = player.hls;
  if (hls) {
    const level = hls.levels && hls.levels[hls.currentLevel];
    const url = (level && (level.url || level.uri)) || hls.url || '';
    const m = String(url).match(/\/([A-Za-z0-9_-]{1,16})\/index\.m3u8/);
    if (m) rendition = m[1];
  }
  return { type: 'playback', playing: isPlaying(), rendition, mode: isArchived() ? 'archive' : 'live' };
}
let lastPlayback = '';
function announcePlayback() {
  const report = playbackReport();
  const key = JSON.stringify(report);
  if (key === lastPlayback) return;
  lastPlayback = key;
  document.dispatchEvent(new CustomEvent('sreda:playback', { detail: report }));
}
for (const ev of ['playing', 'pause', 'ended', 'emptied']) video.addEventListener(ev, announcePlayback);
setInterval(announcePlayback, 2000);  // a change no event told of (a stall that became an end)

video.addEventListener('error', () => {
  if (player.native) { retrySoon(); }
});
video.addEventListener('ended', () => {
  if (isArchived()) { remembered.forget(resumeKey); return; }
  poll();
});
video.addEventListener('pause', savePosition);
window.addEventListener('pagehide', savePosition);
window.addEventListener('pagehide', () => player.whep.stop());
document.addEventListener('keydown', (ev) => {
  // Space / Enter on the page (not on a control) plays, as older viewers expect.
  if ((ev.key === ' ' || ev.key === 'Enter') && ev.target === document.body && !playBtn.hidden) {
    ev.preventDefault();
    onPlayClick();
    return;
  }
  // A recording: arrows seek, space pauses and resumes (not while typing, e.g. in comments).
  const typing = ev.target && (ev.target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName));
  if (!isArchived() || !hasSource() || typing || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
    ev.preventDefault();
    seekBy((ev.key === 'ArrowLeft' ? -1 : 1) * (ev.shiftKey ? 60 : SEEK_S));
  } else if (ev.key === ' ' && ev.target === document.body) {
    ev.preventDefault();
    if (video.paused) tryPlay(); else video.pause();
  }
});

// Another language: the text this script wrote is written again.
i18n.onChange(() => {
  if (player.event) showEvent(player.event);
  showListen();
  if ($('realtime-status').dataset.key) showRealtime($('realtime-status').dataset.key);
  tick();
});

i18n.apply();
if (!eventId) {
  $('title').textContent = T('watch.missing');
} else {
  poll();
  setInterval(tick, 1000);
}
