// Browser test: the third language, Tatar (tt), beside Russian and English (issue 18).
//   (a) the string tables: every key of Russian is in English and Tatar (English may say null: the server's
//       own English words), with the same {placeholders}; the language list offers tt
//   (b) a browser that asks for Tatar gets the guide, a watch page, the desk (logged out and in) and the
//       artist's view in Tatar: <html lang="tt">, every data-i18n element shows the Tatar string (no Russian
//       or key fallback), and axe-core finds no serious or critical violation
//   (c) on a Russian page, the switch "Татарча" turns it Tatar, and it is remembered after a reload
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations } from './lib/pages.mjs';

const TITLE = 'Татар халык җырлары кичәсе';

let sreda;
let browser;   // Russian
let tatar;     // a browser that asks for Tatar
let event;
let viewUrl;

fixture(async (f) => {
  ({ sreda } = f);
  let studio;
  ({ studio, event } = await f.studioWithEvent('Филармония', TITLE, 120));
  viewUrl = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url;
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
  tatar = await f.launch({ timezoneId: 'Europe/Moscow', locale: 'tt-RU' });
});

const text = (page, sel) => page.textContent(sel).then((s) => s.trim());

/** The body's data-i18n elements whose text is not the current language's own string (key: text); the
 *  <title> is left out (a watch page's names its event). */
function untranslated(page) {
  return page.evaluate(async () => {
    const i18n = await import('/i18n.js');
    const table = i18n.strings[i18n.lang()];
    return [...document.body.querySelectorAll('[data-i18n]')]
      .filter((e) => e.textContent !== table[e.dataset.i18n])
      .map((e) => `${e.dataset.i18n}: ${JSON.stringify(e.textContent)}`);
  });
}

test('every Russian key is in English and Tatar, with the same placeholders', async () => {
  const { page, errors } = await openPage(browser, sreda.base, '/');
  const tables = await page.evaluate(async () => {
    const i18n = await import('/i18n.js');
    return { langs: i18n.langs, strings: i18n.strings };
  });
  assert.deepEqual(tables.langs, ['ru', 'en', 'tt']);
  const holes = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();
  const ru = tables.strings.ru;
  assert.ok(Object.keys(ru).length > 300, 'the Russian table is whole');
  for (const lang of ['en', 'tt']) {
    const table = tables.strings[lang];
    const missing = Object.keys(ru).filter((k) => !(k in table));
    assert.deepEqual(missing, [], `keys missing in ${lang}`);
    const extra = Object.keys(table).filter((k) => !(k in ru));
    assert.deepEqual(extra, [], `keys in ${lang} that Russian does not have`);
    const wrong = Object.keys(ru).filter((k) => table[k] !== null && holes(table[k]) !== holes(ru[k]));
    assert.deepEqual(wrong, [], `placeholders that differ from Russian in ${lang}`);
  }
  // Only English may leave a string to the server's own (English) words.
  assert.deepEqual(Object.keys(tables.strings.tt).filter((k) => typeof tables.strings.tt[k] !== 'string'), []);
  assert.equal(tables.strings.tt['lang.name'], 'Татарча');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a browser that asks for Tatar gets the guide and a watch page in Tatar', async () => {
  const { page, errors } = await openPage(tatar, sreda.base, '/');
  await page.locator('#upcoming li.event', { hasText: TITLE }).waitFor({ timeout: 15000 });
  assert.equal(await page.getAttribute('html', 'lang'), 'tt');
  assert.equal(await text(page, '#live-h'), 'Хәзер эфирда');
  assert.equal(await text(page, '#upcoming-h'), 'Тиздән');
  assert.equal(await page.title(), 'Мәдәни мохит — программа');
  assert.equal(await page.getAttribute('#setting-lang-tt', 'aria-pressed'), 'true');
  assert.match(await text(page, '#upcoming .countdown'), /^\(\d сәг\. \d{1,2} мин\. соң\)$/);
  assert.deepEqual(await untranslated(page), []);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the guide in Tatar');

  const watch = await openPage(tatar, sreda.base, `/watch/${event.id}`);
  await waitFor(async () => (await watch.page.getAttribute('#state', 'data-state')) === 'scheduled', { what: 'the state' });
  await watch.page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await watch.page.getAttribute('html', 'lang'), 'tt');
  assert.equal(await text(watch.page, '#state'), 'Тиздән башлана');
  assert.match(await text(watch.page, '#banner'), /^Башлана: /);
  assert.equal(await text(watch.page, '#play-label'), 'Карау');
  assert.equal(await text(watch.page, '#rating-summary'), 'Әлегә бәяләр юк');
  assert.equal(await watch.page.getAttribute('#stars button:nth-child(4)', 'aria-label'), '5 тән 4');
  assert.equal(await watch.page.title(), `${TITLE} — Мәдәни мохит`);
  assert.deepEqual(await untranslated(watch.page), []);
  assert.deepEqual(await seriousViolations(watch.page), [], 'axe: the watch page in Tatar');
  assert.deepEqual(errors, []);
  assert.deepEqual(watch.errors, []);
  await page.close();
  await watch.page.close();
});

