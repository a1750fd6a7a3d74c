// Captures real SDP offers from Debian's Chromium (headless, fake camera and microphone) for the SDP
// parser's unit tests and the fuzz seed corpus: what our Go-live page (WHIP publisher) and a WHEP viewer
// send, and the shapes sreda refuses (VP8 only, simulcast, a data channel only). Rerun by hand after a
// Chromium upgrade:  node tests/unit/data/sdp/capture-offers.mjs  (needs tests/web/node_modules).
// obs-30-whip.sdp and firefox-128-sendonly.sdp beside them are written by hand (no OBS 30 or Firefox here),
// after libdatachannel's offers as OBS's WHIP output makes them and Firefox's usual shape.
// No STUN or TURN server is given: only host candidates, and nothing is sent anywhere.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../../web/package.json'));
const { chromium } = require('playwright-core');

const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>sdp</title>'); });
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'sreda-sdp-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'],
});
const page = context.pages()[0] || await context.newPage();
await page.goto(url);
const version = (await context.browser()?.version?.()) || (await page.evaluate(() => navigator.userAgent.match(/Chrome\/(\d+)/)[1]));
const major = String(version).match(/(\d+)/)[1];

// Each case runs in the page: builds a peer connection, makes an offer, waits for ICE gathering (≤ 3 s).
const cases = {
  'whip-sendonly': { audio: 'sendonly', video: 'sendonly' },
  'whip-sendonly-h264-first': { audio: 'sendonly', video: 'sendonly', h264First: true },
  'whip-video-only-h264-first': { video: 'sendonly', h264First: true },
  'whip-audio-only': { audio: 'sendonly' },
  'whip-vp8-only': { audio: 'sendonly', video: 'sendonly', only: 'video/VP8' },
  'whip-simulcast': { audio: 'sendonly', video: 'sendonly', h264First: true, simulcast: true },
  'whep-recvonly': { audio: 'recvonly', video: 'recvonly' },
  'datachannel-only': { data: true },
};
for (const [name, c] of Object.entries(cases)) {
  const sdp = await page.evaluate(async (c) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const stream = (c.audio === 'sendonly' || c.video === 'sendonly')
      ? await navigator.mediaDevices.getUserMedia({ audio: c.audio === 'sendonly', video: c.video === 'sendonly' })
      : null;
    for (const kind of ['audio', 'video']) {
      if (!c[kind]) continue;
      const track = stream && stream.getTracks().find((t) => t.kind === kind);
      const init = { direction: c[kind] };
      if (kind === 'video' && c.simulcast)
        init.sendEncodings = [{ rid: 'h', maxBitrate: 2500000 }, { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 600000 }];
      const tr = pc.addTransceiver(c[kind] === 'sendonly' ? track : kind, init);
      const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
      if (kind === 'video' && c.h264First) {
        const h264 = codecs.filter((x) => x.mimeType === 'video/H264');
        const first = h264.filter((x) => /packetization-mode=1/.test(x.sdpFmtpLine) && /profile-level-id=42e01f/.test(x.sdpFmtpLine));
        tr.setCodecPreferences([...first, ...h264.filter((x) => !first.includes(x)), ...codecs.filter((x) => x.mimeType !== 'video/H264')]);
      }
      if (kind === 'video' && c.only)
        tr.setCodecPreferences(codecs.filter((x) => x.mimeType === c.only || /rtx|red|ulpfec/.test(x.mimeType)));
    }
    if (c.data) pc.createDataChannel('chat');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((ok) => {
      if (pc.iceGatheringState === 'complete') return ok();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && ok());
      setTimeout(ok, 3000);
    });
    const sdp = pc.localDescription.sdp;
    pc.close();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    return sdp;
  }, c);
  const file = join(here, `chromium-${major}-${name}.sdp`);
  writeFileSync(file, sdp);
  console.log(`${file}: ${sdp.length} bytes, ${(sdp.match(/a=candidate/g) || []).length} candidates`);
}
await context.close();
server.close();
