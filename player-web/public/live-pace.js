// Live pace: keeps a live hls.js player at its target latency by playing a little faster or slower.
// hls.js's own catch-up (maxLiveSyncPlaybackRate) only speeds up and sets every other rate back to 1, so a
// studio whose clock runs slow — its media arrives at 0.99 s a second — drains the viewer's buffer until it
// stalls, and after each stall hls.js moves its target a second further back: a waiting circle every couple
// of minutes and a latency that grows all evening. A fast clock (1.01 s a second) is the mirror image: the
// latency grows unless the player speeds up. Here both: faster when behind the target (only within a target
// duration of it and with more than 1 s buffered, as hls.js does), slower when ahead of it. The rates stay
// within a few percent and the browser keeps the pitch, so listeners do not hear it. Used by watch.js and by
// scripts/bench/latency's player (the watch page's tab), with hls.js's own catch-up off.
'use strict';

(function () {
  const AHEAD_S = 0.3;    // slow down once this much closer to live than the target…
  const BEHIND_S = 0.1;   // …speed up once this much further; either until back at the target
  // hls.js picks its start position from the first playlist, then loads from the independent part before it
  // and seeks: playback begins 1–2 s behind its target (scripts/bench/latency's hls.js log: start position
  // 17.24 with the live edge at 18.4; playing at 17.27 with the edge at 20.0). At 5 % faster that takes half a
  // minute to win back, so in its first JOIN_WINDOW_MS of playing the pacer jumps once to the target instead,
  // when the target is already buffered: a skip of a second right after the picture appears.
  const JOIN_S = 0.5;
  const JOIN_WINDOW_MS = 10000;

  function bufferedAhead(video) {
    const t = video.currentTime;
    for (let i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= t + 0.1 && video.buffered.end(i) > t) return video.buffered.end(i) - t;
    }
    return 0;
  }

  // Starts pacing `video` by `hls`'s latency; returns a function that stops it (and plays at 1×).
  window.sredaLivePace = function (hls, video, { fast = 1.05, slow = 0.97 } = {}) {
    let mode = 0;  // 1: catching up, -1: letting the live edge get ahead, 0: at the target
    let playingSince = 0;  // performance.now() of the first timeupdate while playing; 0: not yet
    let joined = false;    // jumped to the target once (or found it there)
    const set = (rate) => { if (video.playbackRate !== rate && video.playbackRate !== 0) video.playbackRate = rate; };
    const onTime = () => {
      const d = hls.latestLevelDetails;
      const target = hls.targetLatency;
      const latency = hls.latency;
      if (video.paused || !d || !d.live || !Number.isFinite(target) || !(latency > 0)) { mode = 0; set(1); return; }
      const distance = latency - target;
      const ahead = bufferedAhead(video);
      if (!playingSince) playingSince = performance.now();
      if (!joined && performance.now() - playingSince < JOIN_WINDOW_MS) {
        if (distance <= JOIN_S) joined = true;
        else if (ahead > distance + 0.3 && !video.seeking) {
          joined = true;
          video.currentTime += distance;
          return;
        }
      }
      const inLiveRange = distance < target + d.targetduration;  // further back is a viewer who paused: DVR
      if (distance > BEHIND_S && inLiveRange && ahead > 1) mode = 1;
      else if (distance < -AHEAD_S) mode = -1;
      else if ((mode === 1 && (distance <= 0 || ahead <= 1 || !inLiveRange)) || (mode === -1 && distance >= 0)) mode = 0;
      set(mode > 0 ? fast : mode < 0 ? slow : 1);
    };
    video.addEventListener('timeupdate', onTime);
    return () => { video.removeEventListener('timeupdate', onTime); set(1); };
  };
})();
