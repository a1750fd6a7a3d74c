// The audience panel of the watch page: live comments, a star rating and the viewer count over the
// WebSocket /ws (subprotocol sreda.v1, see server/audience/PROTOCOL.md). Text from viewers is only ever
// put on the page with textContent, never as HTML.
// A recording (the event is archived): the live comment stream is not shown. The visible comments come from
// GET /api/public/events/{id}/comments (by media time, paged) and each appears when playback reaches its
// media_ms (watch.js maps currentTime to media time: sredaPlayer.mediaMs()); seeking shows the right set
// again. The WebSocket is still joined for the rating (the server takes ratings of recordings too) and the
// viewer count; the comment form is hidden (a comment written now has no moment in the recording).
import { $, remembered } from './dom.js';
import { fetchJson } from './api.js';
import { t as T, number, onChange } from './i18n.js';

const m = location.pathname.match(/^\/watch\/(\d+)/);
const panel = document.getElementById('audience');
if (m && panel && 'WebSocket' in window) start(Number(m[1]));

function start(eventId) {
  const list = $('comments'), form = $('comment-form'), nickInput = $('nick'), textInput = $('comment-text');
  const askInput = $('ask-question');
  const status = $('audience-status'), viewers = $('viewers'), summary = $('rating-summary'), thanks = $('rating-thanks');
  const stars = Array.from(document.querySelectorAll('#stars button'));
  const kMaxShown = 200;
  let lastRating = null, lastViewers = null;

  const stored = (key) => remembered.read(key) || '';
  // Who this viewer is: the server's sreda_viewer cookie (HttpOnly) comes with the /ws upgrade; when the server
  // had to issue a new identity instead, the welcome's viewer_token is kept here and sent with later joins.
  const tokenKey = 'sreda.viewer_token';
  nickInput.value = stored('sreda.nick');

  let ws = null, joinedNick = null, pending = null, retryMs = 1000, refused = false;
  let started = false;
  const replay = { on: false, comments: [], ids: new Set(), shown: -1, timer: 0 };

  function say(text) { status.textContent = text; status.hidden = !text; }

  function addComment(c) {
    if (replay.on) return;
    appendComment(c);
  }

  function appendComment(c) {
    if (list.querySelector(`[data-id="${Number(c.id)}"]`)) return;
    const li = document.createElement('li');
    li.dataset.id = String(Number(c.id));
    const who = document.createElement('span');
    who.className = 'nick';
    who.textContent = c.nick;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = c.text;
    if (c.question) {
      const badge = document.createElement('span');
      badge.className = 'q-badge';
      li.classList.add('question');
      li.append(badge);
    }
    li.append(who, ': ', text);
    markAnswered(li, Boolean(c.answered));
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    list.append(li);
    while (list.children.length > kMaxShown) list.firstElementChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  // A question's badge: "Question", or "Question — answered" once the artist or a curator marked it.
  function markAnswered(li, answered) {
    const badge = li.querySelector('.q-badge');
    if (!badge) return;
    li.classList.toggle('answered', answered);
    badge.dataset.i18n = answered ? 'watch.q.answered' : 'watch.q.open';
    badge.textContent = T(badge.dataset.i18n);
  }

  function answered(id) {
    const c = replay.comments.find((x) => x.id === id);
    if (c) c.answered = true;
    const li = list.querySelector(`[data-id="${id}"]`);
    if (li) markAnswered(li, true);
  }

  function showRating(r) {
    lastRating = r;
    const avg = number(r.average, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    summary.textContent = r.count ? T('watch.rating', { avg, n: r.count }) : T('watch.rating.none');
  }

  function showViewers(n) {
    lastViewers = n;
    viewers.textContent = T('watch.viewers', { n });
  }

  function markStars(n) {
    stars.forEach((b, i) => b.setAttribute('aria-pressed', String(i < n)));
  }

  const kErrors = ['rate_limited', 'slow_mode', 'too_long', 'empty', 'held', 'banned', 'too_many_connections'];
  const errorText = (code, message) => (kErrors.includes(code) ? T(`watch.err.${code}`) : message);

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/ws`, 'sreda.v1');
    const nick = (nickInput.value.trim() || T('watch.nick.default')).slice(0, 40);
    ws.onopen = () => {
      const join = { type: 'join', event_id: eventId, nick };
      const token = stored(tokenKey);
      if (token) join.viewer_token = token;
      ws.send(JSON.stringify(join));
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      switch (msg.type) {
        case 'welcome':
          if (msg.viewer_token) remembered.write(tokenKey, msg.viewer_token);
          joinedNick = nick;
          retryMs = 1000;
          if (!replay.on) { list.replaceChildren(); msg.comments.forEach(addComment); }
          showRating(msg.rating);
          markStars(msg.your_rating || 0);
          showViewers(msg.viewers);
          panel.hidden = false;
          say('');
          if (pending) { ws.send(JSON.stringify(pending)); pending = null; textInput.value = ''; askInput.checked = false; }
          sendPlayback();
          break;
        case 'comment': addComment(msg); break;
        case 'comment_removed': {
          if (replay.on) { unreplay(Number(msg.id)); break; }
          const li = list.querySelector(`[data-id="${Number(msg.id)}"]`);
          if (li) li.remove();
          break;
        }
        case 'comment_answered': answered(Number(msg.id)); break;
        case 'rating': showRating(msg); break;
        case 'rated':
          markStars(msg.stars);
          thanks.hidden = false;
          if (msg.counted === false) say(T('watch.rated.uncounted'));  // beyond ws.max_ratings_per_address
          break;
        case 'viewers': showViewers(msg.count); break;
        case 'error':
          if (msg.code === 'banned' || msg.code === 'too_many_connections') refused = true;
          say(errorText(msg.code, msg.message));
          break;
        default: break;
      }
    };
    ws.onclose = () => {
      ws = null;
      joinedNick = null;
      if (refused) return;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = textInput.value.trim();
    if (!text) { say(errorText('empty')); return; }
    remembered.write('sreda.nick', nickInput.value.trim());
    const nick = nickInput.value.trim() || T('watch.nick.default');
    const message = { type: 'comment', text, question: askInput.checked };
    if (ws && ws.readyState === WebSocket.OPEN && joinedNick === nick) {
      ws.send(JSON.stringify(message));
      textInput.value = '';
      askInput.checked = false;
      return;
    }
    pending = message;  // a new name: join again under it, then send
    if (ws) ws.close(); else connect();
  });

  stars.forEach((b, i) => b.addEventListener('click', () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'rate', stars: i + 1 }));
  }));

  // ---- replay of a recording ----
  const kPage = 1000;
  async function loadReplay() {
    let from = 0;
    for (;;) {
      let page;
      try {
        page = await fetchJson(`/api/public/events/${eventId}/comments?from_ms=${from}&limit=${kPage}`);
      } catch (err) {
        say(T('watch.replay.error'));
        await new Promise((res) => setTimeout(res, 5000));
        continue;
      }
      say('');
      let added = 0;
      for (const c of page.comments) {
        if (c.media_ms === null || replay.ids.has(c.id)) continue;
        replay.ids.add(c.id);
        replay.comments.push(c);
        ++added;
      }
      replay.shown = -1;  // re-render with what is known now
      render();
      // (added === 0: a whole page at one millisecond; the API cannot page past it)
      if (!page.more || page.next_from_ms === undefined || added === 0) break;
      from = page.next_from_ms;  // the next page starts at the last comment's moment; known ids are skipped
    }
  }

  // The number of comments whose moment has come (comments are ordered by media_ms, then id).
  function dueCount(now) {
    let lo = 0, hi = replay.comments.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (replay.comments[mid].media_ms <= now) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function render() {
    const player = window.sredaPlayer;
    const now = player && player.mediaMs ? player.mediaMs() : null;
    const n = now === null || (player.video && player.video.currentTime === 0 && player.video.paused) ? 0 : dueCount(now);
    if (n === replay.shown) return;
    if (n > replay.shown && replay.shown >= 0) {
      for (let i = replay.shown; i < n; ++i) appendComment(replay.comments[i]);
    } else {
      list.replaceChildren();  // a seek backwards (or the first render): the set up to now, afresh
      for (let i = Math.max(0, n - kMaxShown); i < n; ++i) appendComment(replay.comments[i]);
    }
    replay.shown = n;
  }

  // A curator hid a comment while this recording plays: it goes, and never comes back on a seek.
  function unreplay(id) {
    const i = replay.comments.findIndex((c) => c.id === id);
    if (i < 0) return;
    replay.comments.splice(i, 1);
    replay.shown = -1;
    render();
  }

  function startReplay() {
    replay.on = true;
    form.hidden = true;
    document.getElementById('replay-note').hidden = false;
    list.replaceChildren();
    panel.hidden = false;
    const video = document.getElementById('video');
    for (const ev of ['timeupdate', 'seeked', 'seeking', 'playing']) video.addEventListener(ev, render);
    replay.timer = setInterval(render, 250);  // timeupdate comes ~4 times a second; this keeps it even
    loadReplay();
  }

  onChange(() => {
    if (lastRating) showRating(lastRating);
    if (lastViewers !== null) showViewers(lastViewers);
  });

  // What the player plays (watch.js), for the curators' reports: sent when it changes, on every join, and
  // every 10 s while playing (the server counts a page that went quiet as stopped after a while).
  let playback = null;
  function sendPlayback() {
    if (playback && ws && ws.readyState === WebSocket.OPEN && joinedNick !== null) ws.send(JSON.stringify(playback));
  }
  document.addEventListener('sreda:playback', (ev) => { playback = ev.detail; sendPlayback(); });
  setInterval(() => { if (playback && playback.playing) sendPlayback(); }, 10000);

  document.addEventListener('sreda:event', (ev) => {
    const archived = ev.detail.state === 'archived';
    if (archived && !replay.on) startReplay();
    if (!started) { started = true; connect(); }
  });
}
