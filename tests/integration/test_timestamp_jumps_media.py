"""RTMP timestamps that jump back or forward without a reconnect (a studio's encoder restarted, issue 16): the
event goes on where it was — the live playlist keeps growing at the pace of real time with no frozen stretch
and no hole, the curator sees the jumps counted, and the recording has the media's length. (A step back is
clamped by the RTMP session itself: the track goes on from where it was; a step forward is closed by the hub.)"""
import os
import re
import subprocess
import tempfile
import threading
import time

from media_helpers import LiveServerTest, Studio
from rtmp_publisher import flv_tags, publish_paced
from sreda_harness import wait_for

SECONDS = 24
BACK_AT_MS, FORWARD_AT_MS = 8000, 16000  # back to 0 at 8 s; forward by 30 s at 16 s


def jumped(_i, ts):
    if ts >= FORWARD_AT_MS:
        return ts - BACK_AT_MS + 30000
    if ts >= BACK_AT_MS:
        return ts - BACK_AT_MS
    return ts


def segments(text):
    """(PROGRAM-DATE-TIME ms, EXTINF s) of each whole segment of a media playlist."""
    out, pdt = [], None
    for line in text.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line.startswith("#EXTINF:"):
            out.append((pdt, float(line[8:].split(",")[0])))
    return out


def pdt_ms(text):
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


class TimestampJumpTest(LiveServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="sreda-jumps-")
        cls.flv = os.path.join(cls.dir, "card.flv")
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-t", str(SECONDS), "-i",
                        "testsrc=size=320x240:rate=25", "-f", "lavfi", "-t", str(SECONDS), "-i", "sine=frequency=440",
                        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt",
                        "yuv420p", "-c:a", "aac", "-b:a", "64k", "-y", cls.flv], check=True, timeout=120)

    def test_the_stream_goes_on_across_jumps_back_and_forward(self):
        s = Studio(self.server, self.token, "Перезапуск кодера")
        errors = []

        def publish():
            try:
                publish_paced(self.server.rtmp_port, s.key, flv_tags(self.flv), jumped)
            except Exception as e:  # reported by the test below
                errors.append(e)
        t = threading.Thread(target=publish)
        t.start()
        url = f"/live/{s.event_id}/source/index.m3u8"
        # While the publisher runs: how much media the live playlist holds, second by second.
        grown, jumps = [], 0
        deadline = time.monotonic() + SECONDS + 20
        while t.is_alive() and time.monotonic() < deadline:
            r = self.server.get(url)
            if r.status == 200:
                grown.append((time.monotonic(), sum(d for _, d in segments(r.text))))
            p = s.live().get("publisher")
            if p:
                jumps = max(jumps, p.get("timestamp_jumps", 0))
            time.sleep(0.5)  # a sampling interval, not a wait for a condition
        t.join(30)
        self.assertEqual(errors, [])
        # No frozen stretch: over any 6 s window after the stream started, at least 3 s of media was added.
        started = [g for g in grown if g[1] > 0]
        self.assertTrue(started, grown)
        for i, (at, media) in enumerate(started):
            later = [m for (a, m) in started[i:] if a >= at + 6]
            if later:
                self.assertGreaterEqual(later[0] - media, 3.0, f"the live playlist froze after {media:.1f} s: {started}")
        # No hole: consecutive segments' PROGRAM-DATE-TIMEs step by their durations.
        text = self.server.get(url).text
        segs = segments(text)
        for (p1, d1), (p2, _) in zip(segs, segs[1:]):
            self.assertLess(abs(pdt_ms(p2) - pdt_ms(p1) - d1 * 1000), 1000, text)
        self.assertGreaterEqual(jumps, 1)  # the forward jump (of each track) is counted for curators
        log = "\n".join(self.server.log_lines_copy())
        self.assertRegex(log, r"timestamps jumped forward by \d+ ms without a reconnect")
        # The recording: as long as the media sent.
        s.wait_state("intermission", 30)
        self.server.post(f"/api/events/{s.event_id}/end", {}, token=self.token)
        s.wait_state("ended", 60)
        archived = wait_for(lambda: (lambda r: r.text if r.status == 200 else None)(
            self.server.get(f"/archive/{s.event_id}/source/index.m3u8")), 60, "the recording's playlist")
        total = sum(d for _, d in segments(archived))
        self.assertAlmostEqual(total, SECONDS, delta=3, msg=archived)
