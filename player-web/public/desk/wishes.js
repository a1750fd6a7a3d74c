// Residents' wishes (/wishes) in the desk: most supported first, with the held and hidden ones; a curator hides
// or shows one again (logged), answers in public, and links the event that answers it (its watch page then
// says "you asked for this").
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, api, ApiError, serverText, notice, fmt, keepFocus } from './common.js';

let wishes = [];
let drawn = '';  // what the list shows: a refresh redraws only when it changed

/** The list again; left as it is while nothing changed or while the curator is typing a reply in it. */
export async function loadWishes() {
  wishes = (await api('GET', '/api/wishes?sort=top')).items;
  const key = JSON.stringify([wishes, state.events.map((e) => [e.id, e.title, e.starts_at])]);
  const typing = document.activeElement && $('desk-wishes').contains(document.activeElement) &&
    document.activeElement.tagName !== 'BUTTON';
  if (key === drawn || typing) return;
  drawn = key;
  renderWishes();
}

function eventOptions(selected) {
  const events = [...state.events].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  return [el('option', { value: '' }, t('desk.wish.event.none')),
    ...events.map((e) => el('option', { value: String(e.id), selected: e.id === selected },
      `${e.title} — ${fmt.dateTime(e.starts_at)}`))];
}

async function change(w, call, done) {
  try {
    await call();
    notice(done);
    drawn = '';
    await loadWishes();
  } catch (err) {
    if (err instanceof ApiError) notice(serverText(err.error));
  }
}

function item(w) {
  const id = `wish-${w.id}`;
  const reply = el('input', { id: `${id}-reply`, value: w.reply || '', maxLength: 500 });
  const event = el('select', { id: `${id}-event` }, ...eventOptions(w.event_id));
  const hidden = w.status !== 'visible';
  const save = el('button', { type: 'button', class: 'primary' }, t('desk.wish.save'));
  save.dataset.action = 'save';
  save.addEventListener('click', () => change(w, () => api('PATCH', `/api/wishes/${w.id}`,
    { reply: reply.value.trim() || null, event_id: event.value ? Number(event.value) : null }), t('desk.wish.saved')));
  const toggle = el('button', { type: 'button', class: hidden ? '' : 'danger' }, t(hidden ? 'desk.wish.show' : 'desk.wish.hide'));
  toggle.dataset.action = 'toggle';
  toggle.addEventListener('click', () => change(w, () => api('POST', `/api/wishes/${w.id}/${hidden ? 'unhide' : 'hide'}`),
    t(hidden ? 'desk.wish.shown' : 'desk.wish.hidden')));
  return el('li', { id, class: `event wish status-${w.status}` },
    el('p', { class: 'title' }, w.text),
    el('p', { class: 'meta' }, `${t(`cat.${w.category}`)} · ${t('wishes.votes', { n: fmt.number(w.votes) })}`,
      hidden ? ` · ${t(`desk.wish.status.${w.status}`)}` : ''),
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { htmlFor: reply.id }, t('desk.wish.reply')), reply),
      el('div', { class: 'field' }, el('label', { htmlFor: event.id }, t('desk.wish.event')), event)),
    el('div', { class: 'actions' }, save, toggle));
}

export function renderWishes() {
  const host = $('desk-wishes');
  keepFocus(host, () => host.replaceChildren(...(wishes.length ? wishes.map(item)
    : [el('li', { class: 'quiet empty' }, t('desk.wishes.none'))])));
}
