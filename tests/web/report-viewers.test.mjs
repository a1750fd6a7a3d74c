// The curators' report of a real event with simulated viewers (issue 22): two hls.js sessions of the real watch
// page in Chromium (tabs of one browser: one person, two screens), which say what they play over their audience
// sockets; three plain LL-HLS fetchers from three addresses (blocking playlist reloads and parts, no page: the
// origin's estimate); three audience sockets joining and leaving at known times, one listening to the audio
// rung, with comments, a question and ratings; and the studio dropping and coming back within the grace. The
// report's peak and when, unique viewers, minutes watched (within 5 %), comments, the players estimate and the
// timeline (the drop, the reconnect, where the comments fall) must say what the test did; the CSV parses with
// Python's csv module and adds up to the JSON; the season report keeps the event's figures after it is deleted.
// Samples every second (reports.sample_s = 1) keep it short. Expected minutes come from the clock of this
// process (same machine as the server): for the pages, from the playback frames they actually sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './lib/harness.mjs';
import { fixture } from './lib/fixture.mjs';

// The WebSocket client playwright-core ships (pinned in the lockfile); node 20 has none of its own.
const { ws: WebSocket } = createRequire(import.meta.url)('playwright-core/lib/utilsBundle');

const FETCHER_ADDRESSES = ['203.0.113.11', '203.0.113.12', '203.0.113.13'];
const SAMPLE_WAIT = { timeoutMs: 60000, intervalMs: 200 };

let f;
let sreda;
let browser;
let studio;
let event;
let publisher;

f = fixture({
  env: { SREDA_REPORTS_SAMPLE_S: '1', SREDA_SERVER_TRUSTED_PROXIES: '127.0.0.1' },
}, async (fx) => {
  ({ sreda } = fx);
  ({ studio, event } = await fx.studioWithEvent('Дом культуры «Заря»', 'Вечер романса', 1));
  publisher = fx.publish(studio, 300);  // stopped by the test (the drop), else by the fixture
  browser = await fx.launch();
});

/** A viewer on an audience socket (PROTOCOL.md), no page: joins, says what it plays, comments, rates, leaves. */
class SocketViewer {
  constructor(nick) { this.nick = nick; this.messages = []; this.waiters = []; }

  async join(eventId) {
    this.ws = new WebSocket(`${sreda.base.replace('http:', 'ws:')}/ws`, 'sreda.v1');
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      this.messages.push(m);
      for (const w of [...this.waiters]) if (w.pred(m)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(m); }
    });
    await new Promise((resolve, reject) => { this.ws.once('open', resolve); this.ws.once('error', reject); });
    this.send({ type: 'join', event_id: eventId, nick: this.nick });
    const welcome = await this.expect((m) => m.type === 'welcome' || m.type === 'error');
    assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
    return welcome;
  }

  send(m) { this.ws.send(JSON.stringify(m)); }

  expect(pred, ms = 20000) {
    const seen = this.messages.find(pred);
    if (seen) { this.messages.splice(this.messages.indexOf(seen), 1); return Promise.resolve(seen); }
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); reject(new Error(`${this.nick}: no answer`)); }, ms);
      this.waiters.push(w);
    });
  }

  /** Starts playing `rendition` live: returns when it was said (this process's clock). */
  play(rendition) { const at = Date.now(); this.send({ type: 'playback', playing: true, rendition, mode: 'live' }); return at; }
  stopPlaying() { const at = Date.now(); this.send({ type: 'playback', playing: false, mode: 'live' }); return at; }

  async leave() {
    const at = Date.now();
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close();
    await closed;
    return at;
  }
}

/** A player without the page (an embed, a media player): blocking LL-HLS reloads and the newest part, from `address`
 *  (X-Forwarded-For from 127.0.0.1, a trusted proxy here). No socket, no token in any URL. */
class Fetcher {
  constructor(address) { this.address = address; this.playlists = 0; this.parts = 0; this.stopping = false; }

  async get(url) {
    const r = await fetch(url, { headers: { 'x-forwarded-for': this.address }, signal: AbortSignal.timeout(15000) });
    const body = await r.arrayBuffer();
    return { status: r.status, text: () => Buffer.from(body).toString('utf8') };
  }

  start(eventId) { this.done = this.run(eventId); return this; }

