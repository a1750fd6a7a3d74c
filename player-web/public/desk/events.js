// The desk's events: schedule, edit, reschedule (times in the curator's own time zone) or cancel, with the
// server's refusals beside the fields; the list of current events (the week and the moderation choice follow it).
import { $, el } from '../dom.js';
import { t, strings } from '../i18n.js';
import { state, api, ApiError, notice, confirmThen, clearErrors, showErrors, fmt } from './common.js';
import { renderWeek } from './week.js';
import { ratings, ratingText } from './ratings.js';
import { fillModerationSelect } from './moderation.js';
import { relayToggle } from './relays.js';

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

export function fillStudioSelect() {
  const sel = $('event-studio_id');
  const keep = sel.value;
  sel.replaceChildren(...state.studios.map((s) => el('option', { value: String(s.id) }, s.name)));
  if (keep && state.studios.some((s) => String(s.id) === keep)) sel.value = keep;
  const need = t('desk.event.need.studio');
  const formError = $('event-form-error');
  if (!state.studios.length) formError.textContent = need;
  else if (formError.textContent === need) formError.textContent = '';
}

export function fillCategorySelect() {
  const sel = $('event-category');
  const keep = sel.value;
  const cats = Object.keys(strings.ru).filter((k) => k.startsWith('cat.')).map((k) => k.slice(4));
  sel.replaceChildren(...cats.map((c) => el('option', { value: c }, t(`cat.${c}`))));
  if (keep) sel.value = keep;
}

export function resetEventForm() {
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
  $('event-realtime').checked = Boolean(e.realtime);
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
    realtime: $('event-realtime').checked,
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

function cancelEvent(e) {
  return confirmThen(t('desk.event.cancel.confirm', { title: e.title }), async () => {
    await api('POST', `/api/events/${e.id}/cancel`);
    await loadEvents();
  }, t('desk.event.cancelled', { title: e.title }));
}

function eventItem(e) {
  const li = el('li', { class: `event state-${e.state}`, id: `event-${e.id}` },
    el('p', { class: 'title' }, e.title),
    el('p', { class: 'meta' }, `${fmt.dateTime(e.starts_at)}–${fmt.time(e.ends_at)} · ${e.studio.name} · `,
      el('span', { class: 'state' }, t(`state.${e.state}`)),
      e.realtime ? el('span', { class: 'realtime' }, ` · ${t('desk.event.realtime.badge')}`) : null,
      ratingText(ratings.get(e.id)) ? el('span', { class: 'stars-avg' }, ` · ${ratingText(ratings.get(e.id))}`) : null),
    // The short link, to read out on the phone (the watch page shows it too, with its public address).
    el('p', { class: 'short-link' }, `${t('desk.event.short')}: `,
      el('a', { href: `/e/${e.id}`, class: 'short-link-url' }, `${location.host}/e/${e.id}`)));
  const actions = el('div', { class: 'actions' });
  if (e.state === 'scheduled' || e.state === 'live' || e.state === 'intermission') {
    actions.append(el('button', { type: 'button', 'aria-label': `${t('desk.event.edit.btn')}: ${e.title}`,
      onclick: () => editEvent(e) }, t('desk.event.edit.btn')));
  }
  const relays = e.state === 'scheduled' || e.state === 'live' || e.state === 'intermission' ? relayToggle('events', e.id, e.title) : null;
  if (relays) actions.append(relays[0]);
  if (e.state === 'scheduled') {
    actions.append(el('button', { type: 'button', class: 'danger', 'aria-label': `${t('desk.event.cancel.btn')}: ${e.title}`,
      onclick: () => cancelEvent(e) }, t('desk.event.cancel.btn')));
  }
  if (actions.childElementCount) li.append(actions);
  if (relays) li.append(relays[1]);
  return li;
}

export function renderEvents() {
  const host = $('events');
  // The focus comes back to the same element (a relay panel's field, kept across redraws), else to the
  // same event's first button.
  const a = document.activeElement && host.contains(document.activeElement) ? document.activeElement : null;
  const focusId = a ? a.closest('li.event').id : null;
  const sel = a && a.id && typeof a.selectionStart === 'number' ? [a.selectionStart, a.selectionEnd] : null;
  const now = Date.now();
  const current = state.events.filter((e) => ['scheduled', 'live', 'intermission'].includes(e.state) ||
    (e.state === 'cancelled' && new Date(e.ends_at).getTime() > now));
  host.replaceChildren(...(current.length ? current.map(eventItem) : [el('li', { class: 'empty' }, t('desk.event.none'))]));
  if (a && a.id && $(a.id)) {
    if (document.activeElement !== $(a.id)) $(a.id).focus();
    if (sel) { try { $(a.id).setSelectionRange(...sel); } catch { /* not a text field */ } }
  } else if (focusId && $(focusId)) ($(focusId).querySelector('button') || $(focusId)).focus();
  renderWeek();
  fillModerationSelect();
}

export async function loadEvents() {
  state.events = (await api('GET', '/api/events')).events;
  renderEvents();
}
