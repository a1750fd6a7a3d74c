// Reports: pick an event that went on air; its figures (GET /api/events/{id}/report), its timeline as a chart
// (viewers, the intermissions and reconnects, comments and questions per minute: chart.js) and the same numbers
// as tables for screen readers, and the CSV (fetched with the session's token, saved as a file).
import { $, el } from '../dom.js';
import { t, date } from '../i18n.js';
import { state, api, fmt, saveFile } from './common.js';
import { ratingText } from './ratings.js';
import { timelineChart, legend, drawInto } from './chart.js';

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

// A short event's times need their seconds.
function timeFormat(r) {
  const span = r.timeline.length ? Date.parse(r.timeline.at(-1).at) - Date.parse(r.timeline[0].at) : 0;
  return (at) => (span < 600000 ? date(at, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : fmt.time(at));
}

function render(r) {
  const minutes = (m) => fmt.number(m, 1);
  const time = timeFormat(r);
  $('report-figures').tBodies[0].replaceChildren(
    ...(r.collecting === false ? [row(t('desk.reports.collecting'), t('desk.reports.collecting.off'))] : []),
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
    el('td', {}, time(s.at)), el('td', {}, fmt.number(s.viewers)),
    el('td', {}, s.players_estimate === null ? '—' : fmt.number(s.players_estimate)),
    el('td', {}, fmt.number(s.comments)), el('td', {}, fmt.number(s.questions)), el('td', {}, fmt.number(s.bitrate_kbps)),
    el('td', {}, s.reconnect ? t('desk.reports.reconnected') : (s.state === 'intermission' ? t('desk.reports.waiting') : '')))));
  $('report-body').hidden = false;
  drawChart(r);
}

function drawChart(r) {
  const samples = r.timeline.map((s) => ({ at: Date.parse(s.at), viewers: s.viewers, comments: s.comments,
    questions: s.questions, intermission: s.state === 'intermission', reconnect: s.reconnect }));
  const time = timeFormat(r);
  const words = { viewers: t('desk.reports.chart.viewers'), perMinute: t('desk.reports.chart.per.minute'),
    intermission: t('desk.reports.chart.intermission'), reconnect: t('desk.reports.chart.reconnect') };
  const label = t('desk.reports.chart.label', { peak: fmt.number(r.peak_viewers), n: r.timeline.length,
    breaks: samples.filter((s, i) => s.intermission && !(i && samples[i - 1].intermission)).length, reconnects: samples.filter((s) => s.reconnect).length });
  if (!samples.length) {  // never on air: nothing to draw
    drawInto($('report-chart'), () => el('p', {}, t('desk.reports.chart.empty')));
    $('report-legend').replaceChildren();
    return;
  }
  drawInto($('report-chart'), (width, font) => timelineChart(samples, { width, font, label, time, number: (v) => fmt.number(v, 1), words }));
  $('report-legend').replaceChildren(legend([
    { kind: 'line', text: words.viewers }, { kind: 'band', text: words.intermission },
    { kind: 'reconnect', text: words.reconnect }, { kind: 'comments', text: t('desk.reports.chart.comments') },
    { kind: 'dots', text: t('desk.reports.chart.questions') }]));
}

async function show() {
  const id = $('report-event').value;
  shown = id || null;
  if (!id) { $('report-body').hidden = true; return; }
  const r = await api('GET', `/api/events/${id}/report`);
  if (shown === id) render(r);
}

async function downloadCsv() {
  if (shown) await saveFile(`/api/events/${shown}/report.csv`, `event-${shown}-report.csv`);
}

$('report-event').addEventListener('change', () => { show().catch(() => {}); });
$('report-csv').addEventListener('click', () => { downloadCsv().catch(() => {}); });

/** After the events are loaded (and in another language): the choice of events, and the shown report again. */
export function renderReports() {
  fillSelect();
  if (shown) show().catch(() => {});
}
