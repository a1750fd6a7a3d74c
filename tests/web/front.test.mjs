// Browser test through the HTTPS front (deploy/front, Debian's nginx, started by tests/integration/front_helpers.py
// with a self-signed certificate): the watch page over HTTPS plays the live event, its media come over HTTP/2,
// and a comment typed in one tab reaches another over the audience channel (wss://, through the front).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';
import { openPage } from './lib/pages.mjs';
import { startFront } from './lib/front.mjs';

let sreda;
let browser;
let event;
let base;  // https://127.0.0.1:<the front's port>

const f = fixture({ env: { SREDA_SERVER_TRUSTED_PROXIES: '127.0.0.1/32', SREDA_LADDER_ENABLED: 'false' } },
  async () => {
    ({ sreda } = f);
    const hall = await sreda.createStudio('Дом культуры на набережной');
    event = await sreda.createEvent(hall, 'Концерт через HTTPS', 5);
    f.publish(hall, 120);
    const front = f.track(await startFront(sreda));
    base = `https://127.0.0.1:${front.https_port}`;
    browser = await f.launch({ ignoreHTTPSErrors: true });
  });

test('the watch page over HTTPS plays over HTTP/2, and comments go through wss', async (t) => {
  const t0 = Date.now();
  await waitFor(async () => (await sreda.publicEvent(event.id)).state === 'live', { timeoutMs: 30000, what: 'live' });
  await waitFor(async () => (await sreda.api('GET', `/live/${event.id}/master.m3u8`)).status === 200,
    { timeoutMs: 30000, what: 'the live master playlist' });
  t.diagnostic(`live after ${Date.now() - t0} ms`);
  const a = await openPage(browser, base, `/watch/${event.id}`);
  const b = await openPage(browser, base, `/watch/${event.id}`);
  assert.equal(await a.page.evaluate(() => window.isSecureContext), true, 'the page is a secure context');

  await a.page.click('#play');
  await a.page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v.currentTime > 1 && !v.paused && v.readyState >= 3;
  }, null, { timeout: 30000, polling: 100 });
  t.diagnostic(`playing after ${Date.now() - t0} ms`);
  const protocols = await a.page.evaluate(() => [...new Set(performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/live/')).map((e) => e.nextHopProtocol))]);
  assert.deepEqual(protocols, ['h2'], 'every LL-HLS request went over HTTP/2');

  await a.page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  await b.page.locator('#audience').waitFor({ state: 'visible', timeout: 30000 });
  t.diagnostic(`audience panels after ${Date.now() - t0} ms`);
  await a.page.fill('#nick', 'Ирина');
  await a.page.fill('#comment-text', 'Звук прекрасный');
  await a.page.click('#comment-form button[type=submit]');
  await b.page.locator('#comments li', { hasText: 'Звук прекрасный' }).waitFor({ timeout: 30000 });
  t.diagnostic(`comment seen after ${Date.now() - t0} ms`);
  assert.deepEqual(a.foreign, [], 'nothing left the front');
  assert.deepEqual([...a.errors, ...b.errors], []);
});
