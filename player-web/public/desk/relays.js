// Relays in the desk: where an event also goes out (VK Video, a partner city's sreda…) and where a studio
// takes its picture from (a partner's stream). One panel per event and one per studio (its defaults for its
// events): the list (name, the address with its key masked by the server, the quality sent, on/off, the
// state in words with the target's last error, bytes sent, time connected, reconnects), add, remove (asked
// first), "Test connection" (says what happened). A studio's "Pull source" box sets or clears the address
// it pulls from and says how that goes. Panels are built once and kept: the lists around them are redrawn
// every few seconds, and what a curator has typed must survive that (and a refused save).
// Live states come from GET /api/events/{id}/live ("relays"), which the monitor reads: showRelayStatus().
import { $, el } from '../dom.js';
import { t, own, clock } from '../i18n.js';
import { state, api, ApiError, notice, confirmThen, clearErrors, showErrors, serverText, fmt } from './common.js';

const panels = new Map();  // "events-5", "studios-2" → Panel
const pulls = new Map();   // studio id → PullBox
const liveStatus = new Map();  // event id → [{id, name, state, last_error, bytes_sent, uptime_s, reconnects}]
const rungsSeen = new Set();   // ladder rungs seen in live facts (GET …/live "ladder"), for the quality choice

/** Bytes in words: "950 Б", "12,3 МБ" (the page's language). */
export function bytesText(n) {
  const units = ['b', 'kb', 'mb', 'gb', 'tb'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return t(`desk.bytes.${units[i]}`, { v: fmt.number(v, i === 0 || v >= 100 ? 0 : 1) });
}

/** What a relay's runtime or "test connection" said ("refused: …", "no answer within 10 s", "connected"), in
 *  the curator's words where the start is known, with the server's own details after it. */
export function relayWords(what) {
  const text = String(what || '');
  const known = [
    ['connected', 'connected'], ['refused', 'refused'], ['connection refused', 'refused'],
    ['no answer', 'timeout'], ['timed out', 'timeout'], ['cannot resolve', 'resolve'],
    ['not allowed', 'not_allowed'], ['destination_not_allowed', 'not_allowed'], ['tls', 'tls'],
    ['rejected', 'rejected'], ['closed', 'closed'], ['the target is not keeping up', 'slow'],
  ];
  const lower = text.toLowerCase();
  const hit = known.find(([start]) => lower.startsWith(start));
  const words = hit ? own(`desk.relay.what.${hit[1]}`) : undefined;
  if (!words) return text;
  return lower === hit[0] ? words : `${words} (${text})`;
}

/** A relay's state in words: "sending", "reconnecting — refused (…)", "sending — the server is not keeping up
 *  (…)" (a target that stopped taking the stream), "waiting", "stopped". */
function stateWords(s) {
  const words = t(`desk.relay.state.${s.state}`);
  const why = s.state === 'reconnecting' || s.state === 'sending' ? s.last_error : '';
  return why ? `${words} — ${relayWords(why)}` : words;
}

function statusOf(eventId, relay) {
  const live = eventId ? (liveStatus.get(eventId) || []).find((s) => s.id === relay.id) : null;
  if (live) return live;
  return { state: relay.enabled ? 'waiting' : 'stopped', bytes_sent: 0, uptime_s: 0, reconnects: 0, last_error: '' };
}

/** The qualities a relay may send: the studio's own stream, then its ladder's rungs (as the server lists them
 *  with the relays; until then what live events showed), and what relays already use. */
function renditions(listed, extra = []) {
  return [...new Set(['source', ...(listed || rungsSeen), ...extra])];
}

function renditionName(r) {
  return r === 'source' ? t('desk.relay.rendition.source') : r;
}

// Keeps the focus, and the caret in a text field, across a redraw of `host` (elements found again by id).
function keepFocusIn(host, draw) {
  const a = document.activeElement;
  const id = a && host.contains(a) ? a.id : null;
  const sel = id && typeof a.selectionStart === 'number' ? [a.selectionStart, a.selectionEnd] : null;
  draw();
  if (!id || !$(id) || document.activeElement === $(id)) return;
  $(id).focus();
  if (sel) { try { $(id).setSelectionRange(...sel); } catch { /* not a text field */ } }
}

class Panel {
  /** scope 'events' or 'studios'; `id` its id; `eventId` for the live states (0 for a studio). */
  constructor(scope, id) {
    this.scope = scope;
    this.id = id;
    this.eventId = scope === 'events' ? id : 0;
    this.base = `relays-${scope}-${id}`;
    this.relays = null;  // null until loaded
    this.open = false;
    this.loading = null;
    const b = this.base;
    this.heading = el('h4', { id: `${b}-h`, tabIndex: -1 });
    this.hint = el('p', { class: 'quiet' });
    this.list = el('ul', { class: 'relays', id: `${b}-list` });
    this.loadError = el('p', { class: 'form-error', role: 'alert' });
    this.name = el('input', { id: `${b}-name`, maxLength: 200, autocomplete: 'off' });
    this.url = el('input', { id: `${b}-url`, autocomplete: 'off', spellcheck: false, autocapitalize: 'none',
      class: 'mono', inputMode: 'url' });
    this.rendition = el('select', { id: `${b}-rendition` });
    this.formH = el('h5', { id: `${b}-form-h` });
    this.labels = {
      name: el('label', { htmlFor: this.name.id }),
      url: el('label', { htmlFor: this.url.id }),
      rendition: el('label', { htmlFor: this.rendition.id }),
    };
    this.urlHint = el('p', { class: 'quiet', id: `${b}-url-hint` });
    this.add = el('button', { type: 'submit', class: 'primary', id: `${b}-add` });
    this.tryUrl = el('button', { type: 'button', id: `${b}-try`, onclick: () => this.testTyped() });
    this.tryResult = el('p', { class: 'test-result', id: `${b}-try-result`, role: 'status' });
    const field = (name, input, extra) => el('div', { class: 'field' }, this.labels[name], extra, input,
      el('p', { class: 'field-error', id: `${input.id}-error` }));
    this.form = el('form', { class: 'form relay-form', id: `${b}-form`, noValidate: true, 'aria-labelledby': `${b}-form-h`,
      onsubmit: (ev) => { ev.preventDefault(); this.create(); } },
    this.formH,
    el('p', { class: 'form-error', id: `${b}-form-error`, role: 'alert' }),
    field('name', this.name),
    field('url', this.url, this.urlHint),
    field('rendition', this.rendition),
    el('div', { class: 'actions' }, this.add, this.tryUrl),
    this.tryResult);
    this.url.setAttribute('aria-describedby', this.urlHint.id);
    this.root = el('section', { class: 'relay-panel', id: b, 'aria-labelledby': `${b}-h`, hidden: true },
      this.heading, this.hint, this.loadError, this.list, this.form);
    this.relabel();
  }

  path(relay = null) {
    return `/api/${this.scope}/${this.id}/relays${relay === null ? '' : `/${relay}`}`;
  }

  relabel() {
    const studio = this.scope === 'studios';
    this.heading.textContent = t(studio ? 'desk.relays.studio' : 'desk.relays');
    this.hint.textContent = t(studio ? 'desk.relays.studio.hint' : 'desk.relays.hint');
    this.formH.textContent = t('desk.relay.new');
    this.labels.name.textContent = t('desk.relay.name');
    this.labels.url.textContent = t('desk.relay.url');
    this.labels.rendition.textContent = t('desk.relay.rendition');
    this.urlHint.textContent = t('desk.relay.url.hint');
    this.add.textContent = t('desk.relay.add');
    this.tryUrl.textContent = t('desk.relay.test');
    this.fillRenditions();
    this.renderList();
  }

  fillRenditions() {
    const keep = this.rendition.value || 'source';
    const used = (this.relays || []).map((r) => r.rendition);
    this.rendition.replaceChildren(...renditions(this.renditions, used).map((r) => el('option', { value: r }, renditionName(r))));
    this.rendition.value = [...this.rendition.options].some((o) => o.value === keep) ? keep : 'source';
  }

  setOpen(open) {
    this.open = open;
    this.root.hidden = !open;
    if (open) this.load();
  }

  async load() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const j = await api('GET', this.path());
        this.relays = Array.isArray(j) ? j : (j.relays || []);
        if (Array.isArray(j && j.renditions)) this.renditions = j.renditions;
        this.loadError.textContent = '';
      } catch (err) {
        if (err instanceof ApiError) this.loadError.textContent = serverText(err.error);
      } finally {
        this.loading = null;
      }
      this.fillRenditions();
      this.renderList();
    })();
    return this.loading;
  }

  renderList() {
    if (this.relays === null) { this.list.replaceChildren(); return; }
    // Rows are kept per relay and updated in place (the live states change every few seconds): the focus, a
    // test's answer and a screen reader's place stay put. An event also goes out to its studio's defaults:
    // listed after its own, with their live state, and changed on the studio's card.
    this.rows = this.rows || new Map();
    const ids = new Set(this.relays.map((r) => r.id));
    for (const id of this.rows.keys()) if (!ids.has(id)) this.rows.delete(id);
    const items = this.relays.map((r) => this.row(r));
    const want = items.length ? items : [this.empty || (this.empty = el('li', { class: 'empty quiet' }))];
    if (this.empty) this.empty.textContent = t('desk.relays.none');
    const same = want.length === this.list.children.length && want.every((li, i) => this.list.children[i] === li);
    if (!same) keepFocusIn(this.list, () => this.list.replaceChildren(...want));
  }

  /** The kept row of relay `r`, its words and figures brought up to date. */
  row(r) {
    // In an event's panel, its studio's defaults are shown but changed on the studio's card.
    const inherited = this.scope === 'events' && !!r.studio_default;
    let row = this.rows.get(r.id);
    if (!row || row.inherited !== inherited) {
      const b = `${this.base}-r${r.id}`;
      row = { inherited, relay: r };
      row.li = el('li', { class: 'relay', id: b, 'data-relay': String(r.id) },
        row.name = el('p', { class: 'relay-name' }),
        row.url = el('p', { class: 'mono relay-url' }),
        row.rendition = el('p', { class: 'relay-rendition' }),
        row.state = el('p', { class: 'relay-state' }),
        row.facts = el('p', { class: 'relay-facts quiet' }));
      if (!inherited) {
        const mk = (action, cls, onclick) => el('button', { type: 'button', class: cls, id: `${b}-${action}`,
          'data-action': action, onclick });
        row.enabled = mk('enabled', 'switch', () => this.setEnabled(row.relay, !row.relay.enabled));
        row.test = mk('test', '', () => this.testSaved(row.relay, row.test, row.result));
        row.remove = mk('remove', 'danger', () => this.remove(row.relay));
        row.result = el('p', { class: 'test-result', id: `${b}-result`, role: 'status' });
        row.li.append(el('div', { class: 'actions' }, row.enabled, row.test, row.remove), row.result);
      }
      this.rows.set(r.id, row);
    }
    row.relay = r;
    const s = statusOf(this.eventId, r);
    const set = (node, text) => { if (node.textContent !== text) node.textContent = text; };
    set(row.name, inherited ? `${r.name} · ${t('desk.relay.from.studio')}` : r.name);
    set(row.url, r.url || '');
    set(row.rendition, `${t('desk.relay.rendition')}: ${renditionName(r.rendition || 'source')}`);
    set(row.state, stateWords(s));
    set(row.facts, t('desk.relay.facts', { bytes: bytesText(s.bytes_sent),
      uptime: clock((s.uptime_s || 0) * 1000, Math.floor), n: fmt.number(s.reconnects || 0) }));
    row.li.dataset.state = s.state;
    row.state.dataset.state = s.state;
    if (!inherited) {
      const label = (key) => `${t(key)}: ${r.name}`;
      set(row.enabled, t('desk.relay.enabled'));
      row.enabled.setAttribute('aria-pressed', String(!!r.enabled));
      row.enabled.setAttribute('aria-label', label('desk.relay.enabled'));
      set(row.test, t('desk.relay.test'));
      row.test.setAttribute('aria-label', label('desk.relay.test'));
      set(row.remove, t('desk.relay.remove'));
      row.remove.setAttribute('aria-label', label('desk.relay.remove'));
    }
    return row.li;
  }

  async create() {
    clearErrors(this.form);
    this.tryResult.textContent = '';
    const body = { name: this.name.value, url: this.url.value.trim(), rendition: this.rendition.value || 'source' };
    try {
      const r = await api('POST', this.path(), body);
      this.name.value = '';
      this.url.value = '';
      this.rendition.value = 'source';
      await this.load();
      notice(t('desk.relay.added', { name: r.name }));
    } catch (err) {
      if (err instanceof ApiError) showErrors(this.form, this.base, err);
    }
  }

  async setEnabled(r, enabled) {
    try {
      await api('PATCH', this.path(r.id), { enabled });
      await this.load();
      notice(t(enabled ? 'desk.relay.on' : 'desk.relay.off', { name: r.name }));
    } catch (err) {
      if (err instanceof ApiError) notice(serverText(err.error));
    }
  }

  remove(r) {
    return confirmThen(t('desk.relay.remove.confirm', { name: r.name }), async () => {
      await api('DELETE', this.path(r.id));
      await this.load();
      this.heading.focus();
    }, t('desk.relay.removed', { name: r.name }));
  }

  /** "Test connection" of a saved relay: the server tries it now and says what happened. */
  async testSaved(r, button, out) {
    await this.runTest(button, out, () => api('POST', `${this.path(r.id)}/test`));
  }

  /** "Test connection" of the address typed in the form, before it is saved. */
  async testTyped() {
    clearErrors(this.form);
    const url = this.url.value.trim();
    const out = this.tryResult;
    try {
      await this.runTest(this.tryUrl, out, () => api('POST', '/api/relays/test', { url }), true);
    } catch (err) {
      if (err instanceof ApiError) showErrors(this.form, this.base, err);
    }
  }

  async runTest(button, out, call, rethrow = false) {
    button.disabled = true;
    out.className = 'test-result';
    out.textContent = t('desk.relay.testing');
    let text;
    let className;
    try {
      const j = await call();
      text = t(j.ok ? 'desk.relay.test.ok' : 'desk.relay.test.failed', { what: relayWords(j.what) });
      className = `test-result ${j.ok ? 'ok' : 'bad'}`;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (rethrow && err.status === 422) { out.textContent = ''; throw err; }
      text = t('desk.relay.test.failed', { what: serverText(err.error) });
      className = 'test-result bad';
    } finally {
      button.disabled = false;
    }
    // The answer is said once (role=status) and stays beside the relay.
    out.className = className;
    out.textContent = text;
  }
}

