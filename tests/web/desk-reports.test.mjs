// Browser test for the desk's reports (issue 22) on a real sreda, real publishers and real audience sockets:
//   - an event with a viewer, a comment and a question, whose studio drops and comes back: the curator picks it
//     in "Reports" and sees the chart (an svg with the intermission band and the reconnect triangle the test
//     made, redrawn to the width of a 360 px phone with labels still large), the figures, the timeline table
//     whose numbers are the API's, and the CSV (a header and one line per sample);
//   - the season page over three events in two categories: its table (each group and the total row) says what
//     GET /api/reports says, the groups add up to the total, the CSV and JSON links download the same figures;
//     grouped by studio it asks the API again; days the wrong way round are refused in words, and days without
//     events say so;
//   - both pass axe at 360 and 1280 px (one run over the page with both shown), and the controls are reached
//     with the keyboard.
import { test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, tabTo } from './lib/pages.mjs';

const CITY = 'Europe/Moscow';
let sreda;
let browser;
let main;   // {studio, event}: the concert with the drop and the reconnect
let other;  // another concert
let lecture;

const f = fixture({ env: { SREDA_REPORTS_SAMPLE_S: '1', SREDA_SERVER_TIME_ZONE: CITY } }, async () => {
  ({ sreda } = f);
  main = await f.studioWithEvent('Дом музыки', 'Вечер песни', 5);
  other = await f.studioWithEvent('Филармония', 'Органный вечер', 5);
  const studio = await sreda.createStudio('Библиотека имени Тукая');
  const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const r = await sreda.api('POST', '/api/events', { title: 'Лекция о Тукае', category: 'lecture', language: 'ru',
    studio_id: studio.id, starts_at: iso(Date.now() + 300000), ends_at: iso(Date.now() + 3900000) }, sreda.token);
  assert.equal(r.status, 201, r.text);
  lecture = { studio, event: r.json };
  browser = await f.launch({ timezoneId: CITY });
});

const report = async (id) => (await sreda.api('GET', `/api/events/${id}/report`, undefined, sreda.token)).json;
const sampleWhere = (id, pred, what) => waitFor(async () => (await report(id)).timeline.some(pred), { timeoutMs: 60000, what });
const state = async (id) => (await sreda.publicEvent(id)).state;

// An audience socket in `page` that joins `eventId`, says it plays live, and sends `comments` ([text, question]),
// each waited for until it comes back.
function watch(page, eventId, comments = []) {
  return page.evaluate(async ({ eventId, comments }) => {
    const ws = new WebSocket(`ws://${location.host}/ws`, 'sreda.v1');
    (window.sockets ||= []).push(ws);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('ws')); });
    const next = (type) => new Promise((resolve) => ws.addEventListener('message', function h(m) {
      const j = JSON.parse(m.data);
      if (j.type === type) { ws.removeEventListener('message', h); resolve(j); }
    }));
    const welcome = next('welcome');
    ws.send(JSON.stringify({ type: 'join', event_id: eventId, nick: 'Зритель' }));
    await welcome;
    ws.send(JSON.stringify({ type: 'playback', playing: true, rendition: 'source', mode: 'live' }));
    for (const [text, question] of comments) {
      const back = next('comment');
      ws.send(JSON.stringify({ type: 'comment', text, question }));
      await back;
    }
  }, { eventId, comments });
}

async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const stream = await file.createReadStream();
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
}

// A number as the desk writes it in Russian ("1 234,5") → 1234.5.
const num = (s) => Number(s.replace(/[\s\u00a0\u202f]/g, '').replace(',', '.'));

// With SREDA_WEB_SCREENSHOTS=DIR, the two parts of the desk as pictures for a human to look at.
async function pictures(page, width) {
  const dir = process.env.SREDA_WEB_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const part of ['reports', 'season']) await page.locator(`#${part}`).screenshot({ path: join(dir, `desk-${part}-${width}.png`) });
}

async function axeAt(page, what) {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await pictures(page, width);
    assert.deepEqual(await seriousViolations(page), [], `axe: ${what} at ${width} px`);
    assert.equal(await horizontalOverflow(page), '', `${what} at ${width} px`);
  }
}

let desk;  // the curator's page, logged in (the first test opens it, the second goes on)

