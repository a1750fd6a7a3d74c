// Reports: pick an event that went on air; its figures (GET /api/events/{id}/report) and its timeline as plain
// tables (the charts come later), and the CSV (fetched with the session's token, saved as a file).
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { state, api, token, fmt } from './common.js';
import { ratingText } from './ratings.js';

let shown = null;  // the event id whose report is on the page

function fillSelect() {
  const select = $('report-event');
  const held = state.events.filter((e) => ['live', 'intermission', 'ended', 'archived'].includes(e.state))
    .sort((a, b) => b.starts_at.localeCompare(a.starts_at));
  const keep = select.value;
  select.replaceChildren(el('option', { value: '' }, t('desk.reports.choose')),
    ...held.map((e) => el('option', { value: String(e.id) }, `${e.title} — ${fmt.dateTime(e.starts_at)}`)));
  if (held.some((e) => String(e.id) === keep)) select.value = keep;
}

function row(label, value) {
  return el('tr', {}, el('th', { scope: 'row' }, label), el('td', {}, String(value)));
}

function render(r) {
  const minutes = (m) => fmt.number(m, 1);
  $('report-figures').tBodies[0].replaceChildren(
    row(t('desk.reports.peak'), r.peak_at ? `${fmt.number(r.peak_viewers)} (${fmt.time(r.peak_at)})` : fmt.number(r.peak_viewers)),
    row(t('desk.reports.unique'), fmt.number(r.unique_viewers)),
    row(t('desk.reports.minutes.live'), minutes(r.minutes_live)),
    row(t('desk.reports.minutes.archive'), minutes(r.minutes_archive)),
    row(t('desk.reports.archive.plays'), fmt.number(r.archive_plays)),
    row(t('desk.reports.comments'), t('desk.reports.comments.value', { c: r.comments, q: r.questions, a: r.answered })),
    row(t('desk.reports.rating'), ratingText(r.rating) || '—'),
    row(t('desk.reports.estimate'), fmt.number(r.players_estimate.peak)),
    ...Object.entries(r.renditions).map(([name, m]) => row(t('desk.reports.rendition', { name }), minutes(m))));
  $('report-timeline').tBodies[0].replaceChildren(...r.timeline.map((s) => el('tr', {},
    el('td', {}, fmt.time(s.at)), el('td', {}, fmt.number(s.viewers)),
    el('td', {}, s.players_estimate === null ? '—' : fmt.number(s.players_estimate)),
    el('td', {}, fmt.number(s.comments)), el('td', {}, fmt.number(s.bitrate_kbps)),
    el('td', {}, s.reconnect ? t('desk.reports.reconnected') : (s.state === 'intermission' ? t('desk.reports.waiting') : '')))));
  $('report-body').hidden = false;
}

async function show() {
  const id = $('report-event').value;
  shown = id || null;
  if (!id) { $('report-body').hidden = true; return; }
  const r = await api('GET', `/api/events/${id}/report`);
  if (shown === id) render(r);
}

async function downloadCsv() {
  if (!shown) return;
  const res = await fetch(`/api/events/${shown}/report.csv`, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) return;
  const a = el('a', { href: URL.createObjectURL(await res.blob()), download: `event-${shown}-report.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

$('report-event').addEventListener('change', () => { show().catch(() => {}); });
$('report-csv').addEventListener('click', () => { downloadCsv().catch(() => {}); });

/** After the events are loaded (and in another language): the choice of events, and the shown report again. */
export function renderReports() {
  fillSelect();
  if (shown) show().catch(() => {});
}