/** The kept panel of an event or a studio (made on first use). */
export function relayPanel(scope, id) {
  const key = `${scope}-${id}`;
  if (!panels.has(key)) panels.set(key, new Panel(scope, id));
  return panels.get(key);
}

/** The button that opens and closes a panel, and the panel: to put into an event's item or a studio's card. */
export function relayToggle(scope, id, name) {
  const p = relayPanel(scope, id);
  const button = el('button', { type: 'button', class: 'relay-toggle', id: `${p.base}-toggle`, 'data-action': 'relays',
    'aria-expanded': String(p.open), 'aria-controls': p.base, 'aria-label': `${t('desk.relays')}: ${name}` },
  t('desk.relays'));
  button.addEventListener('click', () => {
    p.setOpen(!p.open);
    button.setAttribute('aria-expanded', String(p.open));
    if (p.open) p.name.focus();
  });
  return [button, p.root];
}

/** The live states of an event's relays (from GET /api/events/{id}/live), and the ladder's rungs it shows. */
export function showRelayStatus(eventId, facts) {
  if (facts && facts.ladder && Array.isArray(facts.ladder.rungs)) {
    for (const r of facts.ladder.rungs) if (r !== 'source') rungsSeen.add(r);
  }
  const relays = (facts && Array.isArray(facts.relays)) ? facts.relays : [];
  const before = JSON.stringify(liveStatus.get(eventId) || []);
  if (relays.length) liveStatus.set(eventId, relays); else liveStatus.delete(eventId);
  const p = panels.get(`events-${eventId}`);
  if (p && JSON.stringify(relays) !== before) p.renderList();
}