test('an event\'s report: the chart marks the drop and the reconnect, and its table is the API\'s', async () => {
  const audience = await browser.newPage();
  await audience.goto(`${sreda.base}/`, { waitUntil: 'load' });
  let pub = f.publish(main.studio, 8);
  f.publish(other.studio, 8);
  f.publish(lecture.studio, 8);
  for (const { event } of [main, other, lecture]) await waitFor(async () => (await state(event.id)) === 'live', { timeoutMs: 60000, what: 'on air' });
  await watch(audience, main.event.id, [['Браво!', false], ['А что на бис?', true]]);
  await watch(audience, other.event.id);
  await watch(audience, lecture.event.id);
  await sampleWhere(main.event.id, (s) => s.viewers === 1 && s.questions === 1, 'a sample with the viewer and the question');
  // The studio drops (the publisher ends) and comes back.
  await waitFor(async () => (await state(main.event.id)) === 'intermission', { timeoutMs: 60000, what: 'the drop' });
  await sampleWhere(main.event.id, (s) => s.state === 'intermission', 'an intermission sample');
  pub = f.publish(main.studio, 5);
  await sampleWhere(main.event.id, (s) => s.reconnect, 'a sample with the reconnect');
  // The viewers leave; what they watched is written with the next sample; then the events end.
  await audience.evaluate(() => window.sockets.forEach((ws) => ws.close()));
  await audience.close();
  for (const { event } of [main, other, lecture]) {
    await waitFor(async () => (await report(event.id)).minutes_live > 0, { timeoutMs: 60000, what: 'minutes watched' });
    await waitFor(async () => (await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token)).status === 200
      && ['ended', 'archived'].includes(await state(event.id)), { timeoutMs: 60000, what: 'ended' });
  }
  await pub.stop();
  const r = await report(main.event.id);
  const reconnects = r.timeline.filter((s) => s.reconnect).length;
  const breaks = r.timeline.filter((s, i) => s.state === 'intermission' && (i === 0 || r.timeline[i - 1].state !== 'intermission')).length;
  assert.ok(reconnects >= 1 && breaks >= 1, JSON.stringify(r.timeline.map((s) => [s.state, s.reconnect])));

  const { page, errors } = await openPage(browser, sreda.base, '/desk');
  desk = { page, errors };
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.press('#password', 'Enter');
  await page.waitForSelector(`#report-event option[value="${main.event.id}"]`, { state: 'attached', timeout: 30000 });
  await page.selectOption('#report-event', String(main.event.id));
  await page.waitForSelector('#report-body:not([hidden]) #report-chart svg');
  assert.equal(await page.locator('#report-chart svg .mark-reconnect').count(), reconnects, 'a triangle per reconnect');
  assert.equal(await page.locator('#report-chart svg .mark-intermission').count(), breaks, 'a band per intermission');
  assert.match(await page.getAttribute('#report-chart svg', 'aria-label'), /\d/);
  assert.equal(await page.locator('#report-chart svg .bar-questions').count(), 1, 'the question, dotted');

  const rows = await page.$$eval('#report-timeline tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows.length, r.timeline.length, 'one row per sample');
  rows.forEach((cells, i) => {
    const s = r.timeline[i];
    assert.deepEqual([num(cells[1]), num(cells[3]), num(cells[4])], [s.viewers, s.comments, s.questions], `row ${i}`);
  });
  assert.equal(rows.filter((c) => c[6] !== '').length, r.timeline.filter((s) => s.reconnect || s.state === 'intermission').length);
  const figures = await page.$$eval('#report-figures tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(figures.length >= 8, figures.join(' | '));

  // At 360 px the chart is drawn for its narrow box, and its labels stay at the page's text size.
  await page.setViewportSize({ width: 360, height: 800 });
  await waitFor(() => page.evaluate(() => {
    const svg = document.querySelector('#report-chart svg');
    return Math.abs(svg.viewBox.baseVal.width - document.getElementById('report-chart').clientWidth) <= 1;
  }), { what: 'the chart redrawn at 360 px' });
  const label = await page.evaluate(() => document.querySelector('#report-chart svg text').getBoundingClientRect().height);
  assert.ok(label >= 12, `a label ${label} px high at 360 px`);
  // "Larger text" makes the chart's labels larger too, and back.
  const size = () => page.evaluate(() => Number(document.querySelector('#report-chart svg').getAttribute('font-size')));
  const before = await size();
  await page.click('#setting-large');
  await waitFor(async () => (await size()) > before, { what: 'larger labels with larger text' });
  await page.click('#setting-large');
  await waitFor(async () => (await size()) === before, { what: 'the labels back' });
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.focus('#report-event');
  assert.ok(await tabTo(page, 'report-csv', 5), 'the CSV button follows the choice of event');
  const text = await download(page, '#report-csv');
  assert.equal(text.trim().split('\r\n').length, r.timeline.length + 1, 'a header and one line per sample');
  assert.deepEqual(errors, []);
});

test('the season page over three events in two categories adds up, and its files say the same', async () => {
  assert.ok(desk, 'the first test logged in');
  const { page, errors } = desk;
  await page.waitForSelector('#season-body:not([hidden]) #season-table tbody tr');
  const from = await page.inputValue('#season-from');
  const to = await page.inputValue('#season-to');
  assert.match(from, /^\d{4}-09-01$/, 'this season, from 1 September');
  const api = async (group, suffix = '') => sreda.api('GET', `/api/reports${suffix}?from=${from}&to=${to}&group=${group}`, undefined, sreda.token);
  const j = (await api('category')).json;
  assert.equal(j.time_zone, CITY);
  assert.equal(j.totals.events, 3);
  assert.deepEqual(j.groups.map((g) => [g.key, g.events]), [['concert', 2], ['lecture', 1]]);
  assert.match(await page.textContent('#season-tz'), /Europe\/Moscow/);

  const table = () => page.$$eval('#season-table tbody tr, #season-table tfoot tr',
    (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const figures = (g) => [g.events, g.viewers_unique, g.viewers_total, g.minutes_live, g.minutes_archive];
  let rows = await table();
  assert.equal(rows.length, j.groups.length + 1, 'a row per category and the total');
  [...j.groups, j.totals].forEach((g, i) => assert.deepEqual(rows[i].slice(1, 6).map(num), figures(g), rows[i].join(' | ')));
  assert.deepEqual(rows.map((c) => c[0]), ['Концерт', 'Лекция', 'Всего']);
  // The groups add up to the total row (unique viewers need not: one person in two groups is one viewer).
  for (const col of [1, 3, 4]) {
    const sum = rows.slice(0, -1).reduce((a, c) => a + num(c[col]), 0);
    assert.ok(Math.abs(sum - num(rows.at(-1)[col])) < 0.05, `column ${col}: ${sum} against ${rows.at(-1)[col]}`);
  }
  assert.match(rows.find((c) => c[0] === 'Концерт')[7], /Вечер песни|Органный вечер/, 'the top events');
  assert.equal(await page.locator('#season-chart-viewers svg .bar-row').count(), 2);
  assert.equal(await page.locator('#season-chart-minutes svg .bar-row').count(), 2);

  // The CSV link: the same query, the same figures.
  assert.equal(await page.getAttribute('#season-csv', 'href'), `/api/reports.csv?from=${from}&to=${to}&group=category`);
  const csv = (await download(page, '#season-csv')).trim().split('\r\n').map((line) => line.split(','));
  const head = csv[0];
  const col = (row, name) => row[head.indexOf(name)];
  assert.equal(csv.length, j.groups.length + 2);
  [...j.groups, j.totals].forEach((g, i) => {
    const row = csv[i + 1];
    assert.equal(col(row, 'key'), g.key);
    assert.deepEqual(['events', 'viewers_unique', 'viewers_total', 'minutes_live', 'minutes_archive'].map((n) => Number(col(row, n))),
      figures(g), row.join(','));
  });
  assert.deepEqual(JSON.parse(await download(page, '#season-json')), j, 'the JSON link gives the API\'s report');

  // Grouped by studio: three rows and the total, as the API says.
  await page.selectOption('#season-group', 'studio');
  await page.click('#season-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#season-table tbody tr').length === 3);
  const byStudio = (await api('studio')).json;
  rows = await table();
  [...byStudio.groups, byStudio.totals].forEach((g, i) => assert.deepEqual(rows[i].slice(1, 6).map(num), figures(g)));
  assert.equal(await page.getAttribute('#season-json', 'href'), `/api/reports?from=${from}&to=${to}&group=studio`);

  await axeAt(page, 'the event\'s report (still shown) and the season page');
  await page.focus('#season-from');
  for (const id of ['season-to', 'season-group']) assert.ok(await tabTo(page, id, 6), `${id} by the keyboard`);
  await page.focus('#season-month');
  assert.ok(await tabTo(page, 'season-csv', 3), 'the CSV link by the keyboard');
  assert.ok(await tabTo(page, 'season-json', 2), 'the JSON link by the keyboard');
  await page.focus('#season-month');
  await page.keyboard.press('Enter');
  await page.waitForFunction((day) => document.getElementById('season-from').value === day, `${to.slice(0, 8)}01`);

  // Days the wrong way round are refused in words, before any query; days without events say so.
  await page.fill('#season-from', to);
  await page.fill('#season-to', from);
  await page.click('#season-form button[type=submit]');
  await page.locator('#season-error', { hasText: 'Первый день должен быть не позже последнего' }).waitFor({ timeout: 10000 });
  await page.fill('#season-from', '2020-01-01');
  await page.fill('#season-to', '2020-01-31');
  await page.click('#season-form button[type=submit]');
  await page.locator('#season-empty').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await page.textContent('#season-error'), '');
  assert.ok(await page.locator('#season-charts').isHidden());
  assert.match(await page.textContent('#season-table tfoot'), /Всего\s*0/);
  assert.deepEqual(errors, []);
  await page.close();
});
