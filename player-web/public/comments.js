// The audience panel of the watch page: live comments, a star rating and the viewer count over the
// WebSocket /ws (subprotocol sreda.v1, see server/audience/PROTOCOL.md). Text from viewers is only ever
// put on the page with textContent, never as HTML.
(function () {
  'use strict';
  const m = location.pathname.match(/^\/watch\/(\d+)/);
  const panel = document.getElementById('audience');
  if (!m || !panel || !('WebSocket' in window)) return;
  const eventId = Number(m[1]);
  const $ = (id) => document.getElementById(id);
  const list = $('comments'), form = $('comment-form'), nickInput = $('nick'), textInput = $('comment-text');
  const status = $('audience-status'), viewers = $('viewers'), summary = $('rating-summary'), thanks = $('rating-thanks');
  const stars = Array.from(document.querySelectorAll('#stars button'));
  const kMaxShown = 200;

  function stored(key, make) {
    try {
      let v = localStorage.getItem(key);
      if (!v && make) { v = make(); localStorage.setItem(key, v); }
      return v || '';
    } catch (e) { return make ? make() : ''; }
  }
  const viewerId = stored('sreda.viewer', () => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  });
  nickInput.value = stored('sreda.nick');

  let ws = null, joinedNick = null, pending = null, retryMs = 1000, refused = false;

  function say(text) { status.textContent = text; status.hidden = !text; }

  function addComment(c) {
    if (list.querySelector(`[data-id="${Number(c.id)}"]`)) return;
    const li = document.createElement('li');
    li.dataset.id = String(Number(c.id));
    const who = document.createElement('span');
    who.className = 'nick';
    who.textContent = c.nick;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = c.text;
    li.append(who, ': ', text);
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    list.append(li);
    while (list.children.length > kMaxShown) list.firstElementChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function showRating(r) {
    summary.textContent = r.count
      ? `Средняя оценка ${r.average.toFixed(1).replace('.', ',')} из 5 (оценок: ${r.count})`
      : 'Оценок пока нет';
  }

  function markStars(n) {
    stars.forEach((b, i) => b.setAttribute('aria-pressed', String(i < n)));
  }

  const kErrors = {
    rate_limited: 'Слишком часто. Подождите немного.',
    slow_mode: 'Сейчас можно писать не чаще раза в несколько секунд.',
    too_long: 'Сообщение слишком длинное (не больше 500 знаков).',
    empty: 'Напишите что-нибудь.',
    held: 'Спасибо! Сообщение появится после проверки модератором.',
    banned: 'Вы не можете писать в этом обсуждении.',
    too_many_connections: 'Слишком много подключений с вашего адреса.',
  };

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/ws`, 'sreda.v1');
    const nick = (nickInput.value.trim() || 'Зритель').slice(0, 40);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', event_id: eventId, viewer_id: viewerId, nick }));
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      switch (msg.type) {
        case 'welcome':
          joinedNick = nick;
          retryMs = 1000;
          list.replaceChildren();
          msg.comments.forEach(addComment);
          showRating(msg.rating);
          markStars(msg.your_rating || 0);
          viewers.textContent = `Смотрят: ${msg.viewers}`;
          panel.hidden = false;
          say('');
          if (pending) { ws.send(JSON.stringify({ type: 'comment', text: pending })); pending = null; textInput.value = ''; }
          break;
        case 'comment': addComment(msg); break;
        case 'comment_removed': {
          const li = list.querySelector(`[data-id="${Number(msg.id)}"]`);
          if (li) li.remove();
          break;
        }
        case 'rating': showRating(msg); break;
        case 'rated': markStars(msg.stars); thanks.hidden = false; break;
        case 'viewers': viewers.textContent = `Смотрят: ${msg.count}`; break;
        case 'error':
          if (msg.code === 'banned' || msg.code === 'too_many_connections') refused = true;
          say(kErrors[msg.code] || msg.message);
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
    if (!text) { say(kErrors.empty); return; }
    try { localStorage.setItem('sreda.nick', nickInput.value.trim()); } catch (err) { /* private mode */ }
    const nick = nickInput.value.trim() || 'Зритель';
    if (ws && ws.readyState === WebSocket.OPEN && joinedNick === nick) {
      ws.send(JSON.stringify({ type: 'comment', text }));
      textInput.value = '';
      return;
    }
    pending = text;  // a new name: join again under it, then send
    if (ws) ws.close(); else connect();
  });

  stars.forEach((b, i) => b.addEventListener('click', () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'rate', stars: i + 1 }));
  }));

  connect();
}());
