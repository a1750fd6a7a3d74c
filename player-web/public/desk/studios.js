// The desk's studios: one card each with the OBS settings ready to copy (RTMP server and stream key, the SRT
// address), the artist's view link, the key hidden until "show key"; new studio, new key, new view link (admin).
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, api, ApiError, notice, confirmThen, clearErrors, showErrors, copy } from './common.js';
import { fillStudioSelect } from './events.js';
import { relayToggle, pullBox } from './relays.js';

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
        onclick: () => rotate(s, 'key', 'rotate-key') }, t('desk.key.rotate')),
      state.me.role === 'admin' && el('button', { type: 'button', id: `${base}-rotate-view`, class: 'danger',
        onclick: () => rotate(s, 'view', 'rotate-view-token') }, t('desk.view.rotate'))));
  // Where the studio's picture may come from instead of its own encoder, and where its events also go out.
  const [relaysButton, relaysPanel] = relayToggle('studios', s.id, s.name);
  card.append(pullBox(s), el('div', { class: 'actions' }, relaysButton), relaysPanel);
  return card;
}

export function renderStudios() {
  const host = $('studios');
  // Keep a shown key shown across a refresh (the same studio, the same key).
  const shown = new Set([...host.querySelectorAll('button[id$="-show"][aria-pressed="true"]')].map((b) => b.id));
  const a = document.activeElement;
  const focusId = a && host.contains(a) ? a.id : null;
  const sel = focusId && typeof a.selectionStart === 'number' ? [a.selectionStart, a.selectionEnd] : null;
  if (!state.studios.length) {
    host.replaceChildren(el('p', { class: 'quiet' }, t('desk.studio.none')));
  } else {
    host.replaceChildren(...state.studios.map(studioCard));
  }
  for (const id of shown) if ($(id)) $(id).click();
  if (focusId && $(focusId) && document.activeElement !== $(focusId)) {
    $(focusId).focus();
    if (sel) { try { $(focusId).setSelectionRange(...sel); } catch { /* not a text field */ } }
  }
}

/** Rotates a studio's stream key or view link (`what`: 'key' or 'view', `path` the route), asked first. */
function rotate(s, what, path) {
  return confirmThen(t(`desk.${what}.rotate.confirm`, { name: s.name }), async () => {
    await api('POST', `/api/studios/${s.id}/${path}`);
    await loadStudios();
  }, t(`desk.${what}.rotated`, { name: s.name }));
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

export async function loadStudios() {
  state.studios = (await api('GET', '/api/studios')).studios;
  renderStudios();
  fillStudioSelect();
}
