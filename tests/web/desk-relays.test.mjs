// Browser tests for relays in the curator's desk and the artist's view (issue 21): a real sreda
// (relays.allowed_hosts=127.0.0.1, so a target on this machine may be named), Debian's Chromium headless, no
// media. The tests run in order on one page, like one curator's session:
//   (a) an event's "Also going out to" panel opens by keyboard; axe finds nothing serious at 1280 and 360 px
//       (no sideways scrolling)
//   (b) an address with an unknown scheme: the server's words beside the field, what was typed is kept
//   (c) a relay added: its address shows with the key masked (never the key, on the page or in the log); it
//       is switched off and on again
//   (d) "Test connection" to a closed port on 127.0.0.1 says the target refused, in words
//   (e) removed, after a confirmation
//   (e2) a studio's default relay, added on the studio's card, shows in its event's panel (changed on the studio)
//   (f) a studio's "Pull source": a bad address explained and kept; set (shown masked); cleared
//   (g) the artist's view says where the concert also goes out: names and states, never addresses
//   (h) live (ffmpeg publishes a few seconds): the monitor and the event's panel show each relay's state in
//       words as GET /api/events/{id}/live gives it (with a relay runtime: the closed port's refusal); a
//       target that is not keeping up (the API's answer rewritten) is said in words beside "sending"
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { waitFor, ADMIN_PASSWORD } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage, seriousViolations, horizontalOverflow, shot } from './lib/pages.mjs';

const KEY = 'vk-secret-key-0123456789abcdef';
const PASSPHRASE = 'partner-passphrase-2026';

let sreda;
let browser;
let page;
let errors;
let studio;
let event;
let closedPort;
let fx;

/** A port on 127.0.0.1 nothing listens on (bound, then closed). */
async function freeClosedPort() {
  const srv = net.createServer();
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address();
  await new Promise((res) => srv.close(res));
  return port;
}

const f = fixture({ env: { SREDA_RELAYS_ALLOWED_HOSTS: '127.0.0.1' } }, async () => {
  ({ sreda } = f);
  fx = f;
  ({ studio, event } = await f.studioWithEvent('Дом культуры «Заречье»', 'Концерт двух городов', 60));
  closedPort = await freeClosedPort();
  browser = await f.launch({ timezoneId: 'Europe/Moscow' });
  // The refused addresses are part of the test: their 422s are expected.
  ({ page, errors } = await openPage(browser, sreda.base, '/desk', {
    ignore: [/^422 .*\/api\/events\/\d+\/relays$/, /^422 .*\/api\/studios\/\d+$/, /^422 .*\/api\/relays\/test$/] }));
  await page.waitForSelector('#login-section:not([hidden])');
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
});

const P = () => `#relays-events-${event.id}`;
const text = (sel) => page.textContent(sel).then((s) => (s || '').trim());

async function relaysFromApi() {
  const r = await sreda.api('GET', `/api/events/${event.id}/relays`, undefined, sreda.token);
  assert.equal(r.status, 200, r.text);
  return r.json.relays.filter((x) => !x.studio_default);
}

/** The page's visible text and every field's value: what a curator (or a screen reader) could get at. */
function everythingOnPage() {
  return page.evaluate(() => document.body.innerText + '\n' +
    [...document.querySelectorAll('input, textarea')].map((i) => i.value).join('\n'));
}

