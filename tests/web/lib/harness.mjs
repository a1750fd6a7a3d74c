// Starts the real sreda binary on 127.0.0.1 (free ports, temp data dir), talks to its API, runs a real
// ffmpeg publisher (scripts/publish-test) and launches Debian's Chromium through playwright-core.
// Everything started here is stopped by stopAll(), and also when the process exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SREDA_BIN = resolve(REPO, process.env.SREDA_BIN || 'build/release/server/sreda');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN_PASSWORD = 'correct horse battery staple';

const children = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of tempDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ } }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/** Polls fn() until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor(fn, { timeoutMs = 30000, intervalMs = 100, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { lastErr = err; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}` + (lastErr ? `: ${lastErr.message}` : ''));
    }
    await sleep(intervalMs);
  }
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once('exit', () => { clearTimeout(t); res(true); });
  });
}

export class Sreda {
  /** `env`: more of the server's environment (SREDA_SERVER_TRUSTED_PROXIES…). */
  constructor({ env = {} } = {}) {
    this.env = env;
    this.dataDir = tempDir('sreda-web-');
    this.log = [];
    this.proc = null;
  }

  /** `samePorts`: on the ports of the last start (started again after a crash, as a supervisor does). */
  async start({ samePorts = false } = {}) {
    if (!existsSync(SREDA_BIN)) throw new Error(`no sreda binary at ${SREDA_BIN} (build it, or set SREDA_BIN)`);
    const [http, rtmp, srt] = samePorts ? [this.httpPort, this.rtmpPort, this.srtPort].map(String) : ['0', '0', '0'];
    const args = ['--data-dir', this.dataDir, '--listen', '127.0.0.1', '--http-port', http, '--rtmp-port', rtmp,
      '--srt-port', srt, '--static-dir', join(REPO, 'player-web/public')];
    const from = this.log.length;  // this start's lines
    this.proc = spawn(SREDA_BIN, args, {
      // The overload rule (new real-time viewers refused while an encode falls behind) is off: a browser test of
      // real time on a busy 2-core CI machine must not be sent to LL-HLS (tests/integration/test_whep_overload_media).
      env: { ...process.env, SREDA_ADMIN_PASSWORD: ADMIN_PASSWORD, SREDA_WEBRTC_OVERLOAD_LATE_FRAMES: '0', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(this.proc);
    this.proc.on('exit', () => children.delete(this.proc));
    let buf = '';
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { this.log.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
    const m = await waitFor(() => {
      if (this.proc.exitCode !== null) throw new Error(`sreda exited with ${this.proc.exitCode}:\n${this.logText()}`);
      for (const line of this.log.slice(from)) {
        const mm = line.match(/listening: http=(\d+) rtmp=(\S+) srt=(\S+)/);
        if (mm) return mm;
      }
      return null;
    }, { timeoutMs: 30000, what: "sreda's 'listening:' line" });
    this.httpPort = Number(m[1]);
    this.rtmpPort = Number(m[2]);
    this.srtPort = Number(m[3]);
    this.base = `http://127.0.0.1:${this.httpPort}`;
    return this;
  }

  /** kill -9, as a crash; resolves when it has exited. */
  async kill9() {
    this.proc.kill('SIGKILL');
    await waitExit(this.proc, 10000);
  }

  logText(lines = 80) { return this.log.slice(-lines).join('\n'); }

  /** SIGTERM, wait up to 20 s, SIGKILL if it did not stop; returns the exit code (or the signal). */
  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p ? (p.exitCode ?? p.signalCode) : null;
    p.kill('SIGTERM');
    if (!(await waitExit(p, 20000))) {
      p.kill('SIGKILL');
      await waitExit(p, 5000);
      throw new Error('sreda did not stop within 20 s of SIGTERM');
    }
    return p.exitCode ?? p.signalCode;
  }

  async api(method, path, body, token) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
  }

  async login() {
    const r = await this.api('POST', '/api/login', { username: 'admin', password: ADMIN_PASSWORD });
    if (r.status !== 200) throw new Error(`login: ${r.status} ${r.text}`);
    this.token = r.json.token;
    return this.token;
  }

  async createStudio(name) {
    const r = await this.api('POST', '/api/studios', { name }, this.token);
    if (r.status !== 200 && r.status !== 201) throw new Error(`create studio: ${r.status} ${r.text}`);
    return r.json;
  }

  /** An event on `studio` starting `startInMin` minutes from now, lasting `lengthMin`. */
  async createEvent(studio, title, startInMin, lengthMin = 60) {
    const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const now = Date.now();
    const r = await this.api('POST', '/api/events', {
      title, description: 'Проверка из браузерных тестов', category: 'concert', language: 'ru',
      studio_id: studio.id, starts_at: iso(now + startInMin * 60000), ends_at: iso(now + (startInMin + lengthMin) * 60000),
    }, this.token);
    if (r.status !== 200 && r.status !== 201) throw new Error(`create event: ${r.status} ${r.text}`);
    return r.json;
  }

  async publicEvent(id) {
    const r = await this.api('GET', `/api/public/events/${id}`);
    if (r.status !== 200) throw new Error(`public event ${id}: ${r.status} ${r.text}`);
    return r.json;
  }
}

/** scripts/publish-test --small KEY 127.0.0.1:PORT SECONDS: a real ffmpeg publisher, 320x240 25 fps, -re. */
export class Publisher {
  constructor(key, rtmpPort, seconds) {
    this.log = [];
    this.proc = spawn(join(REPO, 'scripts/publish-test'), ['--small', '--', key, `127.0.0.1:${rtmpPort}`, String(seconds)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FFMPEG_LOGLEVEL: 'error' },
    });
    children.add(this.proc);
    this.proc.on('exit', () => children.delete(this.proc));
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (c) => { this.log.push(c); });
  }

  running() { return this.proc.exitCode === null && this.proc.signalCode === null; }

  async stop() {
    if (!this.running()) return;
    this.proc.kill('SIGTERM');
    if (!(await waitExit(this.proc, 5000))) {
      this.proc.kill('SIGKILL');
      await waitExit(this.proc, 5000);
    }
  }
}

