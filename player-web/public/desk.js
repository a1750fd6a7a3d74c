// The curator's desk (/desk): log in, studios with their keys and OBS settings, events with the server's
// field errors beside the fields, the week at a glance per studio, and a live monitor. Talks only to the
// REST API (/api, bearer token kept for this tab in sessionStorage). Plain DOM, text only (never innerHTML
// with server data); every string from i18n.js.
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
      r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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
    state.timers.push(setInterval(monitor, MONITOR_MS), setInterval(refresh, REFRESH_MS));
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
    secretRows.push(keyRow.querySelector('input'), srtRow.querySelector('input'));
    card.append(
      el('h4', {}, t('desk.obs')),
      el('p', { class: 'quiet' }, t('desk.obs.rtmp')),
      copyRow(`${base}-rtmp`, t('desk.obs.server'), urls.rtmp, false),
      keyRow,
      el('p', { class: 'quiet' }, t('desk.obs.srt')),
      srtRow,
      el('p', { class: 'quiet' }, t('desk.obs.hint')),
      el('div', { class: 'actions' }, show,
        state.me.role === 'admin' && el('button', { type: 'button', id: `${base}-rotate`, class: 'danger',
          onclick: () => rotateKey(s) }, t('desk.key.rotate'))));
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
        el('span', { class: 'state' }, t(`state.${e.state}`))));
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
  ];

  function monitorCard(e) {
    const values = {};
    const dl = el('dl', { class: 'facts' });
    for (const [name] of MONITOR_ROWS) {
      values[name] = el('dd', { 'data-fact': name }, '—');
      dl.append(el('div', {}, el('dt', {}, t(`desk.monitor.${name}`)), values[name]));
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
      if (monitor.lastStates !== undefined && monitor.lastStates !== states) loadEvents().catch(() => {});
      monitor.lastStates = states;
    } catch {
      /* shown by the next successful round; a 401 has shown the login */
    } finally {
      monitoring = false;
    }
  }

  // ---- everything ----

  async function refresh() {
    try {
      await loadStudios();
      await loadEvents();
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