  async run(eventId) {
    const live = `${sreda.base}/live/${eventId}/`;
    let media = null;
    let next = null;  // the part to ask for: { msn, part }
    while (!this.stopping) {
      try {
        if (!media) {
          const m = await this.get(`${live}master.m3u8`);
          const uri = m.status === 200 && m.text().split('\n').find((l) => l && !l.startsWith('#'));
          if (!uri) { await sleep(300); continue; }
          media = new URL(uri.trim(), `${live}master.m3u8`).href;
        }
        const r = await this.get(next ? `${media}?_HLS_msn=${next.msn}&_HLS_part=${next.part}` : media);
        if (r.status !== 200) { next = null; await sleep(300); continue; }
        this.playlists += 1;
        const lines = r.text().split('\n');
        const sequence = Number((lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:')) || ':0').split(':')[1]);
        const lastSegment = lines.findLastIndex((l) => l.startsWith('#EXTINF'));
        const partsAfter = lines.slice(lastSegment + 1).filter((l) => l.startsWith('#EXT-X-PART:')).length;
        const lastPart = lines.findLast((l) => l.startsWith('#EXT-X-PART:'));
        next = { msn: sequence + lines.filter((l) => l.startsWith('#EXTINF')).length, part: partsAfter };
        if (lastPart) {
          const p = await this.get(new URL(lastPart.match(/URI="([^"]+)"/)[1], media).href);
          if (p.status === 200) this.parts += 1;
        }
      } catch {
        next = null;
        await sleep(300);
      }
    }
  }

  async stop() { this.stopping = true; await this.done; }
}

/** A watch page playing live; `intervals()` are the [from, to] it said it played (from the frames it sent). */
async function watchPage(eventId) {
  const page = await browser.newPage();
  const frames = [];  // { at, playing } of every playback frame sent, and the socket's closes
  page.on('websocket', (ws) => {
    ws.on('framesent', (fr) => {
      try {
        const m = JSON.parse(fr.payload);
        if (m.type === 'playback') frames.push({ at: Date.now(), playing: m.playing === true && m.mode === 'live', rendition: m.rendition });
      } catch { /* not ours */ }
    });
    ws.on('close', () => frames.push({ at: Date.now(), playing: false, closed: true }));
  });
  await page.goto(`${sreda.base}/watch/${eventId}`, { waitUntil: 'load' });
  await waitFor(async () => (await page.getAttribute('#state', 'data-state')) === 'live', { what: 'live on the page' });
  await page.click('#play');
  await waitFor(async () => frames.some((x) => x.playing), { timeoutMs: 45000, what: 'the page to say it plays' });
  return {
    page,
    frames,
    playing: () => frames.length > 0 && frames.at(-1).playing,
    intervals(end) {
      const out = [];
      let from = null;
      for (const x of frames) {
        if (x.playing && from === null) from = x.at;
        else if (!x.playing && from !== null) { out.push([from, x.at]); from = null; }
      }
      if (from !== null) out.push([from, end]);
      return out;
    },
  };
}

const report = async (id) => {
  const r = await sreda.api('GET', `/api/events/${id}/report`, undefined, sreda.token);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const sampleWhere = (id, pred, what) =>
  waitFor(async () => (await report(id)).timeline.find(pred), { ...SAMPLE_WAIT, what });
const ms = (iso) => Date.parse(iso);
const minutes = (intervals) => intervals.reduce((sum, [a, b]) => sum + (b - a), 0) / 60000;

test('a real event with pages, players, sockets, a drop, comments and ratings is reported as it happened', async (t) => {
  const id = event.id;
  await waitFor(async () => (await sreda.publicEvent(id)).state === 'live', { timeoutMs: 60000, what: 'live' });

  // Two tabs of one browser play the event (hls.js); three players without a page fetch it.
  const a = await watchPage(id);
  const b = await watchPage(id);
  const fetchers = FETCHER_ADDRESSES.map((addr) => new Fetcher(addr).start(id));
  const sockets = {};
  const watched = [];  // [from, to] per socket viewer
  let closedPageA = null;
  let closedPageB = null;
  try {
    // Three audience sockets join and play; s2 listens to the audio rung.
    const starts = {};
    for (const [nick, rung] of [['s1', 'source'], ['s2', 'audio'], ['s3', 'source']]) {
      sockets[nick] = new SocketViewer(nick);
      await sockets[nick].join(id);
      starts[nick] = sockets[nick].play(rung);
    }
    const s = sockets;
    const commentsFrom = Date.now();
    for (const [text, question] of [['Браво!', false], ['Какой голос', false], ['Что споёте на бис?', true]]) {
      s.s1.send({ type: 'comment', text, question });
      await s.s1.expect((m) => m.type === 'comment' && m.text === text);
    }
    const commentsTo = Date.now();
    for (const [v, stars] of [[s.s1, 5], [s.s2, 4], [s.s3, 4]]) {
      v.send({ type: 'rate', stars });
      await v.expect((m) => m.type === 'rated');
    }

    // All five play together (two tabs and three sockets), and four addresses fetch the playlists, in one sample.
    await sampleWhere(id, (x) => x.viewers === 5, 'a sample with the five viewers');
    await sampleWhere(id, (x) => x.players_estimate === FETCHER_ADDRESSES.length + 1,
      'a sample with the three fetchers and the browser fetching');
    const s3Left = await s.s3.leave();
    watched.push([starts.s3, s3Left]);
    await sampleWhere(id, (x) => ms(x.at) > s3Left && x.viewers === 4, 'a sample with four viewers after s3 left');

    // The studio drops (its publisher stops) and comes back within the grace.
    const dropped = Date.now();
    await publisher.stop();
    await waitFor(async () => (await sreda.publicEvent(id)).state === 'intermission', { what: 'the intermission' });
    await sampleWhere(id, (x) => x.state === 'intermission', 'a sample in the intermission');
    const backAt = Date.now();
    f.publish(studio, 300);
    await waitFor(async () => (await sreda.publicEvent(id)).state === 'live', { timeoutMs: 60000, what: 'live again' });
    await sampleWhere(id, (x) => x.reconnect, 'a sample with the reconnect');

    // Tab b closes, s2 stops listening; then tab a closes, s1 leaves and the event ends.
    // Both tabs play again, and each has played long enough (7 s) for its minutes to matter in the check below,
    // however fast the rest went (a fast run once closed them after a few seconds).
    await waitFor(async () => a.playing() && b.playing() && minutes(a.intervals(Date.now())) > 0.12
      && minutes(b.intervals(Date.now())) > 0.12, { timeoutMs: 60000, what: 'both tabs playing (7 s each) after the reconnect' });
    await b.page.close();
    closedPageB = Date.now();  // its socket closed by now: the server counts up to that
    watched.push([starts.s2, s.s2.stopPlaying()]);
    await sampleWhere(id, (x) => ms(x.at) > closedPageB && x.viewers === 2, 'a sample with tab a and s1');
    await a.page.close();  // (a paused page says so too: watch-playback.test.mjs)
    closedPageA = Date.now();
    watched.push([starts.s1, await s.s1.leave()]);
    await s.s2.leave();
    for (const x of fetchers) await x.stop();
    for (const x of fetchers) assert.ok(x.parts > 2, `fetcher ${x.address} got ${x.parts} parts`);

    const r0 = await report(id);
    const expected = {
      live: minutes(watched) + minutes(a.intervals(closedPageA)) + minutes(b.intervals(closedPageB)),
      audio: minutes([watched[1]]),
    };
    const close = (got, want) => Math.abs(got - want) <= want * 0.05 + 0.005;
    // Minutes reach the store with the sample after each viewer stops: nobody watches now, so they settle (the same
    // for three samples) and must then be what the viewers did; a connection still counted would not settle.
    let last = r0;
    let same = 0;
    await waitFor(async () => {
      const prev = last.minutes_live;
      last = await report(id);
      same = last.minutes_live === prev ? same + 1 : 0;
      return same >= 3;
    }, { timeoutMs: 30000, intervalMs: 1000, what: 'the minutes watched to settle' });
    assert.ok(close(last.minutes_live, expected.live),
      `minutes_live: expected ${expected.live.toFixed(3)} ± 5 %, the report says ${last.minutes_live}`);
    // The tabs played for most of the time they were open (else this test would prove little about pages).
    assert.ok(minutes(a.intervals(closedPageA)) > 0.1, JSON.stringify(a.frames));
    assert.ok(minutes(b.intervals(closedPageB)) > 0.1, JSON.stringify(b.frames));

    t.diagnostic(`minutes live ${last.minutes_live} (expected ${expected.live.toFixed(3)}; tabs ${minutes(a.intervals(closedPageA)).toFixed(3)}`
      + ` + ${minutes(b.intervals(closedPageB)).toFixed(3)}, sockets ${minutes(watched).toFixed(3)}), ${last.timeline.length} samples`);
    assert.equal((await sreda.api('POST', `/api/events/${id}/end`, undefined, sreda.token)).status, 200);
    const r = await report(id);
    assert.equal(r.collecting, true);
    assert.ok(close(r.renditions.audio, expected.audio), `audio: ${r.renditions.audio} vs ${expected.audio}`);
    const byRung = Object.values(r.renditions).reduce((x, y) => x + y, 0);
    // Each figure is rounded to 0.01 min.
    const rounding = 0.005 * (Object.keys(r.renditions).length + 1) + 1e-9;
    assert.ok(Math.abs(byRung - r.minutes_live) <= rounding, `renditions add up: ${byRung} vs ${r.minutes_live}`);
    assert.equal(r.minutes_archive, 0);

    // Peak: five (both tabs and three sockets), first seen while s3 played.
    assert.equal(r.peak_viewers, 5);
    const firstPeak = r.timeline.find((x) => x.viewers === 5);
    assert.equal(r.peak_at, firstPeak.at);
    assert.ok(ms(firstPeak.at) >= starts.s3 && ms(firstPeak.at) <= s3Left + 1000, `peak at ${firstPeak.at}`);
    assert.equal(firstPeak.renditions.audio, 1, JSON.stringify(firstPeak.renditions));
    // Unique: the browser (two tabs, one viewer id) and three sockets.
    assert.equal(r.unique_viewers, 4);
    // Comments: three, one a question, in the samples right after they were sent; three ratings.
    assert.deepEqual([r.comments, r.questions, r.answered], [3, 1, 0]);
    const withComments = r.timeline.filter((x) => x.comments > 0);
    assert.equal(withComments.reduce((n, x) => n + x.comments, 0), 3);
    assert.equal(r.timeline.reduce((n, x) => n + x.questions, 0), 1);
    for (const x of withComments) assert.ok(ms(x.at) >= commentsFrom && ms(x.at) <= commentsTo + 3000, `comments at ${x.at}`);
    assert.deepEqual([r.rating.count, r.rating.histogram], [3, [0, 0, 0, 2, 1]]);
    assert.ok(Math.abs(r.rating.average - 13 / 3) < 0.01, `rating ${r.rating.average}`);
    // The players estimate: the three fetchers' addresses and the browser's, labelled an estimate.
    assert.equal(r.players_estimate.peak, FETCHER_ADDRESSES.length + 1);
    assert.match(r.players_estimate.note, /estimate/);
    // The drop and the reconnect on the timeline, in their order and at their times.
    const pause = r.timeline.filter((x) => x.state === 'intermission');
    assert.ok(pause.length > 0 && pause.every((x) => ms(x.at) >= dropped && ms(x.at) <= Date.now()));
    assert.equal(r.timeline.reduce((n, x) => n + x.reconnects, 0), 1, 'one drop, one reconnect');
    const reconnect = r.timeline.find((x) => x.reconnect);
    assert.ok(ms(reconnect.at) >= backAt && ms(reconnect.at) > ms(pause[0].at), `reconnect at ${reconnect.at}`);
    assert.ok(r.timeline.filter((x) => x.state === 'live').some((x) => x.bitrate_kbps > 0));
    assert.ok(r.timeline.every((x, i) => i === 0 || ms(x.at) > ms(r.timeline[i - 1].at)), 'samples in time order');

    // The CSV, read by Python's csv module: one row per sample, adding up to the JSON.
    const got = await fetch(`${sreda.base}/api/events/${id}/report.csv`, { headers: { authorization: `Bearer ${sreda.token}` } });
    assert.equal(got.status, 200);
    assert.match(got.headers.get('content-type'), /^text\/csv/);
    const py = spawnSync('/usr/bin/python3', ['-c',
      'import csv, json, sys; print(json.dumps(list(csv.DictReader(sys.stdin))))'], { input: await got.text(), encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const rows = JSON.parse(py.stdout);
    assert.equal(rows.length, r.timeline.length);
    assert.deepEqual(rows.map((x) => x.at), r.timeline.map((x) => x.at));
    assert.equal(Math.max(...rows.map((x) => Number(x.viewers))), r.peak_viewers);
    assert.equal(rows.reduce((n, x) => n + Number(x.comments), 0), r.comments);
    assert.equal(rows.reduce((n, x) => n + Number(x.questions), 0), r.questions);
    assert.equal(rows.reduce((n, x) => n + Number(x.reconnects), 0), 1);
    assert.equal(Math.max(...rows.map((x) => Number(x.players_estimate || 0))), r.players_estimate.peak);

    // Deleting the event (once its recording is finished) leaves its figures in the season report.
    const season = async () => (await sreda.api('GET', '/api/reports?group=category', undefined, sreda.token)).json;
    const before = await season();
    assert.deepEqual([before.totals.events, before.totals.viewers_unique, before.totals.viewers_total], [1, 4, 4]);
    assert.ok(Math.abs(before.totals.minutes_live - r.minutes_live) < 0.02, `${before.totals.minutes_live} vs ${r.minutes_live}`);
    await waitFor(async () => (await sreda.api('DELETE', `/api/events/${id}`, undefined, sreda.token)).status === 200,
      { timeoutMs: 60000, intervalMs: 500, what: 'the event deleted (its recording finished)' });
    const after = await season();
    assert.deepEqual(after.totals, before.totals);
    assert.equal(after.totals.top_events[0].title, 'Вечер романса');
  } finally {
    for (const x of fetchers) x.stopping = true;
    for (const v of Object.values(sockets)) { try { v.ws.terminate(); } catch { /* gone */ } }
    for (const p of [a.page, b.page]) { try { await p.close(); } catch { /* closed */ } }
  }
});
