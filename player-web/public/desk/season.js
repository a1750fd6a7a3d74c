// The season report (GET /api/reports): any date range in the city's time zone (server.time_zone, which the
// report names; by default this season, from 1 September), grouped by category, studio or month: events held,
// viewers (unique and total), minutes watched live and in the archive, the average rating and the top events,
// as bar charts (chart.js) and a table, and the same query as CSV and JSON files (fetched with the session's
// token, saved as files; the links show the query).
import { $, el } from '../dom.js';
import { t, date } from '../i18n.js';
import { api, fmt, serverText, saveFile } from './common.js';
import { barChart, legend, drawInto } from './chart.js';

let zone = null;    // the city's time zone as the server names it ("local": the server's own)
let shown = null;   // the report on the page
let shownQuery = '';  // … and its query
let started = false;

/** Today in the city, YYYY-MM-DD. */
function today() {
  const options = { year: 'numeric', month: '2-digit', day: '2-digit' };
  if (zone && zone !== 'local') options.timeZone = zone;
  try {
    return new Intl.DateTimeFormat('en-CA', options).format(new Date());
  } catch {  // a zone this browser does not know
    delete options.timeZone;
    return new Intl.DateTimeFormat('en-CA', options).format(new Date());
  }
}

// A season runs from 1 September to the end of August.
function setRange(which) {
  const day = today();
  const [y, m] = day.split('-').map(Number);
  $('season-from').value = which === 'month' ? `${day.slice(0, 8)}01` : `${m >= 9 ? y : y - 1}-09-01`;
  $('season-to').value = day;
}

function query() {
  return new URLSearchParams({ from: $('season-from').value, to: $('season-to').value, group: $('season-group').value })
    .toString();
}

function groupLabel(report, g) {
  if (report.group === 'category') return t(`cat.${g.key}`) === `cat.${g.key}` ? g.label : t(`cat.${g.key}`);
  if (report.group === 'month') return date(`${g.key}-15T12:00:00`, { month: 'long', year: 'numeric' });
  return g.label || '—';
}

const minutes = (m) => fmt.number(m, 2);  // as the API and its CSV have them
const rating = (r) => (r.count ? `${fmt.number(r.average, 2)} (${fmt.number(r.count)})` : '—');

function cells(report, g, head) {
  const top = g.top_events.length
    ? el('ol', { class: 'top-events' }, ...g.top_events.slice(0, 3).map((e) =>
      el('li', {}, t('desk.season.top.item', { title: e.title, n: fmt.number(e.unique_viewers) }))))
    : '—';
  return el('tr', {}, el('th', { scope: 'row' }, head), el('td', {}, fmt.number(g.events)),
    el('td', {}, fmt.number(g.viewers_unique)), el('td', {}, fmt.number(g.viewers_total)),
    el('td', {}, minutes(g.minutes_live)), el('td', {}, minutes(g.minutes_archive)), el('td', {}, rating(g.rating)),
    el('td', {}, top));
}

function render() {
  const r = shown;
  $('season-tz').textContent = t('desk.season.tz', { tz: zone === 'local' || !zone ? t('desk.season.tz.server') : zone });
  if (!r) return;
  const q = shownQuery;
  $('season-csv').href = `/api/reports.csv?${q}`;
  $('season-json').href = `/api/reports?${q}`;
  const tot = r.totals;
  $('season-summary').textContent = t('desk.season.summary', { events: fmt.number(tot.events),
    unique: fmt.number(tot.viewers_unique), total: fmt.number(tot.viewers_total),
    minutes: minutes(tot.minutes_live + tot.minutes_archive) });
  $('season-col-group').textContent = t(`desk.season.col.${r.group}`);
  $('season-table').tBodies[0].replaceChildren(...r.groups.map((g) => cells(r, g, groupLabel(r, g))));
  $('season-table').tFoot.replaceChildren(cells(r, tot, t('desk.season.total')));
  $('season-charts').hidden = !r.groups.length;
  $('season-empty').hidden = r.groups.length > 0;
  const rows = (a, b) => r.groups.map((g) => ({ label: groupLabel(r, g), a: g[a], b: g[b] }));
  drawInto($('season-chart-viewers'), (width, font) => barChart(rows('viewers_total', 'viewers_unique'),
    { width, font, number: (v) => fmt.number(v), label: t('desk.season.chart.viewers.label', { n: r.groups.length }) }));
  drawInto($('season-chart-minutes'), (width, font) => barChart(rows('minutes_live', 'minutes_archive'),
    { width, font, number: minutes, stacked: true, label: t('desk.season.chart.minutes.label', { n: r.groups.length }) }));
  $('season-legend-viewers').replaceChildren(legend([{ kind: 'bar', text: t('desk.season.col.total') },
    { kind: 'dots', text: t('desk.season.col.unique') }]));
  $('season-legend-minutes').replaceChildren(legend([{ kind: 'bar', text: t('desk.season.col.live') },
    { kind: 'dots', text: t('desk.season.col.archive') }]));
  $('season-body').hidden = false;
}

async function load() {
  $('season-error').textContent = '';
  const from = $('season-from').value, to = $('season-to').value;
  const bad = !from || !to ? 'desk.season.bad.date' : from > to ? 'desk.season.bad.range' : '';
  if (bad) {
    $('season-error').textContent = t(bad);
    $(from ? 'season-to' : 'season-from').focus();
    return;
  }
  try {
    const q = query();
    shown = await api('GET', `/api/reports?${q}`);
    shownQuery = q;
    zone = shown.time_zone;
    render();
  } catch (err) {
    $('season-error').textContent = serverText(err);
  }
}

async function start() {
  started = true;
  // The city's zone first (a one-day report names it), then this season in it.
  setRange('season');
  try {
    zone = (await api('GET', `/api/reports?from=${today()}&to=${today()}`)).time_zone;
  } catch { /* the browser's day then */ }
  setRange('season');
  await load();
}

$('season-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
$('season-this').addEventListener('click', () => { setRange('season'); load(); });
$('season-month').addEventListener('click', () => { setRange('month'); load(); });
$('season-csv').addEventListener('click', (ev) => {
  ev.preventDefault();
  saveFile(ev.currentTarget.getAttribute('href'), `report-by-${shown ? shown.group : 'category'}.csv`).catch(() => {});
});
$('season-json').addEventListener('click', (ev) => {
  ev.preventDefault();
  saveFile(ev.currentTarget.getAttribute('href'), `report-by-${shown ? shown.group : 'category'}.json`).catch(() => {});
});

/** Once logged in: the season so far; in another language: the same report again. */
export function renderSeason() {
  if (!started) start().catch(() => {});
  else render();
}