test("an event's relays panel opens by keyboard and is accessible at 1280 and 360 px", async () => {
  const toggle = `${P()}-toggle`;
  await page.waitForSelector(toggle, { timeout: 10000 });
  assert.equal(await page.getAttribute(toggle, 'aria-expanded'), 'false');
  assert.equal(await page.isHidden(P()), true);
  await page.focus(toggle);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${P()}:not([hidden])`);
  assert.equal(await page.getAttribute(toggle, 'aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), `relays-events-${event.id}-name`,
    'the focus goes to the first field');
  await waitFor(async () => (await text(`${P()}-list`)) === 'Других площадок пока нет.', { what: 'the empty list' });
  // The quality choice: the studio's own stream, then the ladder's rungs.
  const listed = (await sreda.api('GET', `/api/events/${event.id}/relays`, undefined, sreda.token)).json.renditions;
  const options = await page.$$eval(`${P()}-rendition option`, (os) => os.map((o) => o.value));
  assert.deepEqual(options, listed, 'the qualities the server offers');
  assert.equal(options[0], 'source');
  assert.ok(options.length > 1, `the ladder's rungs too: ${options}`);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the relays panel at 1280 px');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'no horizontal scroll at 360 px');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the relays panel at 360 px');
  await shot(page, 'desk-relays-360.png');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("an address the server cannot use: its words beside the field, and what was typed stays", async () => {
  const typed = 'http://127.0.0.1/not-a-relay';
  await page.fill(`${P()}-name`, 'VK Видео');
  await page.fill(`${P()}-url`, typed);
  await page.click(`${P()}-add`);
  const error = `${P()}-url-error`;
  await waitFor(async () => (await text(error)) !== '', { timeoutMs: 10000, what: "the server's words beside the address" });
  const r = await sreda.api('POST', `/api/events/${event.id}/relays`, { name: 'x', url: typed }, sreda.token);
  assert.equal(r.status, 422, 'the API refuses it too');
  assert.ok((await text(error)).includes(r.json.error.message), `"${await text(error)}" says the server's message`);
  assert.equal(await page.getAttribute(`${P()}-url`, 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute(`${P()}-url`, 'aria-describedby'), `relays-events-${event.id}-url-error`);
  assert.equal(await page.inputValue(`${P()}-url`), typed, 'the address typed is kept');
  assert.equal(await page.inputValue(`${P()}-name`), 'VK Видео', 'the name typed is kept');
  assert.deepEqual(await relaysFromApi(), [], 'nothing was added');
  assert.deepEqual(await seriousViolations(page), [], 'axe: the panel with a field error');
});

test('a relay is added with its key masked, then switched off and on', async () => {
  await page.fill(`${P()}-url`, `rtmp://127.0.0.1:${closedPort}/live/${KEY}`);
  await page.click(`${P()}-add`);
  await waitFor(async () => (await text('#status')) === 'Площадка «VK Видео» добавлена.', { timeoutMs: 10000, what: 'the "added" notice' });
  const [relay] = await relaysFromApi();
  assert.ok(relay, 'the relay is in the API');
  assert.equal(relay.enabled, true);
  const row = `${P()}-r${relay.id}`;
  assert.equal(await text(`${row} .relay-name`), 'VK Видео');
  const shown = await text(`${row} .relay-url`);
  assert.equal(shown, relay.url, 'the page shows the masked address the API gives');
  assert.ok(shown.startsWith(`rtmp://127.0.0.1:${closedPort}/live/`), shown);
  assert.equal(shown.includes(KEY), false, 'the key is masked');
  assert.equal((await everythingOnPage()).includes(KEY), false, 'the key is nowhere on the page');
  assert.equal(await page.inputValue(`${P()}-url`), '', 'the form is empty again');
  assert.equal(await page.getAttribute(`${P()}-url`, 'aria-invalid'), null, 'the error is gone');
  assert.equal(await text(`${row} .relay-state`), 'ждёт эфира');
  // The masked address copied back as a new relay would lose its key: said in words, and kept.
  await page.fill(`${P()}-name`, 'VK Видео 2');
  await page.fill(`${P()}-url`, shown);
  await page.click(`${P()}-add`);
  await waitFor(async () => (await text(`${P()}-url-error`)) === 'Этот адрес скрыт (•••): вставьте полный адрес с ключом потока.',
    { timeoutMs: 10000, what: `the "masked" words (${await text(`${P()}-url-error`)})` });
  assert.equal(await page.inputValue(`${P()}-url`), shown);
  assert.equal((await relaysFromApi()).length, 1);
  await page.fill(`${P()}-name`, '');
  await page.fill(`${P()}-url`, '');
  await shot(page, 'desk-relays-1280.png');
  await page.setViewportSize({ width: 360, height: 800 });
  assert.equal(await horizontalOverflow(page), '', 'a long address wraps at 360 px');
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.click(`${row}-enabled`);
  await waitFor(async () => (await text('#status')) === 'Площадка «VK Видео» выключена.', { timeoutMs: 10000, what: 'the "off" notice' });
  assert.equal((await relaysFromApi())[0].enabled, false);
  assert.equal(await page.getAttribute(`${row}-enabled`, 'aria-pressed'), 'false');
  assert.equal(await text(`${row} .relay-state`), 'остановлена');
  await page.click(`${row}-enabled`);
  await waitFor(async () => (await text('#status')) === 'Площадка «VK Видео» включена.', { timeoutMs: 10000, what: 'the "on" notice' });
  assert.equal((await relaysFromApi())[0].enabled, true);
  assert.equal(await page.getAttribute(`${row}-enabled`, 'aria-pressed'), 'true');
  assert.equal(sreda.log.some((l) => l.includes(KEY)), false, 'the key never reaches the log');
});

test('"Test connection" to a closed port says the target refused', async (t) => {
  const [relay] = await relaysFromApi();
  const probe = await sreda.api('POST', `/api/events/${event.id}/relays/${relay.id}/test`, undefined, sreda.token);
  assert.equal(probe.status, 200, probe.text);
  assert.equal(probe.json.ok, false);
  const row = `${P()}-r${relay.id}`;
  await page.click(`${row}-test`);
  await waitFor(async () => /^Связи нет: сервер отказал в соединении/.test(await text(`${row}-result`)),
    { timeoutMs: 20000, what: `the "refused" words (${await text(`${row}-result`)})` });
  t.diagnostic(await text(`${row}-result`));
  assert.equal(await page.getAttribute(`${row}-result`, 'role'), 'status');
  assert.equal(sreda.log.some((l) => l.includes(KEY)), false, 'the key never reaches the log');
});

test('a relay is removed after a confirmation', async () => {
  const [relay] = await relaysFromApi();
  const row = `${P()}-r${relay.id}`;
  await page.click(`${row}-remove`);
  await page.waitForSelector('#confirm[open]');
  assert.match(await text('#confirm-text'), /Удалить площадку «VK Видео»\?/);
  await page.click('#confirm-no');
  await page.waitForSelector('#confirm', { state: 'hidden' });
  assert.equal((await relaysFromApi()).length, 1, '"No" keeps it');
  await page.click(`${row}-remove`);
  await page.click('#confirm-yes');
  await waitFor(async () => (await text('#status')) === 'Площадка «VK Видео» удалена.', { timeoutMs: 10000, what: 'the "removed" notice' });
  assert.deepEqual(await relaysFromApi(), []);
  assert.equal(await page.isHidden(row), true, 'the row is gone');
  assert.equal(await text(`${P()}-list`), 'Других площадок пока нет.');
});

test("a studio's default relay is added on its card and shows in its event's panel", async () => {
  const S = `#relays-studios-${studio.id}`;
  await page.click(`${S}-toggle`);
  await page.waitForSelector(`${S}:not([hidden])`);
  await page.fill(`${S}-name`, 'RuTube');
  await page.fill(`${S}-url`, `rtmp://127.0.0.1:${closedPort}/live_push/${KEY}-rt`);
  await page.click(`${S}-add`);
  await waitFor(async () => (await text('#status')) === 'Площадка «RuTube» добавлена.', { timeoutMs: 10000, what: 'the "added" notice' });
  const [d] = (await sreda.api('GET', `/api/studios/${studio.id}/relays`, undefined, sreda.token)).json.relays;
  assert.equal(d.name, 'RuTube');
  assert.equal(await text(`${S}-r${d.id} .relay-url`), d.url);
  // The event's panel (opened again: it reads its list) lists it after its own, without buttons.
  await page.click(`${P()}-toggle`);
  await page.click(`${P()}-toggle`);
  const inherited = `${P()}-r${d.id}`;
  await page.waitForSelector(inherited, { timeout: 10000 });
  assert.equal(await text(`${inherited} .relay-name`), 'RuTube · задана для студии');
  assert.equal(await page.$$eval(`${inherited} button`, (b) => b.length), 0, 'changed on the studio, not here');
  assert.deepEqual(await seriousViolations(page), [], 'axe: a studio default in the event\'s panel');
  await page.click(`${S}-r${d.id}-remove`);
  await page.click('#confirm-yes');
  await waitFor(async () => (await text('#status')) === 'Площадка «RuTube» удалена.', { timeoutMs: 10000, what: 'the "removed" notice' });
  assert.deepEqual((await sreda.api('GET', `/api/studios/${studio.id}/relays`, undefined, sreda.token)).json.relays, []);
  await page.click(`${S}-toggle`);
});

test("a studio's pull source: a bad address is explained and kept; set, shown masked; cleared", async () => {
  const B = `#pull-${studio.id}`;
  const bad = 'ftp://127.0.0.1/stream';
  await page.fill(`${B}-pull_url`, bad);
  await page.click(`${B}-save`);
  await waitFor(async () => (await text(`${B}-pull_url-error`)) !== '', { timeoutMs: 10000, what: 'the error beside the pull address' });
  assert.equal(await page.inputValue(`${B}-pull_url`), bad, 'what was typed is kept');
  assert.equal(await page.getAttribute(`${B}-pull_url`, 'aria-invalid'), 'true');
  assert.equal(await text(`${B}-now`), '');

  const url = `srt://127.0.0.1:${closedPort}?streamid=read:partner&passphrase=${PASSPHRASE}`;
  await page.fill(`${B}-pull_url`, url);
  await page.click(`${B}-save`);
  await waitFor(async () => (await text('#status')) === 'Студия «Дом культуры «Заречье»» забирает поток партнёра.',
    { timeoutMs: 10000, what: 'the "pulls" notice' });
  const stored = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json;
  assert.equal(await text(`${B}-now`), stored.pull_url, 'the page shows the masked address the API gives');
  assert.ok(stored.pull_url.startsWith(`srt://127.0.0.1:${closedPort}`), stored.pull_url);
  assert.equal((await everythingOnPage()).includes(PASSPHRASE), false, 'the passphrase is nowhere on the page');
  assert.equal(await page.inputValue(`${B}-pull_url`), '');
  assert.equal(await page.getAttribute(`${B}-pull_url`, 'aria-invalid'), null);
  assert.equal(await page.isVisible(`${B}-clear`), true);
  assert.deepEqual(await seriousViolations(page), [], 'axe: a pulled studio');

  await page.click(`${B}-clear`);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-yes');
  await waitFor(async () => (await text('#status')) === 'Студия «Дом культуры «Заречье»» больше не забирает поток партнёра.',
    { timeoutMs: 10000, what: 'the "no longer pulls" notice' });
  assert.equal((await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.pull_url, null);
  assert.equal(await text(`${B}-now`), '');
  assert.equal(await page.isHidden(`${B}-clear`), true);
  assert.equal(sreda.log.some((l) => l.includes(PASSPHRASE)), false, 'the passphrase never reaches the log');
  assert.deepEqual(errors, [], 'no errors in the page');
});

test("the artist's view says where the concert also goes out, without addresses", async () => {
  const add = (name, key) => sreda.api('POST', `/api/events/${event.id}/relays`,
    { name, url: `rtmp://127.0.0.1:${closedPort}/live/${key}` }, sreda.token);
  assert.equal((await add('VK Видео', KEY)).status, 201);
  assert.equal((await add('Город-побратим', `${KEY}-2`)).status, 201);
  const viewUrl = (await sreda.api('GET', `/api/studios/${studio.id}`, undefined, sreda.token)).json.view_url;
  const artist = await openPage(browser, sreda.base, viewUrl);
  const p = artist.page;
  await waitFor(async () => p.isVisible('#relays'), { timeoutMs: 10000, what: 'the "also going out to" line' });
  assert.equal(await p.textContent('#relays'),
    'Трансляция идёт также на: VK Видео — ждёт эфира, Город-побратим — ждёт эфира');
  const all = await p.evaluate(() => document.documentElement.outerHTML);
  assert.equal(all.includes(KEY) || all.includes(`127.0.0.1:${closedPort}`), false, 'no address on the artist\'s page');
  assert.deepEqual(await seriousViolations(p), [], "axe: the artist's view");
  await shot(p, 'studio-relays-1280.png');
  assert.deepEqual(artist.errors, []);
  await p.close();
});

test('live: the monitor and the panel show each relay\'s state in words, as GET …/live gives it', async (t) => {
  const live = await fx.studioWithEvent('Филармония', 'Прямой эфир с партнёром', 0, 30);
  const r = await sreda.api('POST', `/api/events/${live.event.id}/relays`,
    { name: 'Партнёр', url: `rtmp://127.0.0.1:${closedPort}/live/${KEY}` }, sreda.token);
  assert.equal(r.status, 201, r.text);
  const publisher = fx.publish(live.studio, 40);
  const fact = `#monitor-${live.event.id} dd[data-fact="relays"]`;
  await page.waitForSelector(fact, { timeout: 30000 });
  const words = {
    waiting: 'ждёт эфира', sending: 'идёт трансляция', reconnecting: 'переподключается', stopped: 'остановлена' };
  // The page and the API agree (the page reads the API every 3 s; the state may move on in between).
  let seen = '';
  await waitFor(async () => {
    const api = (await sreda.api('GET', `/api/events/${live.event.id}/live`, undefined, sreda.token)).json;
    const s = api.relays.find((x) => x.id === r.json.id);
    seen = await text(fact);
    // reconnecting: the target's last error follows in words ("— сервер отказал в соединении (…)").
    return s && seen.startsWith(`Партнёр — ${words[s.state]}${s.state === 'reconnecting' && s.last_error ? ' — ' : ''}`);
  }, { timeoutMs: 30000, what: `the monitor to show the relay's state (publisher: ${publisher.log.join('')})` });
  t.diagnostic(`monitor: ${seen}`);
  await page.click(`#relays-events-${live.event.id}-toggle`);
  const row = `#relays-events-${live.event.id}-r${r.json.id}`;
  await page.waitForSelector(row);
  await waitFor(async () => seen.endsWith(await text(`${row} .relay-state`)),
    { timeoutMs: 10000, what: 'the panel to show the same state' });
  assert.match(await text(`${row} .relay-facts`), /^Отправлено \d[\d,\s\u00a0]* (Б|КБ|МБ) · на связи \d+:\d\d · переподключений: \d+$/);
  assert.deepEqual(await seriousViolations(page), [], 'axe: the desk with a live relay');

  // A target that stopped taking the stream while connected (test_relay_stall_media makes one for real): the
  // relay is still "sending", with the runtime's reason; the desk says it in words, beside the state.
  const slow = 'the target is not keeping up: it has taken nothing for 5 s';
  await page.route(`**/api/events/${live.event.id}/live`, async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.relays = json.relays.map((x) => ({ ...x, state: 'sending', last_error: slow }));
    await route.fulfill({ response, json });
  });
  const said = `Партнёр — идёт трансляция — сервер не успевает принимать поток (${slow})`;
  await waitFor(async () => (await text(fact)) === said, { timeoutMs: 15000, what: `the monitor to say "${said}"` });
  await waitFor(async () => (await text(`${row} .relay-state`)) === said.slice('Партнёр — '.length),
    { timeoutMs: 10000, what: 'the panel to say the target is not keeping up' });
  await page.unroute(`**/api/events/${live.event.id}/live`);
  await publisher.stop();
  assert.equal(sreda.log.some((l) => l.includes(KEY)), false, 'the key never reaches the log');
});
