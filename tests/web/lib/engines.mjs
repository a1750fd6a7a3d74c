// Browser engines other than Chromium, for tests/web/engines.test.mjs: Debian's Firefox ESR driven headless by
// puppeteer-core over WebDriver BiDi (its pages are used like playwright's: pages.mjs works on them), and
// Debian's WebKitGTK (the engine closest to Safari on Linux) driven by WebKitWebDriver through plain W3C
// WebDriver HTTP, in its MiniBrowser under Xvfb (WebKitGTK has no headless mode).
// Nothing is downloaded: no browser build (PUPPETEER_SKIP_DOWNLOAD; puppeteer-core never fetches one), and
// Firefox's OpenH264 plugin, which Firefox fetches by itself from its vendor, is switched off with its updater.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tempDir, waitFor } from './harness.mjs';

export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.WEBKIT_WEBDRIVER || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.WEBKIT_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB = '/usr/bin/Xvfb';

/** Why Firefox cannot be tried here, or '' (the Debian package firefox-esr; scripts/setup installs it). */
export function noFirefox() {
  return existsSync(FIREFOX) ? '' : `no Firefox at ${FIREFOX} (Debian's firefox-esr; scripts/setup installs it)`;
}

/** Why WebKitGTK cannot be tried here, or '' (Debian's webkit2gtk-driver and xvfb; scripts/setup installs them). */
export function noWebKit() {
  const missing = [[WEBKIT_DRIVER, 'webkit2gtk-driver'], [MINIBROWSER, 'libwebkit2gtk-4.1-0'], [XVFB, 'xvfb']]
    .filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${path} (Debian's ${pkg})`);
  return missing.length ? `no ${missing.join(', ')}: scripts/setup installs them` : '';
}

// A fake camera (640×480, moving colours) and microphone (a tone), allowed without asking; loopback ICE
// candidates as addresses (no mDNS names); nothing fetched from outside (OpenH264, its update checks), not
// even a name looked up (checked with strace: only 127.0.0.1 and the machine's own address are connected to).
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-manager.url': 'http://127.0.0.1:9/',
  'intl.accept_languages': 'ru-RU, ru',
  // puppeteer points Firefox's own services at dummy.test: resolved here, not asked of a DNS server.
  'network.dns.localDomains': 'dummy.test',
};

/** Debian's Firefox ESR, headless, with a fresh profile (puppeteer-core, WebDriver BiDi). */
export async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: tempDir('sreda-firefox-'),
    extraPrefsFirefox: FIREFOX_PREFS, defaultViewport: { width: 1280, height: 900 }, protocolTimeout: 60000,
    // A release build ignores the remote-settings address puppeteer points away (it would look up its
    // vendor's server) unless this is set.
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
  });
}

/** A free TCP port on 127.0.0.1 (for WebKitWebDriver, which takes one on its command line). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A process in a group of its own that stop() ends with everything it started (the driver's MiniBrowser
 *  and its web processes); `children` (the fixture's) kills it at the end too. */
function child(cmd, args, env, children, stdio = ['ignore', 'ignore', 'pipe']) {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio, detached: true });
  children.add(proc);
  const log = [];
  if (proc.stderr) { proc.stderr.setEncoding('utf8'); proc.stderr.on('data', (c) => { if (log.length < 200) log.push(c); }); }
  proc.on('exit', () => children.delete(proc));
  return { proc, log, stop: () => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } } };
}

/**
 * WebKitGTK's MiniBrowser under its own Xvfb, driven by WebKitWebDriver: a mock camera and microphone
 * (allowed without asking), autoplay allowed, MSE and WebRTC switched on where the build has them.
 * Methods: goto(url), run(body, arg) (an async function body in the page; its value), click(css),
 * close(). `children`: the fixture's set of child processes.
 */
export class WebKit {
  constructor(children) { this.children = children; this.parts = []; }

  async start() {
    const xvfb = child(XVFB, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {},
      this.children, ['ignore', 'ignore', 'pipe', 'pipe']);
    this.parts.push(xvfb);
    let shown = '';
    xvfb.proc.stdio[3].setEncoding('utf8');
    xvfb.proc.stdio[3].on('data', (c) => { shown += c; });
    const display = await waitFor(() => (/^\d+\n/.test(shown) ? `:${shown.trim()}` : ''),
      { timeoutMs: 20000, what: `Xvfb's display number (${xvfb.log.join('')})` });
    const port = await freePort();
    const driver = child(WEBKIT_DRIVER, [`--port=${port}`, '--host=127.0.0.1'], { DISPLAY: display }, this.children);
    this.parts.push(driver);
    this.base = `http://127.0.0.1:${port}`;
    const session = await waitFor(() => this.call('POST', '/session', { capabilities: { alwaysMatch: {
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', '--enable-media-stream=true',
        '--enable-mock-capture-devices=true', '--enable-mediasource=true', '--enable-webrtc=true',
        '--autoplay-policy=allow'] },
    } } }).catch(() => null), { timeoutMs: 30000, what: `a WebKitWebDriver session (${driver.log.join('')})` });
    this.session = `/session/${session.sessionId}`;
    this.version = session.capabilities.browserVersion;
    return this;
  }

  /** One W3C WebDriver command; its value, or throws with the driver's error. */
  async call(method, path, body) {
    const r = await fetch(this.base + path, { method, headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await r.json();
    if (!r.ok || (json.value && json.value.error)) throw new Error(`WebDriver ${method} ${path}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  goto(url) { return this.call('POST', `${this.session}/url`, { url }); }

  /** Runs `body` (the text of an async function's body, `arg` its one argument) in the page; its value. */
  run(body, arg = null) {
    const script = `const done = arguments[1];
      (async (arg) => { ${body} })(arguments[0])
        .then((v) => done({ value: v === undefined ? null : v }), (e) => done({ thrown: String(e) }));`;
    return this.call('POST', `${this.session}/execute/async`, { script, args: [arg] }).then((r) => {
      if (r && 'thrown' in r) throw new Error(`in the page: ${r.thrown}`);
      return r.value;
    });
  }

  /** Clicks the element `css` as a user would (WebDriver's element click: scrolled into view, hit-tested). */
  async click(css) {
    const el = await this.call('POST', `${this.session}/element`, { using: 'css selector', value: css });
    return this.call('POST', `${this.session}/element/${Object.values(el)[0]}/click`, {});
  }

  async close() {
    if (this.session) await this.call('DELETE', this.session).catch(() => {});
    this.session = null;
    for (const p of this.parts.reverse()) p.stop();
    this.parts = [];
  }
}