/** Chromium's flags for WebRTC tests on 127.0.0.1: a fake camera and microphone (allowed without asking), loopback
 *  ICE candidates, and host candidates as addresses (not mDNS .local names, which libnice cannot resolve). */
export const WEBRTC_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'];

/** Debian's Chromium, headless, driven by playwright-core, with a fresh profile; `extraArgs`: more flags. */
export async function launchBrowser({ extraArgs = [], ...contextOptions } = {}) {
  const { chromium } = await import('playwright-core');
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (scripts/setup installs Debian's chromium)`);
  const profile = tempDir('sreda-chromium-');
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', ...extraArgs],
    viewport: { width: 1280, height: 900 },
    locale: 'ru-RU',
    timeout: 60000,
    ...contextOptions,
  });
}

/**
 * For after(): closes the browsers, stops the publishers, then stops sreda and checks it exited 0 (a crash or a
 * sanitizer report at exit fails the file). Each step runs even if an earlier one failed; the first problem
 * is thrown. Arguments may be null/undefined (a before() that failed half-way).
 */
export async function stopAll(sreda, ...others) {
  const problems = [];
  for (const o of others) {
    if (!o) continue;
    try { await (o.close ? o.close() : o.stop()); } catch (err) { problems.push(err); }
  }
  if (sreda) {
    try {
      const code = await sreda.stop();
      if (code !== 0) problems.push(new Error(`sreda exited with ${code} after SIGTERM:\n${sreda.logText(30)}`));
    } catch (err) { problems.push(err); }
  }
  if (problems.length) throw problems[0];
}
