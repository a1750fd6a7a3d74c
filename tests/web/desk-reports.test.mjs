// Browser test for the desk's report tables (issue 22; the charts come later): an event goes on air for a few
// seconds and ends; the curator picks it in "Reports" and reads its figures and its timeline (one row per
// sample, as the API has them), downloads the CSV, and the part passes axe at 360 and 1280 px.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations } from './lib/pages.mjs';

let sreda;
let browser;
let studio;
let event;

const f = fixture({ env: { SREDA_REPORTS_SAMPLE_S: '1' } }, async () => {
  ({ sreda } = f);
  ({ studio, event } = await f.studioWithEvent('Дом музыки', 'Вечер песни', 5));
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
});

test('a curator reads an event\'s report as tables and downloads its CSV', async () => {
  f.publish(studio, 30);
  const report = async () => (await sreda.api('GET', `/api/events/${event.id}/report`, undefined, sreda.token)).json;
  await waitFor(async () => (await report()).timeline.length >= 3, { timeoutMs: 60000, what: 'three samples on air' });
  assert.equal((await sreda.api('POST', `/api/events/${event.id}/end`, undefined, sreda.token)).status, 200);
  await waitFor(async () => ['ended', 'archived'].includes((await sreda.publicEvent(event.id)).state), { what: 'ended' });
  const r = await report();

  const { page, errors } = await openPage(browser, sreda.base, '/desk');
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.press('#password', 'Enter');
  await page.waitForSelector(`#report-event option[value="${event.id}"]`, { state: 'attached', timeout: 30000 });
  await page.selectOption('#report-event', String(event.id));
  await page.waitForSelector('#report-body:not([hidden])');
  const rows = await page.$$eval('#report-timeline tbody tr', (trs) => trs.length);
  assert.equal(rows, r.timeline.length, 'one row per sample');
  const figures = await page.$$eval('#report-figures tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(figures.length >= 8, figures.join(' | '));
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    assert.deepEqual(await seriousViolations(page), [], `axe: the reports at ${width} px`);
  }

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-csv')]);
  const text = await new Promise((resolve, reject) => {
    download.createReadStream().then((s) => {
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    }, reject);
  });
  assert.equal(text.trim().split('\r\n').length, r.timeline.length + 1, 'a header and one line per sample');
  assert.deepEqual(errors, []);
  await page.close();
});
