// The HTTPS front (deploy/front: Debian's nginx with the shipped configs, a self-signed certificate) in front of a
// test's sreda, run by tests/integration/front_helpers.py.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO } from './harness.mjs';

/** A free TCP port on 127.0.0.1 (for a front whose address sreda must know first: server.public_url). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The front in front of `sreda` (its HTTPS on `httpsPort` when given): resolves with its ports once it listens
 *  ({https_port, http_port, rtmps_port}); stop() ends it (and its nginx). */
export function startFront(sreda, httpsPort) {
  const proc = spawn('/usr/bin/python3', [join(REPO, 'tests/integration/front_helpers.py'), String(sreda.httpPort),
    String(sreda.rtmpPort), ...(httpsPort ? [String(httpsPort)] : [])],
  { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SREDA_SOURCE_DIR: REPO } });
  const log = [];
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c) => log.push(c));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20000))]);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve({ ...JSON.parse(out.split('\n')[0]), stop });
    });
    proc.on('exit', (code) => reject(new Error(`the front exited with ${code}: ${log.join('')}`)));
  });
}