/** The relays of a live event in a line for the monitor: "VK Video — sending · Partner — reconnecting". */
export function relaysLine(facts) {
  const relays = facts && Array.isArray(facts.relays) ? facts.relays : [];
  if (!relays.length) return null;
  return relays.map((s) => `${s.name} — ${stateWords(s)}`).join(' · ');
}

// ---- a studio's pull source ----

/** What a pulled studio's source is doing, in words. */
function pullWords(pull) {
  if (!pull) return '';
  let s = t(`desk.pull.state.${pull.state}`);
  if (pull.variant) s += ` · ${t('desk.pull.variant', { v: pull.variant })}`;
  if (pull.last_error) s += ` — ${relayWords(pull.last_error)}`;
  return s;
}

class PullBox {
  constructor(studioId) {
    this.studioId = studioId;
    const b = `pull-${studioId}`;
    this.base = b;
    this.heading = el('h4', { id: `${b}-h`, tabIndex: -1 });
    this.hint = el('p', { class: 'quiet', id: `${b}-hint` });
    this.nowLabel = el('span', { class: 'pull-now-label' });
    this.now = el('span', { class: 'mono', id: `${b}-now` });
    this.status = el('p', { class: 'pull-state', id: `${b}-state`, role: 'status' });
    this.input = el('input', { id: `${b}-pull_url`, autocomplete: 'off', spellcheck: false, autocapitalize: 'none',
      class: 'mono', inputMode: 'url' });
    this.input.setAttribute('aria-describedby', this.hint.id);
    this.label = el('label', { htmlFor: this.input.id });
    this.save = el('button', { type: 'submit', class: 'primary', id: `${b}-save` });
    this.clear = el('button', { type: 'button', class: 'danger', id: `${b}-clear`, onclick: () => this.stop() });
    this.form = el('form', { class: 'pull-form', id: `${b}-form`, noValidate: true,
      onsubmit: (ev) => { ev.preventDefault(); this.set(); } },
    el('p', { class: 'form-error', id: `${b}-form-error`, role: 'alert' }),
    el('div', { class: 'field' }, this.label, this.input, el('p', { class: 'field-error', id: `${this.input.id}-error` })),
    el('div', { class: 'actions' }, this.save, this.clear));
    this.root = el('section', { class: 'pull', id: b, 'aria-labelledby': `${b}-h` },
      this.heading, this.hint, el('p', { class: 'pull-now' }, this.nowLabel, ' ', this.now), this.status, this.form);
    this.studio = null;
  }

