// Recordings: each archived event's length for viewers, length recorded, size and rating; download as MP4;
// trim (show from / until, minutes:seconds); delete (asked first). Also fills the ratings from the listings.
import { $, el } from '../dom.js';
import { failure } from '../api.js';
import { t } from '../i18n.js';
import { state, api, ApiError, serverText, notice, confirmThen, clearErrors, showErrors, fmt, clock, token, loginIfExpired } from './common.js';
import { renderEvents } from './events.js';
import { fillModerationSelect } from './moderation.js';
import { ratings, ratingText, publicListing, renderRatings } from './ratings.js';

const recordings = state.recordings;  // {list, details, shown}

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

export function renderRecordings() {
  const host = $('recordings');
  const focusId = document.activeElement && host.contains(document.activeElement) ? document.activeElement.id : null;
  host.replaceChildren(...(recordings.list.length ? recordings.list.map(recordingCard)
    : [el('p', { class: 'quiet empty' }, t('desk.rec.none'))]));
  if (focusId && $(focusId)) $(focusId).focus();
}

export async function loadRecordings() {
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
      { headers: { authorization: `Bearer ${token()}` } });
    if (!r.ok) throw await failure(r);
    const url = URL.createObjectURL(await r.blob());
    const a = el('a', { href: url, download: `event-${e.id}-${rendition}.mp4`, class: 'offscreen' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    notice(t('desk.rec.download.done', { title: e.title }));
  } catch (err) {
    if (!loginIfExpired(err)) notice(err instanceof ApiError ? serverText(err.error) : t('srv.code.network'));
  }
}

async function deleteRecording(e) {
  const done = await confirmThen(t('desk.rec.delete.confirm', { title: e.title }), async () => {
    await api('DELETE', `/api/events/${e.id}/recording`);
    await loadRecordings();
  }, t('desk.rec.deleted', { title: e.title }));
  if (done) $('archive-h').focus();
}
