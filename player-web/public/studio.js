// The artist's view (/studio/<studio id>?t=<view token>): what the performer needs at a glance, in large
// type — am I live, is my stream healthy, how many watch, what do they write. The studio's state comes from
// GET /api/studio-view/{id}?t= every 2 s; comments, viewers and stars straight from the audience WebSocket
// (/ws, sreda.v1: see server/audience/PROTOCOL.md), not behind the player's delay. Viewer text is only ever
// shown with textContent.
import { $, el, remembered } from './dom.js';
import { ApiError, fetchJson } from './api.js';
import { t, own, date, clock, number } from './i18n.js';

const studioId = Number((location.pathname.match(/^\/studio\/(\d+)/) || [])[1]);
const token = new URLSearchParams(location.search).get('t') || '';

// Static labels.
$('publish-title').textContent = t('studio.publish');
$('rtmp-label').textContent = t('studio.rtmp');
$('key-label').textContent = t('studio.key');
$('srt-label').textContent = t('studio.srt');
$('comments-title').textContent = t('studio.comments');
$('no-comments').textContent = t('studio.comments.none');
document.querySelector('.stats').setAttribute('aria-label', t('studio.stats'));
for (const b of document.querySelectorAll('.copy')) {
  b.textContent = t('studio.copy');
  b.setAttribute('aria-label', `${t('studio.copy')}: ${$(b.dataset.copy + '-label').textContent}`);
  b.addEventListener('click', async () => {
    const text = $(b.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {  // no clipboard permission (plain http): select it for Ctrl+C
      const range = document.createRange();
      range.selectNodeContents($(b.dataset.copy));
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    b.textContent = t('studio.copied');
    setTimeout(() => { b.textContent = t('studio.copy'); }, 1500);
  });
}

// Comment text size, adjustable and remembered.
const SIZE_KEY = 'sreda.studio.comment_px';
let size = Math.min(64, Math.max(16, Number(remembered.read(SIZE_KEY)) || 24));
const setSize = (px) => {
  size = Math.min(64, Math.max(16, px));
  document.documentElement.style.setProperty('--comment-size', `${size}px`);
  remembered.write(SIZE_KEY, String(size));
};
setSize(size);
$('smaller').textContent = t('studio.smaller');  // words, not "A−": the accessible name is the visible text
$('larger').textContent = t('studio.larger');
$('smaller').addEventListener('click', () => setSize(size - 4));
$('larger').addEventListener('click', () => setSize(size + 4));

function invalid() {
  $('view').hidden = true;
  $('invalid').textContent = t('studio.invalid');
  $('invalid').hidden = false;
  document.title = t('studio.invalid');
  stopped = true;
  if (ws) ws.close();
}

const time = (d) => date(d, { hour: '2-digit', minute: '2-digit' });

let view = null;        // the last /api/studio-view answer
let skewMs = 0;         // server clock − this clock
let stopped = false;

// The stream's health in the page's language by its code (numbers filled in), else the server's own words.
function healthText(h) {
  const says = (code, vars) => own(`studio.health.${code}`, vars);
  if (h.code === 'too_slow') {
    const s = says(h.expected_mbit ? 'too_slow_expected' : 'too_slow', { a: h.arriving_mbit, e: h.expected_mbit });
    return s === undefined ? h.text : `${s}.`;
  }
  let s = says(h.code, h.code === 'stuttering' ? { f: h.fps, e: h.expected_fps } : undefined) ?? h.text;
  if (h.code === 'good' && h.reconnects > 0) s += says('dropped', { n: h.reconnects }) ?? '';
  return s;
}

function render() {
  if (!view) return;
  const now = Date.now() + skewMs;
  const ev = view.event;
  $('studio').textContent = view.studio.name;
  $('title').textContent = ev ? ev.title : '';
  document.title = `${view.studio.name} — ${ev ? ev.title : ''}`;
  const state = $('state');
  let kind = '', text = t('studio.no.event');
  if (ev) {
    const liveState = view.live ? view.live.state : ev.state;
    if (liveState === 'live') { kind = 'live'; text = t('studio.live'); }
    else if (liveState === 'intermission') { kind = 'reconnecting'; text = t('studio.reconnecting'); }
    else if (liveState === 'ended' || ev.state === 'ended' || ev.state === 'archived') { kind = 'ended'; text = t('studio.ended'); }
    else {
      kind = 'soon';
      const start = new Date(ev.starts_at);
      const mins = Math.ceil((start.getTime() - now) / 60000);
      if (mins <= 0) text = t('studio.soon.now', { time: time(start) });
      else if (mins > 12 * 60) text = t('studio.soon.day', { date: date(start), time: time(start) });
      else text = t('studio.soon', { time: time(start), n: mins });
    }
  }
  state.className = `state ${kind}`;
  state.dataset.state = kind || 'none';
  if (state.textContent !== text) state.textContent = text;

  const health = $('health');
  if (view.health) {
    health.className = `health ${view.health.level}`;
    health.dataset.code = view.health.code;
    const h = healthText(view.health);
    if (health.textContent !== h) health.textContent = h;
    health.hidden = false;
  } else {
    health.hidden = true;
  }

  // Settings that do not play, or serve viewers badly, with what to change in OBS.
  const advice = $('advice');
  const items = view.advice || [];
  const texts = items.map((a) => own(`studio.advice.${a.code}`, a) ?? a.text);
  if (advice.dataset.texts !== JSON.stringify(texts)) {
    advice.dataset.texts = JSON.stringify(texts);
    advice.replaceChildren(...items.map((a, i) => el('li', { class: a.level, 'data-code': a.code }, texts[i])));
  }
  advice.hidden = items.length === 0;

  // Where the concert also goes out (names and states only: the addresses are the curators').
  const relays = $('relays');
  const out = (view.relays || []).map((r) => `${r.name} — ${own(`studio.relay.state.${r.state}`) ?? r.state}`);
  const line = out.length ? t('studio.relays', { list: out.join(', ') }) : '';
  if (relays.textContent !== line) relays.textContent = line;
  relays.hidden = !out.length;

  const elapsed = $('elapsed');
  if (view.live && view.live.live_since) {
    elapsed.textContent = t('studio.elapsed', { t: clock(now - Date.parse(view.live.live_since), Math.floor) });
    elapsed.hidden = false;
  } else {
    elapsed.hidden = true;
  }
  const stars = $('stars');
  if (rating) {
    stars.textContent = rating.count ? t('studio.stars', { avg: rating.average.toFixed(1), n: rating.count }) : t('studio.stars.none');
    stars.hidden = false;
  }
  // After the event, its headline figures in plain words (fewer than 5 viewers: said so, not counted).
  const figures = $('figures');
  const f = view.figures;
  if (f) {
    const args = { peak: f.peak_viewers, minutes: number(f.minutes_watched), questions: f.questions, answered: f.answered };
    figures.textContent = t(f.few_viewers || f.peak_viewers === null ? 'studio.figures.few' : 'studio.figures', args);
  }
  figures.hidden = !f;
  if (viewerCount !== null) {
    $('viewers').textContent = t('studio.viewers', { n: viewerCount });
    $('viewers').hidden = false;
  }
  // Publish settings: open before the event, tucked away while live (still one tap away).
  const p = view.publish;
  $('rtmp').textContent = p.rtmp_server || '';
  $('key').textContent = p.stream_key;
  $('srt').textContent = p.srt_url || '';
  if (publishOpenFor !== kind) {
    $('publish').open = kind === 'soon' || kind === 'reconnecting' || kind === '';
    publishOpenFor = kind;
  }
  $('view').hidden = false;
}
let publishOpenFor = null;

async function poll() {
  if (stopped) return;
  try {
    const next = await fetchJson(`/api/studio-view/${studioId}?t=${encodeURIComponent(token)}`, { cache: 'no-store' });
    if (!next) throw new Error('no answer');
    view = next;
    skewMs = Date.parse(view.now) - Date.now();
    if (skewMs > -2000 && skewMs < 2000) skewMs = 0;  // whole seconds on the server: ignore small skew
    if (view.rating && !ws) rating = view.rating;
    if (view.event && view.event.id !== eventId) join(view.event.id);
    render();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return invalid();
    if (!view) { $('invalid').textContent = t('studio.load.error'); $('invalid').hidden = false; }
  }
  setTimeout(poll, 2000);
}

// ---- the audience channel: read only ----
let ws = null, eventId = null, rating = null, viewerCount = null, retryMs = 1000;
const viewerId = 'studio-' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
const list = $('comments');

function addComment(c) {
  const li = el('li', { 'data-id': String(c.id) }, c.question ? el('span', { class: 'q-badge' }) : null,
    el('span', { class: 'nick' }, `${c.nick}: `), c.text);
  if (c.question) {
    li.classList.add('question');
    const button = el('button', { type: 'button', class: 'answer' }, t('studio.mark.answered'));
    button.addEventListener('click', () => markAnswered(c.id, button));
    li.append(button);
    setAnswered(li, Boolean(c.answered));
  }
  const atBottom = list.lastElementChild === null ||
    window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 80;
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  $('no-comments').hidden = true;
  if (atBottom) li.scrollIntoView({ block: 'end' });  // newest at the bottom, unless the artist scrolled up
}

// A question's look: open (badge "Question", a "Mark answered" button) or answered (faded, badge only).
function setAnswered(li, answered) {
  li.classList.toggle('answered', answered);
  li.querySelector('.q-badge').textContent = answered ? t('studio.answered') : t('studio.question');
  const button = li.querySelector('button.answer');
  if (button) button.hidden = answered;
}

async function markAnswered(id, button) {
  button.disabled = true;
  try {
    await fetchJson(`/api/studio-view/${studioId}/comments/${id}/answered?t=${encodeURIComponent(token)}`,
      { method: 'POST', cache: 'no-store' });
    const li = list.querySelector(`[data-id="${Number(id)}"]`);
    if (li) setAnswered(li, true);  // the WebSocket's comment_answered says the same to everyone
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.error.code === 'link_not_valid') return invalid();
    button.textContent = t('studio.answer.failed');
    setTimeout(() => { button.textContent = t('studio.mark.answered'); }, 3000);
  } finally {
    button.disabled = false;
  }
}

function join(id) {
  eventId = id;
  if (ws) { ws.onclose = null; ws.close(); }
  connect();
}

function connect() {
  if (stopped || eventId === null) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sock = new WebSocket(`${proto}//${location.host}/ws`, 'sreda.v1');
  ws = sock;
  sock.onopen = () => sock.send(JSON.stringify({ type: 'join', event_id: eventId, viewer_id: viewerId, nick: 'Studio' }));
  sock.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch (_) { return; }
    switch (m.type) {
      case 'welcome':
        retryMs = 1000;
        list.replaceChildren();
        $('no-comments').hidden = m.comments.length > 0;
        m.comments.forEach(addComment);
        rating = m.rating;
        viewerCount = Math.max(0, m.viewers - 1);  // not counting this page
        break;
      case 'comment': addComment(m); break;
      case 'comment_removed': {
        const li = list.querySelector(`[data-id="${Number(m.id)}"]`);
        if (li) li.remove();
        break;
      }
      case 'comment_answered': {
        const li = list.querySelector(`[data-id="${Number(m.id)}"]`);
        if (li && li.classList.contains('question')) setAnswered(li, true);
        break;
      }
      case 'rating': rating = m; break;
      case 'viewers': viewerCount = Math.max(0, m.count - 1); break;
      case 'state': if (view && view.live) view.live.state = m.state; break;
      default: return;
    }
    render();
  };
  sock.onclose = () => {
    if (ws !== sock || stopped) return;
    ws = null;
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

if (!studioId || !token) invalid();
else {
  poll();
  setInterval(render, 1000);  // the elapsed clock and the countdown
}