  show(studio) {
    this.studio = studio;
    const admin = state.me && state.me.role === 'admin';
    this.heading.textContent = t('desk.pull');
    this.hint.textContent = t('desk.pull.hint');
    this.label.textContent = t('desk.pull.url');
    this.save.textContent = t('desk.pull.save');
    this.clear.textContent = t('desk.pull.clear');
    const url = studio.pull_url || '';
    this.nowLabel.textContent = t(url ? 'desk.pull.now' : 'desk.pull.none');
    this.now.textContent = url;
    this.status.textContent = url ? pullWords(studio.pull) : '';
    this.status.dataset.state = (url && studio.pull && studio.pull.state) || '';
    this.clear.hidden = !url;
    this.form.hidden = !admin;
  }

  async patch(pullUrl) {
    const s = await api('PATCH', `/api/studios/${this.studioId}`, { pull_url: pullUrl });
    const i = state.studios.findIndex((x) => x.id === this.studioId);
    if (i >= 0 && s && s.id) state.studios[i] = s;
    this.show(s && s.id ? s : { ...this.studio, pull_url: pullUrl ? pullUrl : null });
    return s;
  }

  async set() {
    clearErrors(this.form);
    const url = this.input.value.trim();
    try {
      await this.patch(url);
      this.input.value = '';
      notice(t('desk.pull.saved', { name: this.studio.name }));
    } catch (err) {
      if (err instanceof ApiError) showErrors(this.form, this.base, err);
    }
  }