test('the desk and the artist\'s view in Tatar', async () => {
  const { page, errors } = await openPage(tatar, sreda.base, '/desk');
  await page.locator('#login-section').waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await page.getAttribute('html', 'lang'), 'tt');
  assert.equal(await page.title(), 'Мәдәни мохит — куратор пульты');
  assert.deepEqual(await untranslated(page), []);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk\'s login in Tatar');
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await page.locator(`#event-${event.id}`).waitFor({ timeout: 15000 });
  assert.match(await text(page, `#event-${event.id} .state`), /^планлаштырылган$/);
  assert.equal(await text(page, '#who'), 'Сез admin булып кердегез');
  assert.deepEqual(await untranslated(page), []);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk in Tatar');
  assert.deepEqual(errors, []);
  await page.close();

  const artist = await openPage(tatar, sreda.base, viewUrl);
  await waitFor(async () => artist.page.isVisible('#view'), { what: 'the artist\'s view' });
  assert.equal(await artist.page.getAttribute('html', 'lang'), 'tt');
  assert.match(await text(artist.page, '#state'), /^Сез эфирга .*сәгать \d\d:\d\d чыгасыз/);
  assert.equal(await text(artist.page, '#publish-title'), 'Трансляция көйләүләре');
  assert.equal(await text(artist.page, '#comments-title'), 'Аңлатмалар');
  assert.deepEqual(await seriousViolations(artist.page), [], 'axe: the artist\'s view in Tatar');
  assert.deepEqual(artist.errors, []);
  await artist.page.close();
});

test('the switch turns a Russian page Tatar, remembered after a reload', async () => {
  const { page, errors } = await openPage(browser, sreda.base, `/watch/${event.id}`);
  await waitFor(async () => (await text(page, '#state')) === 'Скоро начнётся', { what: 'Russian' });
  assert.equal(await page.getAttribute('#setting-lang-tt', 'aria-pressed'), 'false');
  assert.equal(await text(page, '#setting-lang-tt'), 'Татарча');
  assert.equal(await page.getAttribute('#setting-lang-tt', 'lang'), 'tt');
  await page.click('#setting-lang-tt');
  await waitFor(async () => (await text(page, '#state')) === 'Тиздән башлана', { what: 'Tatar' });
  assert.equal(await page.getAttribute('html', 'lang'), 'tt');
  assert.equal(await page.getAttribute('#setting-lang-tt', 'aria-pressed'), 'true');
  assert.equal(await text(page, '#audience-title'), 'Фикерләр һәм сораулар');
  await page.reload({ waitUntil: 'load' });
  await waitFor(async () => (await text(page, '#state')) === 'Тиздән башлана', { what: 'Tatar after the reload' });
  assert.deepEqual(await untranslated(page), []);
  await page.click('#setting-lang-ru');
  await waitFor(async () => (await text(page, '#state')) === 'Скоро начнётся', { what: 'Russian again' });
  assert.deepEqual(errors, []);
  await page.close();
});
