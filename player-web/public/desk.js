// The curator's desk (/desk): log in, studios with their keys and OBS settings, events with the server's
// field errors beside the fields, the week at a glance per studio, and a live monitor. Talks only to the
// REST API (/api, bearer token kept for this tab in sessionStorage). Plain DOM, text only (never innerHTML
// with server data); every string from i18n.js.
// Long because it is the one script of the desk page: its views (studios, events, week, live monitor) share
// one session, one fetch helper and one render loop; splitting into ES modules is due with the page's next
// feature (issue 22's reports add a view).
'use strict';

(function () {
  const i18n = window.sredaI18n;
  const { t } = i18n;
  const TOKEN_KEY = 'sreda.desk.token';
  const MONITOR_MS = 3000;
  const REFRESH_MS = 30000;
  const EVENT_FIELDS = ['title', 'description', 'category', 'language', 'studio_id', 'starts_at', 'ends_at'];
  const $ = (id) => document.getElementById(id);

  const state = { me: null, studios: [], events: [], ingest: null, editing: null, timers: [] };

  // ---- helpers ----

  function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k in e) e[k] = v;
      else e.setAttribute(k, v);
    }
    e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return e;
  }

  /** The server's error in the curator's language: by message, by code, else the server's own words. */
  function serverText(err) {
    const table = i18n.strings[i18n.lang()];
    if (table[`srv.${err.message}`]) return table[`srv.${err.message}`];
    if (table[`srv.code.${err.code}`]) {
      return err.code === 'network' || err.code === 'bad_credentials' ? table[`srv.code.${err.code}`]
        : `${table[`srv.code.${err.code}`]} (${err.message})`;
    }
    return err.message;
  }

  class ApiError extends Error {
    constructor(status, error) {
      super(error.message);
      this.status = status;
      this.error = error;
    }
  }

  async function api(method, path, body) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let r;
    try {
      r = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, { code: 'network', message: 'network error' });
    }
    let j = null;
    try { j = await r.json(); } catch { /* not JSON */ }
    if (r.ok) return j;
    const error = (j && j.error) || { code: 'http', message: `HTTP ${r.status}` };
    if (r.status === 401 && path !== '/api/login') {
      showLogin(t('desk.session.expired'));
    }
    throw new ApiError(r.status, error);
  }

  function notice(text) {
    // Cleared first so that the same text twice is announced twice.
    $('status').textContent = '';
    setTimeout(() => { $('status').textContent = text; }, 50);
  }

  function localInput(iso) {
    // RFC 3339 → "YYYY-MM-DDTHH:MM" in the curator's time zone (what <input type=datetime-local> shows).
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function rfc3339(localValue) {
    // "YYYY-MM-DDTHH:MM" (local) → RFC 3339 with the local offset; empty or unreadable stays as typed, and
    // the server names the field.
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(localValue)) return localValue;
    const d = new Date(localValue);
    if (Number.isNaN(d.getTime())) return localValue;
    const off = -d.getTimezoneOffset();
    const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
    const sign = off >= 0 ? '+' : '-';
    const secs = localValue.length === 16 ? ':00' : '';
    return `${localValue}${secs}${sign}${p(off / 60)}:${p(off % 60)}`;
  }

  const fmt = {
    day: (d) => d.toLocaleDateString(i18n.locale(), { weekday: 'short', day: 'numeric', month: 'short' }),
    dateTime: (iso) => new Date(iso).toLocaleString(i18n.locale(),
      { weekday: 'short', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' }),
    time: (iso) => new Date(iso).toLocaleTimeString(i18n.locale(), { hour: '2-digit', minute: '2-digit' }),
    number: (v, digits = 0) => Number(v).toLocaleString(i18n.locale(), { maximumFractionDigits: digits }),
  };

  // ---- confirmation dialog ----

  function confirmDialog(text) {
    const dlg = $('confirm');
    $('confirm-text').textContent = text;
    const back = document.activeElement;
    return new Promise((resolve) => {
      dlg.addEventListener('close', () => {
        if (back && back.isConnected) back.focus();
        resolve(dlg.returnValue === 'yes');
      }, { once: true });
      dlg.returnValue = '';
      dlg.showModal();
      $('confirm-no').focus();
    });
  }

  // ---- field errors (aria-describedby points at the message beside the field) ----

  function clearErrors(form) {
    for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
    for (const f of form.querySelectorAll('[aria-invalid]')) {
      f.removeAttribute('aria-invalid');
      f.removeAttribute('aria-describedby');
    }
  }

  /** Shows an ApiError on `form`: per field where the server names one, else above the form. */
  function showErrors(form, prefix, err) {
    clearErrors(form);
    const list = err.error.fields || (err.error.field ? [{ field: err.error.field, message: err.error.message }] : []);
    let first = null;
    for (const fe of list) {
      const id = prefix ? `${prefix}-${fe.field}` : fe.field;
      const input = $(id);
      const out = $(`${id}-error`);
      if (!input || !out) continue;
      const e = { ...err.error, field: fe.field, message: fe.message };
      out.textContent = out.textContent ? `${out.textContent} ${serverText(e)}` : serverText(e);
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', out.id);
      first = first || input;
    }
    const formError = form.querySelector('.form-error');
    if (first) {
      formError.textContent = list.length > 1 ? t('desk.event.errors', { n: list.length }) : '';
      first.focus();
    } else {
      formError.textContent = serverText(err.error);
    }
  }

  // ---- copying ----

  async function copy(text, what) {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard API');
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain http on a LAN address: the old way, through a selected off-screen text area.
      const ta = el('textarea', { class: 'offscreen', readOnly: true, value: text, 'aria-hidden': 'true', tabIndex: -1 });
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand('copy');
      ta.remove();
      if (!ok) return notice(t('desk.copy.failed'));
    }
    notice(t('desk.copied', { what }));
  }

  // ---- login / logout ----

  function stopTimers() {
    for (const id of state.timers) clearInterval(id);
    state.timers = [];
  }

  function showLogin(message, focus = true) {
    stopTimers();
    sessionStorage.removeItem(TOKEN_KEY);
    state.me = null;
    $('app').hidden = true;
    $('who-bar').hidden = true;
    $('login-section').hidden = false;
    $('login-error').textContent = message || '';
    $('password').value = '';
    if (focus) $('username').focus();
  }

  async function enter(me) {
    state.me = me;
    $('login-section').hidden = true;
    $('app').hidden = false;
    $('who-bar').hidden = false;
    $('who').textContent = t('desk.logged.as', { name: me.username });
    const admin = me.role === 'admin';
    $('studio-form').hidden = !admin;
    $('studio-admin-only').hidden = admin;
    try {
      state.ingest = await api('GET', '/api/ingest');
    } catch {
      state.ingest = null;
    }
    await refresh();
    monitor();
    loadWords();
    state.timers.push(setInterval(monitor, MONITOR_MS), setInterval(moderation, MONITOR_MS), setInterval(refresh, REFRESH_MS));
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    clearErrors(form);
    try {
      const j = await api('POST', '/api/login', { username: $('username').value.trim(), password: $('password').value });
      sessionStorage.setItem(TOKEN_KEY, j.token);
      $('password').value = '';
      await enter(j.curator);
      $('monitor-h').focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showErrors(form, '', err);
      if (!err.error.field) {
        $('password').value = '';  // typed again from scratch
        $('password').focus();
      }
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout'); } catch { /* the token goes anyway */ }
    showLogin('');
  });

  // ---- studios ----

  function ingestUrls(s) {
    const ing = state.ingest;
    if (!ing) return null;
    let srt = `${ing.srt_url_prefix}${s.stream_key}`;
    if (s.srt_passphrase) srt += `&passphrase=${encodeURIComponent(s.srt_passphrase)}&pbkeylen=16`;
    return { rtmp: ing.rtmp_server, key: s.stream_key, srt };
  }

  function copyRow(id, label, value, secret) {
    const input = el('input', { id, readOnly: true, value, type: secret ? 'password' : 'text', spellcheck: false,
      autocomplete: 'off', class: 'mono' });
    return el('div', { class: 'field copy-row' },
      el('label', { htmlFor: id }, label),
      el('div', { class: 'copy-line' }, input,
        el('button', { type: 'button', class: 'copy', 'aria-label': t('desk.copy.what', { what: label }),
          onclick: () => copy(input.value, label) }, t('desk.copy'))));
  }

  function studioCard(s) {
    const urls = ingestUrls(s);
    const base = `studio-${s.id}`;
    const card = el('article', { class: 'card studio', id: base, 'aria-labelledby': `${base}-h` },
      el('h3', { id: `${base}-h` }, s.name));
    if (!urls) {
      card.append(el('p', { class: 'form-error' }, t('load.error')));
      return card;
    }
    const secretRows = [];
    const show = el('button', { type: 'button', class: 'switch', id: `${base}-show`, 'aria-pressed': 'false' },
      t('desk.key.show'));
    show.addEventListener('click', () => {
      const on = show.getAttribute('aria-pressed') !== 'true';
      show.setAttribute('aria-pressed', String(on));
      show.textContent = t(on ? 'desk.key.hide' : 'desk.key.show');
      for (const input of secretRows) input.type = on ? 'text' : 'password';
    });
    const keyRow = copyRow(`${base}-key`, t('desk.obs.key'), urls.key, true);
    const srtRow = copyRow(`${base}-srt`, t('desk.obs.srt.url'), urls.srt, true);
    // The artist's view link shows the stream key too: hidden like the key until "show key".
    const viewRow = s.view_url ? copyRow(`${base}-view`, t('desk.view.link'), new URL(s.view_url, location.href).href, true) : null;
    secretRows.push(keyRow.querySelector('input'), srtRow.querySelector('input'));
    if (viewRow) secretRows.push(viewRow.querySelector('input'));
    card.append(
      el('h4', {}, t('desk.obs')),
      el('p', { class: 'quiet' }, t('desk.obs.rtmp')),
      copyRow(`${base}-rtmp`, t('desk.obs.server'), urls.rtmp, false),
      keyRow,
      el('p', { class: 'quiet' }, t('desk.obs.srt')),
      srtRow,
      el('p', { class: 'quiet' }, t('desk.obs.hint')),
      el('h4', {}, t('desk.view')),
      el('p', { class: 'quiet' }, t('desk.view.hint')),
      viewRow,
      el('div', { class: 'actions' }, show,
        state.me.role === 'admin' && el('button', { type: 'button', id: `${base}-rotate`, class: 'danger',
          onclick: () => rotateKey(s) }, t('desk.key.rotate')),
        state.me.role === 'admin' && el('button', { type: 'button', id: `${base}-rotate-view`, class: 'danger',
          onclick: () => rotateViewLink(s) }, t('desk.view.rotate'))));
    return card;
  }

  function renderStudios() {
    const host = $('studios');
    // Keep a shown key shown across a refresh (the same studio, the same key).
    const shown = new Set([...host.querySelectorAll('button[id$="-show"][aria-pressed="true"]')].map((b) => b.id));
    const focusId = document.activeElement && host.contains(document.activeElement) ? document.activeElement.id : null;
    if (!state.studios.length) {
      host.replaceChildren(el('p', { class: 'quiet' }, t('desk.studio.none')));
    } else {
      host.replaceChildren(...state.studios.map(studioCard));
    }
    for (const id of shown) if ($(id)) $(id).click();
    if (focusId && $(focusId)) $(focusId).focus();
  }

  async function rotateKey(s) {
    if (!(await confirmDialog(t('desk.key.rotate.confirm', { name: s.name })))) return;
    try {
      await api('POST', `/api/studios/${s.id}/rotate-key`);
      await loadStudios();
      notice(t('desk.key.rotated', { name: s.name }));
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  async function rotateViewLink(s) {
    if (!(await confirmDialog(t('desk.view.rotate.confirm', { name: s.name })))) return;
    try {
      await api('POST', `/api/studios/${s.id}/rotate-view-token`);
      await loadStudios();
      notice(t('desk.view.rotated', { name: s.name }));
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  $('studio-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    clearErrors(form);
    try {
      const s = await api('POST', '/api/studios', { name: $('studio-name').value });
      $('studio-name').value = '';
      await loadStudios();
      notice(t('desk.studio.created', { name: s.name }));
      const show = $(`studio-${s.id}-show`);
      if (show) show.focus();
    } catch (err) {
      if (err instanceof ApiError) showErrors(form, 'studio', err);
    }
  });

  async function loadStudios() {
    state.studios = (await api('GET', '/api/studios')).studios;
    renderStudios();
    fillStudioSelect();
  }

  // ---- events ----

  function fillStudioSelect() {
    const sel = $('event-studio_id');
    const keep = sel.value;
    sel.replaceChildren(...state.studios.map((s) => el('option', { value: String(s.id) }, s.name)));
    if (keep && state.studios.some((s) => String(s.id) === keep)) sel.value = keep;
    const need = t('desk.event.need.studio');
    const formError = $('event-form-error');
    if (!state.studios.length) formError.textContent = need;
    else if (formError.textContent === need) formError.textContent = '';
  }

  function fillCategorySelect() {
    const sel = $('event-category');
    const keep = sel.value;
    const cats = Object.keys(i18n.strings.ru).filter((k) => k.startsWith('cat.')).map((k) => k.slice(4));
    sel.replaceChildren(...cats.map((c) => el('option', { value: c }, t(`cat.${c}`))));
    if (keep) sel.value = keep;
  }

  function resetEventForm() {
    state.editing = null;
    const form = $('event-form');
    clearErrors(form);
    form.reset();
    const start = new Date();
    start.setMinutes(0, 0, 0);
    start.setHours(start.getHours() + 1);
    $('event-starts_at').value = localInput(start.toISOString());
    $('event-ends_at').value = localInput(new Date(start.getTime() + 2 * 3600000).toISOString());
    $('event-form-h').textContent = t('desk.event.new');
    $('event-save').textContent = t('desk.event.create');
    $('event-stop-edit').hidden = true;
    fillStudioSelect();
  }

  function editEvent(e) {
    resetEventForm();
    state.editing = { id: e.id, title: e.title, starts: localInput(e.starts_at), ends: localInput(e.ends_at) };
    $('event-title').value = e.title;
    $('event-description').value = e.description;
    $('event-category').value = e.category;
    const lang = $('event-language');
    if (![...lang.options].some((o) => o.value === e.language)) lang.append(el('option', { value: e.language }, e.language));
    lang.value = e.language;
    $('event-studio_id').value = String(e.studio_id);
    $('event-starts_at').value = state.editing.starts;
    $('event-ends_at').value = state.editing.ends;
    $('event-form-h').textContent = t('desk.event.edit', { title: e.title });
    $('event-save').textContent = t('desk.event.save');
    $('event-stop-edit').hidden = false;
    $('event-form-h').focus();
  }

  $('event-stop-edit').addEventListener('click', () => { resetEventForm(); $('events-h').focus(); });

  $('event-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    clearErrors(form);
    const body = {
      title: $('event-title').value,
      description: $('event-description').value,
      category: $('event-category').value,
      language: $('event-language').value,
      studio_id: Number($('event-studio_id').value) || 0,
    };
    const editing = state.editing;
    // Times go only when they were changed: the form shows minutes, the server keeps seconds.
    if (!editing || $('event-starts_at').value !== editing.starts) body.starts_at = rfc3339($('event-starts_at').value);
    if (!editing || $('event-ends_at').value !== editing.ends) body.ends_at = rfc3339($('event-ends_at').value);
    if (editing && (body.starts_at || body.ends_at)) {
      // A reschedule sends both, so the server checks the pair.
      body.starts_at = rfc3339($('event-starts_at').value);
      body.ends_at = rfc3339($('event-ends_at').value);
    }
    try {
      const e = editing ? await api('PATCH', `/api/events/${editing.id}`, body) : await api('POST', '/api/events', body);
      resetEventForm();
      await loadEvents();
      notice(t(editing ? 'desk.event.saved' : 'desk.event.created', { title: e.title }));
    } catch (err) {
      if (err instanceof ApiError) showErrors(form, 'event', err);
    }
  });

  async function cancelEvent(e) {
    if (!(await confirmDialog(t('desk.event.cancel.confirm', { title: e.title })))) return;
    try {
      await api('POST', `/api/events/${e.id}/cancel`);
      await loadEvents();
      notice(t('desk.event.cancelled', { title: e.title }));
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  function eventItem(e) {
    const li = el('li', { class: `event state-${e.state}`, id: `event-${e.id}` },
      el('p', { class: 'title' }, e.title),
      el('p', { class: 'meta' }, `${fmt.dateTime(e.starts_at)}–${fmt.time(e.ends_at)} · ${e.studio.name} · `,
        el('span', { class: 'state' }, t(`state.${e.state}`)),
        ratingText(ratings.get(e.id)) ? el('span', { class: 'stars-avg' }, ` · ${ratingText(ratings.get(e.id))}`) : null));
    const actions = el('div', { class: 'actions' });
    if (e.state === 'scheduled' || e.state === 'live' || e.state === 'intermission') {
      actions.append(el('button', { type: 'button', 'aria-label': `${t('desk.event.edit.btn')}: ${e.title}`,
        onclick: () => editEvent(e) }, t('desk.event.edit.btn')));
    }
    if (e.state === 'scheduled') {
      actions.append(el('button', { type: 'button', class: 'danger', 'aria-label': `${t('desk.event.cancel.btn')}: ${e.title}`,
        onclick: () => cancelEvent(e) }, t('desk.event.cancel.btn')));
    }
    if (actions.childElementCount) li.append(actions);
    return li;
  }

  function renderEvents() {
    const host = $('events');
    const focusId = document.activeElement && host.contains(document.activeElement) ? document.activeElement.closest('li').id : null;
    const now = Date.now();
    const current = state.events.filter((e) => ['scheduled', 'live', 'intermission'].includes(e.state) ||
      (e.state === 'cancelled' && new Date(e.ends_at).getTime() > now));
    host.replaceChildren(...(current.length ? current.map(eventItem) : [el('li', { class: 'empty' }, t('desk.event.none'))]));
    if (focusId && $(focusId)) ($(focusId).querySelector('button') || $(focusId)).focus();
    renderWeek();
    fillModerationSelect();
  }

  async function loadEvents() {
    state.events = (await api('GET', '/api/events')).events;
    renderEvents();
  }

  // ---- the week at a glance, per studio ----

  function renderWeek() {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    const days = Array.from({ length: 7 }, (_, i) => new Date(start.getFullYear(), start.getMonth(), start.getDate() + i));
    const blocks = state.studios.map((s) => {
      const mine = state.events.filter((e) => e.studio_id === s.id);
      const cols = days.map((d, i) => {
        const from = d.getTime();
        const to = i + 1 < days.length ? days[i + 1].getTime() : from + 86400000;
        const todays = mine.filter((e) => new Date(e.starts_at).getTime() < to && new Date(e.ends_at).getTime() > from);
        return el('li', { class: 'day' },
          el('p', { class: 'day-name' }, fmt.day(d)),
          todays.length
            ? el('ul', {}, ...todays.map((e) => el('li', { class: `slot state-${e.state}` },
              `${fmt.time(e.starts_at)}–${fmt.time(e.ends_at)} ${e.title}`,
              e.state !== 'scheduled' ? ` (${t(`state.${e.state}`)})` : '')))
            : el('p', { class: 'quiet' }, t('desk.week.empty')));
      });
      return el('section', { class: 'week-studio', 'aria-labelledby': `week-${s.id}-h` },
        el('h3', { id: `week-${s.id}-h` }, s.name), el('ol', { class: 'week' }, ...cols));
    });
    $('week').replaceChildren(...(blocks.length ? blocks : [el('p', { class: 'quiet' }, t('desk.studio.none'))]));
  }

  // ---- live monitor ----

  const monitorCards = new Map();  // event id → {card, values}

  const MONITOR_ROWS = [
    ['state', (f) => t(`state.${f.state}`) || f.state],
    ['protocol', (f) => f.publisher && f.publisher.protocol.toUpperCase()],
    ['from', (f) => f.publisher && f.publisher.remote_address],
    ['uptime', (f) => f.publisher && t('desk.seconds', { v: fmt.number(f.publisher.uptime_s) })],
    ['bitrate', (f) => f.publisher && t('desk.kbps', { v: fmt.number(f.publisher.bitrate_kbps) })],
    ['fps', (f) => f.publisher && fmt.number(f.publisher.frame_rate, 1)],
    ['video', (f) => {
      const v = f.publisher && f.publisher.media && f.publisher.media.video;
      return v && `${v.codec}${v.profile ? ` ${v.profile}` : ''}, ${v.width}×${v.height}`;
    }],
    ['audio', (f) => {
      const a = f.publisher && f.publisher.media && f.publisher.media.audio;
      return a && `${a.codec}, ${fmt.number(a.sample_rate)} Hz, ${a.channels} ch`;
    }],
    ['reconnects', (f) => fmt.number(f.reconnects ?? 0)],
    ['dropped', (f) => f.publisher && fmt.number(f.publisher.dropped)],
    ['late', (f) => f.publisher && fmt.number(f.publisher.late_frames)],
    ['refusals', (f) => f.audience_refusals && causesText(f.audience_refusals.counts, 'desk.refusal')],
    // The server's own refusals (every event's card shows the same): its web port, the studios' ports.
    ['web_refusals', (f) => f.server_refusals && causesText(f.server_refusals.http, 'desk.http_refusal')],
    ['ingest_refusals', (f) => f.server_refusals && causesText(Object.fromEntries(
      Object.entries(f.server_refusals.ingest || {}).flatMap(([protocol, reasons]) =>
        Object.entries(reasons).map(([reason, n]) => [`${protocol}\u0000${reason}`, n]))), 'desk.ingest_refusal')],
  ];

  /** Refusals by cause ("too fast 3 · banned 1"), the most frequent first; known causes in words (`prefix`.cause).
   *  An ingest cause is "protocol\0reason": shown as "RTMP: wrong stream key 2". */
  function causesText(counts, prefix) {
    if (!counts) return null;
    const causes = Object.entries(counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    if (!causes.length) return t('desk.monitor.refusals.none');
    return causes.map(([key, n]) => {
      const [protocol, cause] = key.includes('\u0000') ? key.split('\u0000') : ['', key];
      const words = t(`${prefix}.${cause}`);
      const text = words && words !== `${prefix}.${cause}` ? words : cause;
      return `${protocol ? `${protocol.toUpperCase()}: ` : ''}${text} ${fmt.number(n)}`;
    }).join(' · ');
  }

  function monitorCard(e) {
    const values = {};
    const dl = el('dl', { class: 'facts' });
    for (const [name] of MONITOR_ROWS) {
      values[name] = el('dd', { 'data-fact': name }, '—');
      dl.append(el('div', {}, el('dt', {}, t(`desk.monitor.${name}`, { min: 10 })), values[name]));
    }
    const card = el('article', { class: 'card live', id: `monitor-${e.id}`, 'aria-labelledby': `monitor-${e.id}-h` },
      el('h3', { id: `monitor-${e.id}-h` }, `${e.title} · ${e.studio.name}`),
      values.nopub = el('p', { class: 'banner', hidden: true }, t('desk.monitor.nopub')),
      dl,
      el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger', onclick: () => endEvent(e) },
        t('desk.monitor.end'))));
    return { card, values };
  }

  async function endEvent(e) {
    if (!(await confirmDialog(t('desk.monitor.end.confirm', { title: e.title })))) return;
    try {
      await api('POST', `/api/events/${e.id}/end`);
      await loadEvents();
      monitor();
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  const awaitArchive = new Map();  // event id → until when to look for its recording
  let monitoring = false;
  async function monitor() {
    if (monitoring || !state.me) return;
    monitoring = true;
    try {
      const live = (await api('GET', '/api/events?when=live')).events;
      const facts = await Promise.all(live.map((e) => api('GET', `/api/events/${e.id}/live`).catch(() => null)));
      const host = $('monitor');
      for (const [id, m] of monitorCards) {
        if (!live.some((e) => e.id === id)) { m.card.remove(); monitorCards.delete(id); }
      }
      live.forEach((e, i) => {
        if (!monitorCards.has(e.id)) {
          const m = monitorCard(e);
          monitorCards.set(e.id, m);
          host.append(m.card);
        }
        const m = monitorCards.get(e.id);
        const f = facts[i] || { state: e.state, publisher: null };
        m.card.dataset.state = f.state;
        m.values.nopub.hidden = !!f.publisher;
        for (const [name, value] of MONITOR_ROWS) {
          const v = value(f);
          m.values[name].textContent = v === null || v === undefined || v === '' ? '—' : v;
        }
      });
      let empty = host.querySelector('.empty');
      if (!live.length && !empty) host.append(el('p', { class: 'quiet empty' }, t('desk.monitor.none')));
      else if (live.length && empty) empty.remove();
      $('monitor-updated').textContent = t('desk.monitor.updated', { time: new Date().toLocaleTimeString(i18n.locale()) });
      // A studio that just went live (or ended) changes the event list as well.
      const states = live.map((e) => `${e.id}:${e.state}`).join();
      if (monitor.lastStates !== undefined && monitor.lastStates !== states) {
        loadEvents().catch(() => {});
        // An event that left the air is archived a moment later: look for its recording for a minute.
        for (const id of monitor.lastLive || []) if (!live.some((e) => e.id === id)) awaitArchive.set(id, Date.now() + 60000);
      }
      monitor.lastStates = states;
      monitor.lastLive = live.map((e) => e.id);
      for (const [id, until] of awaitArchive) {
        if (recordings.list.some((e) => e.id === id) || Date.now() > until) awaitArchive.delete(id);
      }
      if (awaitArchive.size) loadRecordings().catch(() => {});
    } catch {
      /* shown by the next successful round; a 401 has shown the login */
    } finally {
      monitoring = false;
    }
  }

  // ---- ratings: the public listings carry each event's average and count ----

  const ratings = new Map();  // event id → {average, count}

  function ratingText(r) {
    return r && r.count ? t('desk.rating', { avg: fmt.number(r.average, 1), n: fmt.number(r.count) }) : '';
  }

  /** Every page of a public listing (`when` = live, upcoming or archive). */
  async function publicListing(when) {
    const out = [];
    for (let page = 1; page <= 50; page++) {
      const j = await api('GET', `/api/public/events?when=${when}&page=${page}`);
      out.push(...j.events);
      if (!j.events.length || out.length >= j.total) break;
    }
    return out;
  }

  function renderRatings(list) {
    const rated = list.filter((e) => e.rating && e.rating.count)
      .sort((a, b) => b.rating.average - a.rating.average || b.rating.count - a.rating.count);
    $('ratings').replaceChildren(...(rated.length
      ? rated.map((e) => el('li', { id: `rating-${e.id}` }, el('span', { class: 'title' }, e.title), ' — ',
        el('span', { class: 'stars-avg' }, ratingText(e.rating))))
      : [el('li', { class: 'quiet empty' }, t('desk.ratings.none'))]));
  }

  // ---- moderation: the comment stream of one event, hide/unhide, bans, slow mode ----

  const mod = { eventId: null, comments: [], bans: [], round: 0, shown: '', chosen: false, slow: null, slowFor: null,
    log: [], logShown: '' };

  function fillModerationSelect() {
    const sel = $('mod-event');
    const keep = sel.value;
    const order = { live: 0, intermission: 1, scheduled: 2, ended: 3, archived: 3, cancelled: 4 };
    const events = [...state.events, ...recordings.list.filter((r) => !state.events.some((e) => e.id === r.id))]
      .filter((e) => e.state !== 'cancelled')
      .sort((a, b) => (order[a.state] ?? 5) - (order[b.state] ?? 5) || new Date(b.starts_at) - new Date(a.starts_at));
    sel.replaceChildren(...events.map((e) => el('option', { value: String(e.id) },
      `${e.title} · ${fmt.dateTime(e.starts_at)} · ${t(`state.${e.state}`)}`)));
    // The curator's choice stays; until there is one, the first live event (the list starts with them).
    if (mod.chosen && keep && events.some((e) => String(e.id) === keep)) sel.value = keep;
    const id = Number(sel.value) || null;
    if (id !== mod.eventId) {
      mod.eventId = id;
      mod.comments = [];
      $('mod-comments').replaceChildren();
      moderation();
    }
  }

  function bannedHow(viewerId) {
    const b = mod.bans.filter((x) => x.viewer_id === viewerId && (x.event_id === null || x.event_id === mod.eventId));
    if (b.some((x) => x.event_id === null)) return 'everywhere';
    return b.length ? 'event' : '';
  }

  function commentItem(c) {
    const hidden = c.status !== 'visible';
    const when = c.media_ms === null || c.media_ms === undefined ? fmt.time(c.at) : `${fmt.time(c.at)} (${clock(c.media_ms)})`;
    const who = `${c.nick}: ${c.text}`;
    const banned = bannedHow(c.viewer_id);
    const question = c.question ? (c.answered ? 'answered' : 'open') : '';
    const li = el('li', { id: `mod-comment-${c.id}`, class: `mod-comment status-${c.status}${question ? ` question q-${question}` : ''}`,
      'data-status': c.status, ...(question ? { 'data-question': question } : {}) },
      el('p', { class: 'meta' }, question ? el('span', { class: 'q-badge' }, t(`desk.mod.q.${question}`)) : null,
        el('span', { class: 'nick' }, c.nick), ` · ${when}`,
        hidden ? el('span', { class: 'badge' }, ` · ${t(`desk.mod.status.${c.status}`)}`) : null,
        banned ? el('span', { class: 'badge' }, ` · ${t(`desk.mod.banned.${banned}`)}`) : null),
      el('p', { class: 'text' }, c.text));
    const actions = el('div', { class: 'actions' },
      el('button', { type: 'button', class: hidden ? '' : 'danger', 'data-action': hidden ? 'unhide' : 'hide',
        'aria-label': `${t(hidden ? 'desk.mod.unhide' : 'desk.mod.hide')}: ${who}`,
        onclick: () => setCommentStatus(c, hidden ? 'unhide' : 'hide') }, t(hidden ? 'desk.mod.unhide' : 'desk.mod.hide')));
    if (question === 'open') {
      actions.prepend(el('button', { type: 'button', 'data-action': 'answered',
        'aria-label': `${t('desk.mod.answered')}: ${who}`, onclick: () => setCommentStatus(c, 'answered') },
      t('desk.mod.answered')));
    }
    if (!banned) {
      actions.append(
        el('button', { type: 'button', class: 'danger', 'data-action': 'ban-event',
          'aria-label': `${t('desk.mod.ban.event')}: ${c.nick}`, onclick: () => ban(c, mod.eventId) }, t('desk.mod.ban.event')),
        el('button', { type: 'button', class: 'danger', 'data-action': 'ban-all',
          'aria-label': `${t('desk.mod.ban.all')}: ${c.nick}`, onclick: () => ban(c, null) }, t('desk.mod.ban.all')));
    }
    li.append(actions);
    return li;
  }

  /** Re-renders a list, keeping the focus on the same button of the same item. */
  function keepFocus(host, render) {
    const a = document.activeElement;
    const li = a && host.contains(a) ? a.closest('li') : null;
    const key = li ? [li.id, a.dataset.action] : null;
    render();
    if (!key || !$(key[0])) return;
    const item = $(key[0]);
    (item.querySelector(`button[data-action="${key[1]}"]`) || item.querySelector('button') || item).focus();
  }

  function renderModeration() {
    const host = $('mod-comments');
    keepFocus(host, () => host.replaceChildren(...(mod.comments.length ? mod.comments.map(commentItem)
      : [el('li', { class: 'quiet empty' }, t(mod.eventId ? 'desk.mod.none' : 'desk.mod.no.event'))])));
    const bans = $('mod-bans');
    keepFocus(bans, () => bans.replaceChildren(...(mod.bans.length ? mod.bans.map((b) => {
      const scope = b.event_id === null ? t('desk.mod.scope.all') : t('desk.mod.scope.event', { id: b.event_id });
      const what = b.viewer_id ? t('desk.mod.viewer', { id: b.viewer_id }) : t('desk.mod.address', { address: b.address });
      return el('li', { id: `ban-${b.id}` }, `${what} · ${scope} · ${b.created_by} `,
        el('button', { type: 'button', 'data-action': 'unban', 'aria-label': `${t('desk.mod.unban')}: ${what}`,
          onclick: () => unban(b) }, t('desk.mod.unban')));
    }) : [el('li', { class: 'quiet empty' }, t('desk.mod.bans.none'))])));
  }

  // Slow mode as the server has it; the choice follows it when another event is picked (not while the
  // curator may be choosing).
  function slowLabel(s) {
    if (!s) return t('desk.mod.slow.off');
    return [10, 30, 60, 300].includes(s) ? t(`desk.mod.slow.${s}`) : t('desk.mod.slow.n', { s });
  }
  function showSlow(id, seconds) {
    mod.slow = seconds;
    if (id && mod.slowFor !== id) {
      mod.slowFor = id;
      const sel = $('mod-slow');
      if ([...sel.options].some((o) => o.value === String(seconds))) sel.value = String(seconds);
    }
    const text = id && seconds !== null ? t('desk.mod.slow.now', { label: slowLabel(seconds) }) : '';
    if ($('mod-slow-now').textContent !== text) $('mod-slow-now').textContent = text;
  }

  // ---- moderation log: who did what, when (newest first) ----

  const LOG_SHOWN = 30;

  function eventTitle(id) {
    const e = state.events.find((x) => x.id === id) || recordings.list.find((x) => x.id === id);
    return e ? e.title : t('desk.mod.scope.event', { id });
  }

  function logTarget(entry) {
    const target = entry.target || '';
    let m;
    if ((m = target.match(/^comment (\d+)$/))) return t('desk.log.comment', { id: m[1] });
    if (entry.action === 'slow_mode' && (m = target.match(/^(\d+) s$/))) return slowLabel(Number(m[1]));
    if ((m = target.match(/^viewer (.+)$/))) return t('desk.mod.viewer', { id: m[1] });
    if ((m = target.match(/^address (.+)$/))) return t('desk.mod.address', { address: m[1] });
    if ((m = target.match(/^([^:]+): (\d+) word/))) return t('desk.log.words', { lang: m[1], n: m[2] });
    return target;
  }

  function renderLog() {
    const items = mod.log.map((entry) => {
      const action = i18n.strings[i18n.lang()][`desk.log.${entry.action}`] ? t(`desk.log.${entry.action}`) : entry.action;
      return el('li', { class: `log-${entry.action}`, 'data-action': entry.action },
        el('time', { dateTime: entry.at }, fmt.dateTime(entry.at)), ' · ', el('span', { class: 'curator' }, entry.curator),
        ` ${action}: ${logTarget(entry)}`,
        entry.event_id === null ? null : ` · ${t('desk.log.event', { title: eventTitle(entry.event_id) })}`);
    });
    $('mod-log').replaceChildren(...(items.length ? items : [el('li', { class: 'quiet empty' }, t('desk.mod.log.none'))]));
  }

  async function moderation() {
    if (!state.me) return;
    const round = ++mod.round;  // only the latest round's answer is shown (an action starts a new one)
    try {
      const id = mod.eventId;
      const [comments, bans, slow, log] = await Promise.all([
        id ? api('GET', `/api/events/${id}/comments`) : { comments: [] },
        api('GET', '/api/audience/bans'),
        id ? api('GET', `/api/events/${id}/slow-mode`) : { slow_mode_s: null },
        api('GET', `/api/audience/log?limit=${LOG_SHOWN}`)]);
      if (round !== mod.round || id !== mod.eventId) return;
      showSlow(id, slow.slow_mode_s);
      const logKey = JSON.stringify(log.log);
      if (logKey !== mod.logShown) {
        mod.logShown = logKey;
        mod.log = log.log;
        renderLog();
      }
      const key = JSON.stringify([id, comments.comments, bans.bans]);
      if (key !== mod.shown) {  // unchanged lists are left alone (the focus, a screen reader's place)
        mod.shown = key;
        mod.comments = comments.comments.slice().reverse();  // the newest first
        mod.bans = bans.bans;
        renderModeration();
      }
      $('mod-updated').textContent = t('desk.monitor.updated', { time: new Date().toLocaleTimeString(i18n.locale()) });
    } catch {
      /* the next round shows it; a 401 has shown the login */
    }
  }

  async function modAction(fn, done) {
    try {
      await fn();
      await moderation();
      notice(done);
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
      else throw err;
    }
  }

  function setCommentStatus(c, action) {
    return modAction(() => api('POST', `/api/events/${c.event_id}/comments/${c.id}/${action}`),
      t(`desk.mod.${action}.done`, { nick: c.nick }));
  }

  async function ban(c, eventId) {
    const key = eventId ? 'desk.mod.ban.event.confirm' : 'desk.mod.ban.all.confirm';
    if (!(await confirmDialog(t(key, { nick: c.nick })))) return;
    const body = { viewer_id: c.viewer_id };
    if (eventId) body.event_id = eventId;
    await modAction(() => api('POST', '/api/audience/bans', body), t('desk.mod.banned.done', { nick: c.nick }));
  }

  function unban(b) {
    return modAction(() => api('DELETE', `/api/audience/bans/${b.id}`), t('desk.mod.unbanned'));
  }

  $('mod-event').addEventListener('change', () => { mod.chosen = true; fillModerationSelect(); });
  $('mod-slow-set').addEventListener('click', async () => {
    if (!mod.eventId) return;
    const seconds = Number($('mod-slow').value);
    try {
      await api('POST', `/api/events/${mod.eventId}/slow-mode`, { seconds });
      notice(seconds ? t('desk.mod.slow.on', { label: $('mod-slow').selectedOptions[0].textContent }) : t('desk.mod.slow.offed'));
      moderation();
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  });

  // ---- word lists: a comment with one of these words waits for the curator (per comment language) ----

  const words = { lists: {} };

  function fillWords() {
    $('words-words').value = (words.lists[$('words-language').value] || []).join('\n');
  }

  async function loadWords() {
    try {
      words.lists = (await api('GET', '/api/audience/words')).words || {};
    } catch {
      return;  // a 401 has shown the login; otherwise the editor stays as it is
    }
    const sel = $('words-language');
    for (const lang of Object.keys(words.lists)) {
      if (![...sel.options].some((o) => o.value === lang)) sel.append(el('option', { value: lang }, lang));
    }
    fillWords();
  }

  $('words-language').addEventListener('change', () => { clearErrors($('words-form')); fillWords(); });
  $('words-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = $('words-form');
    const language = $('words-language').value;
    const list = $('words-words').value.split('\n').map((w) => w.trim()).filter((w) => w);
    try {
      const j = await api('POST', '/api/audience/words', { language, words: list });
      clearErrors(form);
      words.lists[language] = j.words;
      fillWords();
      notice(t('desk.words.saved', { n: j.words.length, lang: $('words-language').selectedOptions[0].textContent }));
      moderation();
    } catch (err) {
      if (err instanceof ApiError) showErrors(form, 'words', err);
      else throw err;
    }
  });

  // ---- archive: recordings of archived events ----

  const recordings = { list: [], details: new Map(), shown: '' };

  /** Milliseconds → "m:ss" (or "h:mm:ss"). */
  function clock(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const p = (n) => String(n).padStart(2, '0');
    const h = Math.floor(s / 3600);
    return h ? `${h}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}` : `${Math.floor(s / 60)}:${p(s % 60)}`;
  }

  /** "m:ss", "h:mm:ss" or whole seconds → milliseconds; '' → null; anything else → NaN. */
  function parseClock(text) {
    const v = text.trim();
    if (!v) return null;
    const m = v.match(/^(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d+)?)$/);
    if (!m) return NaN;
    const parts = v.split(':').map((x) => Number(x.replace(',', '.')));
    if (parts.slice(1).some((x) => x >= 60)) return NaN;
    return Math.round(parts.reduce((acc, x) => acc * 60 + x, 0) * 1000);
  }

  function megabytes(bytes) {
    return t('desk.mb', { v: fmt.number(bytes / 1e6, bytes < 1e7 ? 1 : 0) });
  }

  function recordingCard(e) {
    const d = recordings.details.get(e.id);
    const base = `rec-${e.id}`;
    const card = el('article', { class: 'card recording', id: base, 'aria-labelledby': `${base}-h` },
      el('h3', { id: `${base}-h` }, e.title),
      el('p', { class: 'quiet' }, `${fmt.dateTime(e.starts_at)} · ${e.studio ? e.studio.name : ''}`));
    const facts = el('dl', { class: 'facts' });
    const fact = (name, value) => facts.append(el('div', {}, el('dt', {}, t(`desk.rec.${name}`)),
      el('dd', { 'data-fact': name }, value)));
    const trimmed = d && (d.trim.start_ms !== null || d.trim.end_ms !== null);
    fact('public', clock((d ? d.public_duration_s : e.duration_s) * 1000));
    if (d) {
      fact('duration', clock(d.duration_s * 1000));
      fact('size', megabytes(d.bytes));
      fact('state', t(`desk.rec.state.${d.state}`));
    }
    if (ratingText(e.rating)) fact('rating', ratingText(e.rating));
    card.append(facts);
    if (d && d.error) card.append(el('p', { class: 'form-error' }, d.error));
    if (!d) return card;

    const rendition = (d.renditions.find((r) => r.name === 'source') || d.renditions[0] || { name: 'source' }).name;
    const start = el('input', { id: `${base}-start`, inputMode: 'numeric', autocomplete: 'off', placeholder: '0:00',
      value: d.trim.start_ms !== null ? clock(d.trim.start_ms) : '' });
    const end = el('input', { id: `${base}-end`, inputMode: 'numeric', autocomplete: 'off', placeholder: clock(d.duration_s * 1000),
      value: d.trim.end_ms !== null ? clock(d.trim.end_ms) : '' });
    const form = el('form', { class: 'trim', novalidate: true },
      el('h4', {}, t('desk.rec.trim')),
      el('p', { class: 'quiet', id: `${base}-trim-hint` }, t('desk.rec.trim.hint')),
      el('p', { class: 'form-error', id: `${base}-trim-error`, role: 'alert' }),
      el('div', { class: 'row' },
        el('div', { class: 'field' }, el('label', { htmlFor: start.id }, t('desk.rec.trim.start')), start,
          el('p', { class: 'field-error', id: `${base}-start-error` })),
        el('div', { class: 'field' }, el('label', { htmlFor: end.id }, t('desk.rec.trim.end')), end,
          el('p', { class: 'field-error', id: `${base}-end-error` }))),
      el('div', { class: 'actions' },
        el('button', { type: 'submit', id: `${base}-trim`, class: 'primary' }, t('desk.rec.trim.apply')),
        trimmed && el('button', { type: 'button', id: `${base}-untrim`, onclick: () => trim(e, null, null) },
          t('desk.rec.trim.undo'))));
    start.setAttribute('aria-describedby', `${base}-trim-hint`);
    end.setAttribute('aria-describedby', `${base}-trim-hint`);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const s = parseClock(start.value);
      const en = parseClock(end.value);
      const bad = [[s, start, 'start'], [en, end, 'end']].filter(([v]) => Number.isNaN(v));
      for (const [, input, name] of bad) {
        $(`${base}-${name}-error`).textContent = t('desk.rec.trim.bad');
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', `${base}-${name}-error ${base}-trim-hint`);
      }
      if (bad.length) { bad[0][1].focus(); return; }
      trim(e, s, en, form);
    });
    card.append(form, el('div', { class: 'actions' },
      el('button', { type: 'button', id: `${base}-download`, onclick: () => download(e, rendition) }, t('desk.rec.download')),
      el('button', { type: 'button', id: `${base}-delete`, class: 'danger', onclick: () => deleteRecording(e) },
        t('desk.rec.delete'))));
    return card;
  }

  function renderRecordings() {
    const host = $('recordings');
    const focusId = document.activeElement && host.contains(document.activeElement) ? document.activeElement.id : null;
    host.replaceChildren(...(recordings.list.length ? recordings.list.map(recordingCard)
      : [el('p', { class: 'quiet empty' }, t('desk.rec.none'))]));
    if (focusId && $(focusId)) $(focusId).focus();
  }

  async function loadRecordings() {
    const [archive, live, upcoming] = await Promise.all(['archive', 'live', 'upcoming'].map(publicListing));
    for (const e of [...archive, ...live, ...upcoming]) ratings.set(e.id, e.rating);
    renderRatings([...live, ...archive, ...upcoming]);
    // The public archive lists past events; those with a recording (an "ended" one has none) are shown.
    const past = archive.filter((e) => e.state === 'archived');
    const details = await Promise.all(past.map((e) => api('GET', `/api/events/${e.id}/recording`).catch(() => null)));
    recordings.list = past;
    recordings.details = new Map(past.map((e, i) => [e.id, details[i]]).filter(([, d]) => d));
    const key = JSON.stringify([archive, details]);
    if (key !== recordings.shown) {  // unchanged cards are left alone (a trim time being typed)
      recordings.shown = key;
      renderRecordings();
    }
    renderEvents();
    fillModerationSelect();
  }

  async function trim(e, startMs, endMs, form) {
    try {
      const d = await api('POST', `/api/events/${e.id}/recording/trim`, { start_ms: startMs, end_ms: endMs });
      recordings.details.set(e.id, d);
      e.duration_s = d.public_duration_s;
      renderRecordings();
      notice(t(startMs === null && endMs === null ? 'desk.rec.untrimmed' : 'desk.rec.trimmed',
        { title: e.title, duration: clock(d.public_duration_s * 1000) }));
      $(`rec-${e.id}-trim`).focus();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (form) showErrors(form, `rec-${e.id}`, { error: { ...err.error,
        fields: (err.error.fields || (err.error.field ? [err.error] : [])).map((f) => ({ ...f, field: f.field.replace('_ms', '') })) } });
      else notice(serverText(err.error));
    }
  }

  async function download(e, rendition) {
    notice(t('desk.rec.download.wait'));
    try {
      const r = await fetch(`/api/events/${e.id}/recording.mp4?rendition=${encodeURIComponent(rendition)}`,
        { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` } });
      if (!r.ok) {
        let j = null;
        try { j = await r.json(); } catch { /* not JSON */ }
        throw new ApiError(r.status, (j && j.error) || { code: 'http', message: `HTTP ${r.status}` });
      }
      const url = URL.createObjectURL(await r.blob());
      const a = el('a', { href: url, download: `event-${e.id}-${rendition}.mp4`, class: 'offscreen' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      notice(t('desk.rec.download.done', { title: e.title }));
    } catch (err) {
      notice(err instanceof ApiError ? serverText(err.error) : t('srv.code.network'));
    }
  }

  async function deleteRecording(e) {
    if (!(await confirmDialog(t('desk.rec.delete.confirm', { title: e.title })))) return;
    try {
      await api('DELETE', `/api/events/${e.id}/recording`);
      await loadRecordings();
      notice(t('desk.rec.deleted', { title: e.title }));
      $('archive-h').focus();
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  // ---- everything ----

  async function refresh() {
    try {
      await loadStudios();
      await loadEvents();
      await loadRecordings();
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) notice(serverText(err.error));
    }
  }

  function rerender() {
    document.title = t('desk.title');
    fillCategorySelect();
    $('event-tz').textContent = t('desk.event.tz', { tz: Intl.DateTimeFormat().resolvedOptions().timeZone });
    if (!state.me) return;
    $('who').textContent = t('desk.logged.as', { name: state.me.username });
    renderStudios();
    renderEvents();
    renderRecordings();
    renderModeration();
    renderLog();
    showSlow(mod.eventId, mod.slow);
    loadRecordings().catch(() => {});
    for (const m of monitorCards.values()) m.card.remove();
    monitorCards.clear();
    $('monitor').replaceChildren();
    monitor();
  }

  i18n.apply();
  i18n.onChange(rerender);
  fillCategorySelect();
  resetEventForm();
  $('event-tz').textContent = t('desk.event.tz', { tz: Intl.DateTimeFormat().resolvedOptions().timeZone });
  if (sessionStorage.getItem(TOKEN_KEY)) {
    api('GET', '/api/me').then(enter).catch(() => showLogin('', false));
  } else {
    showLogin('', false);
  }
  window.sredaDesk = { state };
})();