  stop() {
    const name = this.studio.name;
    return confirmThen(t('desk.pull.clear.confirm', { name }), async () => {
      await this.patch(null);
      this.heading.focus();
    }, t('desk.pull.cleared', { name }));
  }
}

/** The kept "Pull source" box of a studio, showing `studio`. */
export function pullBox(studio) {
  if (!pulls.has(studio.id)) pulls.set(studio.id, new PullBox(studio.id));
  const box = pulls.get(studio.id);
  box.show(studio);
  return box.root;
}

/** The pulled studios' states again (the monitor's round): only studios that pull are asked. */
export async function refreshPulls() {
  const pulled = state.studios.filter((s) => s.pull_url);
  await Promise.all(pulled.map(async (s) => {
    try {
      const fresh = await api('GET', `/api/studios/${s.id}`);
      const i = state.studios.findIndex((x) => x.id === s.id);
      if (i >= 0) state.studios[i] = fresh;
      const box = pulls.get(s.id);
      if (box) box.show(fresh);
    } catch { /* the next round */ }
  }));
}

/** Another language: every kept panel says its words again (what was typed stays). */
export function relabelRelays() {
  for (const p of panels.values()) p.relabel();
  for (const b of pulls.values()) if (b.studio) b.show(b.studio);
}

/** Refreshes the open panels' lists (the 30 s round). */
export function reloadOpenPanels() {
  for (const p of panels.values()) if (p.open) p.load();
}
