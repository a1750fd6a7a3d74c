// The artist's view (/studio/<studio id>?t=<view token>): what the performer needs at a glance, in large
// type — am I live, is my stream healthy, how many watch, what do they write. The studio's state comes from
// GET /api/studio-view/{id}?t= every 2 s; comments, viewers and stars straight from the audience WebSocket
// (/ws, sreda.v1: see server/audience/PROTOCOL.md), not behind the player's delay. Viewer text is only ever
// shown with textContent.
'use strict';

(function () {
  const S = {
    ru: {
      invalid: 'Эта ссылка больше не действует.',
      loadError: 'Нет связи с сервером. Пробуем снова…',
      live: 'В ЭФИРЕ', reconnecting: 'Переподключение…', ended: 'Эфир окончен', noEvent: 'Нет запланированных эфиров',
      soon: 'Вы выходите в эфир в {time} — через {n} мин.', soonNow: 'Пора начинать: эфир в {time}',
      soonDay: 'Вы выходите в эфир {date} в {time}',
      elapsed: 'Идёт {t}', viewers: 'Смотрят: {n}', stars: '★ {avg} ({n})', noStars: '★ пока нет оценок',
      publish: 'Настройки трансляции', rtmp: 'Сервер (RTMP)', key: 'Ключ потока', srt: 'Адрес SRT',
      copy: 'Копировать', copied: 'Скопировано', comments: 'Комментарии', noComments: 'Комментариев пока нет.',
      smallerLabel: 'Мельче', largerLabel: 'Крупнее', statsLabel: 'Эфир',
      question: 'Вопрос', answeredBadge: 'Ответ дан', markAnswered: 'Отметить: ответ дан',
      answerFailed: 'Не получилось отметить. Попробуйте ещё раз.',
      health: {
        good: 'Изображение и звук доходят хорошо.',
        starting: 'Трансляция начинается…',
        reconnecting: 'Переподключение… от вашей студии ничего не приходит. Проверьте кодер и интернет.',
        no_video: 'Изображение не приходит. Проверьте камеру в кодере.',
        no_audio: 'Звук не приходит. Проверьте микрофон и настройки звука в кодере.',
        too_slow: 'Интернет слишком медленный: приходит {a} Мбит/с',
        too_slow_expected: 'Интернет слишком медленный: приходит {a} Мбит/с, нужно {e}',
        stuttering: 'Изображение дёргается: приходит {f} кадров в секунду из {e}.',
        dropped: ' Связь прерывалась ({n}) и восстановилась.',
      },
      advice: {
        unplayable_picture: 'Браузеры не могут показать это изображение как есть ({format}): сервер переводит его ' +
          'для зрителей, а это гораздо больше работы и немного хуже качество. В OBS: Настройки → Расширенные → ' +
          'Формат цвета NV12, и Настройки → Вывод → Кодировщик x264, профиль high.',
        rare_keyframes: 'Опорный кадр приходит раз в {seconds} с: зрители ждут столько же, чтобы начать смотреть ' +
          'и сменить качество. В OBS: Настройки → Вывод → Интервал ключевых кадров 2 с.',
        high_frame_rate: '{fps} кадров в секунду удваивают работу сервера для каждого качества и требуют у зрителей ' +
          'быстрого интернета; для концерта хватит 30. В OBS: Настройки → Видео → Общие значения FPS 30.',
      },
    },
    en: {
      invalid: 'This link is no longer valid.',
      loadError: 'No connection to the server. Trying again…',
      live: 'LIVE', reconnecting: 'Reconnecting…', ended: 'Ended', noEvent: 'Nothing scheduled',
      soon: 'You go live at {time} — {n} minutes', soonNow: 'Time to start: you go live at {time}',
      soonDay: 'You go live on {date} at {time}',
      elapsed: 'On air {t}', viewers: 'Watching: {n}', stars: '★ {avg} ({n})', noStars: '★ no ratings yet',
      publish: 'Publish settings', rtmp: 'Server (RTMP)', key: 'Stream key', srt: 'SRT URL',
      copy: 'Copy', copied: 'Copied', comments: 'Comments', noComments: 'No comments yet.',
      smallerLabel: 'Smaller', largerLabel: 'Larger', statsLabel: 'Broadcast',
      question: 'Question', answeredBadge: 'Answered', markAnswered: 'Mark answered',
      answerFailed: 'Could not mark it. Please try again.',
      health: null,  // the server's own sentences are English
      advice: null,
    },
  };
  const lang = window.sredaI18n && window.sredaI18n.lang() === 'en' ? 'en' : 'ru';
  const locale = lang === 'ru' ? 'ru-RU' : 'en-GB';
  const T = S[lang];
  const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const $ = (id) => document.getElementById(id);
  document.documentElement.lang = lang;

  const studioId = Number((location.pathname.match(/^\/studio\/(\d+)/) || [])[1]);
  const token = new URLSearchParams(location.search).get('t') || '';

  // Static labels.
  $('publish-title').textContent = T.publish;
  $('rtmp-label').textContent = T.rtmp;
  $('key-label').textContent = T.key;
  $('srt-label').textContent = T.srt;
  $('comments-title').textContent = T.comments;
  $('no-comments').textContent = T.noComments;
  document.querySelector('.stats').setAttribute('aria-label', T.statsLabel);
  for (const b of document.querySelectorAll('.copy')) {
    b.textContent = T.copy;
    b.setAttribute('aria-label', `${T.copy}: ${$(b.dataset.copy + '-label').textContent}`);
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
      b.textContent = T.copied;
      setTimeout(() => { b.textContent = T.copy; }, 1500);
    });
  }

  // Comment text size, adjustable and remembered.
  const SIZE_KEY = 'sreda.studio.comment_px';
  let size = 24;
  try { size = Math.min(64, Math.max(16, Number(localStorage.getItem(SIZE_KEY)) || 24)); } catch (_) { /* private */ }
  const setSize = (px) => {
    size = Math.min(64, Math.max(16, px));
    document.documentElement.style.setProperty('--comment-size', `${size}px`);
    try { localStorage.setItem(SIZE_KEY, String(size)); } catch (_) { /* private mode */ }
  };
  setSize(size);
  $('smaller').textContent = T.smallerLabel;  // words, not "A−": the accessible name is the visible text
  $('larger').textContent = T.largerLabel;
  $('smaller').addEventListener('click', () => setSize(size - 4));
  $('larger').addEventListener('click', () => setSize(size + 4));

  function invalid() {
    $('view').hidden = true;
    $('invalid').textContent = T.invalid;
    $('invalid').hidden = false;
    document.title = T.invalid;
    stopped = true;
    if (ws) ws.close();
  }

  const time = (d) => d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  const clock = (s) => {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? `${h}:${String(m).padStart(2, '0')}` : String(m)) + ':' + String(sec).padStart(2, '0');
  };

  let view = null;        // the last /api/studio-view answer
  let skewMs = 0;         // server clock − this clock
  let stopped = false;

  function healthText(h) {
    const tr = T.health;
    if (!tr) return h.text;
    let s = tr[h.code] || h.text;
    if (h.code === 'too_slow') s = fill(h.expected_mbit ? tr.too_slow_expected : tr.too_slow,
      { a: h.arriving_mbit, e: h.expected_mbit }) + '.';
    if (h.code === 'stuttering') s = fill(s, { f: h.fps, e: h.expected_fps });
    if (h.code === 'good' && h.reconnects > 0) s += fill(tr.dropped, { n: h.reconnects });
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
    let kind = '', text = T.noEvent;
    if (ev) {
      const liveState = view.live ? view.live.state : ev.state;
      if (liveState === 'live') { kind = 'live'; text = T.live; }
      else if (liveState === 'intermission') { kind = 'reconnecting'; text = T.reconnecting; }
      else if (liveState === 'ended' || ev.state === 'ended' || ev.state === 'archived') { kind = 'ended'; text = T.ended; }
      else {
        kind = 'soon';
        const start = new Date(ev.starts_at);
        const mins = Math.ceil((start.getTime() - now) / 60000);
        if (mins <= 0) text = fill(T.soonNow, { time: time(start) });
        else if (mins > 12 * 60) text = fill(T.soonDay, { date: start.toLocaleDateString(locale), time: time(start) });
        else text = fill(T.soon, { time: time(start), n: mins });
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
    const texts = items.map((a) => (T.advice && T.advice[a.code] ? fill(T.advice[a.code], a) : a.text));
    if (advice.dataset.texts !== JSON.stringify(texts)) {
      advice.dataset.texts = JSON.stringify(texts);
      advice.replaceChildren(...items.map((a, i) => {
        const li = document.createElement('li');
        li.className = a.level;
        li.dataset.code = a.code;
        li.textContent = texts[i];
        return li;
      }));
    }
    advice.hidden = items.length === 0;

    const elapsed = $('elapsed');
    if (view.live && view.live.live_since) {
      elapsed.textContent = fill(T.elapsed, { t: clock((now - Date.parse(view.live.live_since)) / 1000) });
      elapsed.hidden = false;
    } else {
      elapsed.hidden = true;
    }
    const stars = $('stars');
    if (rating) {
      stars.textContent = rating.count ? fill(T.stars, { avg: rating.average.toFixed(1), n: rating.count }) : T.noStars;
      stars.hidden = false;
    }
    if (viewerCount !== null) {
      $('viewers').textContent = fill(T.viewers, { n: viewerCount });
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
      const r = await fetch(`/api/studio-view/${studioId}?t=${encodeURIComponent(token)}`, { cache: 'no-store' });
      if (r.status === 404) return invalid();
      if (!r.ok) throw new Error(String(r.status));
      view = await r.json();
      skewMs = Date.parse(view.now) - Date.now();
      if (skewMs > -2000 && skewMs < 2000) skewMs = 0;  // whole seconds on the server: ignore small skew
      if (view.rating && !ws) rating = view.rating;
      if (view.event && view.event.id !== eventId) join(view.event.id);
      render();
    } catch (_) {
      if (!view) { $('invalid').textContent = T.loadError; $('invalid').hidden = false; }
    }
    setTimeout(poll, 2000);
  }

  // ---- the audience channel: read only ----
  let ws = null, eventId = null, rating = null, viewerCount = null, retryMs = 1000;
  const viewerId = 'studio-' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
  const list = $('comments');

  function addComment(c) {
    const li = document.createElement('li');
    li.dataset.id = String(c.id);
    const nick = document.createElement('span');
    nick.className = 'nick';
    nick.textContent = `${c.nick}: `;
    if (c.question) {
      const badge = document.createElement('span');
      badge.className = 'q-badge';
      li.classList.add('question');
      li.append(badge);
    }
    li.append(nick, document.createTextNode(c.text));
    if (c.question) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'answer';
      button.textContent = T.markAnswered;
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
    li.querySelector('.q-badge').textContent = answered ? T.answeredBadge : T.question;
    const button = li.querySelector('button.answer');
    if (button) button.hidden = answered;
  }

  async function markAnswered(id, button) {
    button.disabled = true;
    try {
      const r = await fetch(`/api/studio-view/${studioId}/comments/${id}/answered?t=${encodeURIComponent(token)}`,
        { method: 'POST', cache: 'no-store' });
      if (r.status === 404 && (await r.json().catch(() => ({}))).error?.code === 'link_not_valid') return invalid();
      if (!r.ok) throw new Error(String(r.status));
      const li = list.querySelector(`[data-id="${Number(id)}"]`);
      if (li) setAnswered(li, true);  // the WebSocket's comment_answered says the same to everyone
    } catch (_) {
      button.textContent = T.answerFailed;
      setTimeout(() => { button.textContent = T.markAnswered; }, 3000);
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
})();
