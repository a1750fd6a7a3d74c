// The one fixture of the browser tests: each test file calls fixture() once at its top. Its before() starts a
// real sreda (127.0.0.1, free ports, temp data dir) and logs the admin in (sreda.token), then runs the file's
// own setup (studios, events, publishers, browsers, pages, in the order the file needs: a publisher started
// before the browser has been live a while when the first test begins). Its after() kills the file's own
// child processes, closes every browser and stops every publisher the setup or a test gave it, then stops
// sreda and fails the file unless it exited 0 (stopAll).
import { before, after } from 'node:test';
import { Sreda, Publisher, launchBrowser, stopAll } from './harness.mjs';

/**
 * fixture([options,] setup): options: env (more of the server's environment), skip (a function: true →
 * nothing is started, e.g. a long test not asked for). setup(f) gets:
 *   f.sreda: the server, the admin logged in
 *   f.launch(contextOptions) → Chromium (launchBrowser), closed in after()
 *   f.studioWithEvent(studio name, title, startInMin, lengthMin?) → {studio, event}
 *   f.publish(studio, seconds) → an ffmpeg Publisher with the studio's key, stopped in after()
 *   f.track(x) → x: anything with close() or stop(), done in after() (e.g. a publisher a test starts)
 *   f.children: a Set for the file's own child processes, SIGKILLed in after()
 * Returns f.
 */
export function fixture(options, setup) {
  if (typeof options === 'function') [options, setup] = [{}, options];
  const stops = [];
  const f = {
    sreda: null,
    children: new Set(),
    track(x) { stops.push(x); return x; },
    launch: async (contextOptions) => f.track(await launchBrowser(contextOptions)),
    publish: (studio, seconds) => f.track(new Publisher(studio.stream_key, f.sreda.rtmpPort, seconds)),
    async studioWithEvent(name, title, startInMin, lengthMin) {
      const studio = await f.sreda.createStudio(name);
      return { studio, event: await f.sreda.createEvent(studio, title, startInMin, lengthMin) };
    },
  };
  before(async () => {
    if (options.skip && options.skip()) return;
    f.sreda = await new Sreda({ env: options.env }).start();
    await f.sreda.login();
    await setup(f);
  });
  after(async () => {
    for (const c of f.children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    await stopAll(f.sreda, ...stops);
  });
  return f;
}
