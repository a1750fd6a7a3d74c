"""A blocking playlist request that cannot be answered in time (the studio is in intermission) gets 503
after 3 × the target duration, not a hang; the server keeps serving meanwhile. The master playlist asked for
the moment a studio is live, before its first part, waits for that part instead of answering 404."""
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

from media_helpers import X264, LiveServerTest, Studio, test_card
from rtmp_publisher import RawPublisher, flv_tags
from sreda_harness import wait_for


class HeldRequestDeadlineTest(LiveServerTest):
    env = {"SREDA_STUDIOS_RECONNECT_GRACE_S": "60"}

    def test_held_request_gets_503_after_its_deadline(self):
        studio = Studio(self.server, self.token, "Студия на паузе")
        studio.publish(4)
        base = f"/live/{studio.event_id}/source/index.m3u8"
        text = self.server.get(base).text
        target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
        msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) + text.count("#EXTINF") + 1
        t0 = time.monotonic()
        r = self.server.get(f"{base}?_HLS_msn={msn}", timeout=60)
        held = time.monotonic() - t0
        self.assertEqual(r.status, 503, r)
        self.assertGreaterEqual(held, 3 * target - 0.5)
        self.assertEqual(self.server.get("/healthz").status, 200)
        wait_for(lambda: "sreda_live_held_requests 0" in self.server.get("/metrics").text, 10, "no held requests")

    def test_master_playlist_waits_for_the_first_part(self):
        studio = Studio(self.server, self.token, "Студия на старте")
        with tempfile.TemporaryDirectory() as tmp:
            flv = os.path.join(tmp, "start.flv")
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *test_card(), "-t", "3",
                            *X264, "-f", "flv", "-y", flv], check=True, timeout=120)
            tags = flv_tags(flv)
        # The codec configurations first (the studio is live, its outputs made), then no media for a while.
        configs = [t for t in tags if len(t[2]) > 1 and t[2][1] == 0 and (t[0] == 8 or t[2][0] & 0x0F == 7)]
        self.assertEqual(len(configs), 2, "an AVC and an AAC sequence header")
        pub = RawPublisher(self.server.rtmp_port, studio.key)
        try:
            for kind, _, body in configs:
                pub.send(kind, 0, body)
            studio.wait_state("live")
            master = f"/live/{studio.event_id}/master.m3u8"
            got = {}
            asker = threading.Thread(target=lambda: got.update(r=self.server.get(master, timeout=30)))
            asker.start()
            wait_for(lambda: "sreda_live_held_requests 1" in self.server.get("/metrics").text, 10,
                     "the master playlist request held")
            self.assertNotIn("r", got, "answered before the studio sent any media")
            start = time.monotonic()
            first = tags[0][1]
            for i, (kind, ts, body) in enumerate(tags):
                if not got and (wait := start + (ts - first) / 1000.0 - time.monotonic()) > 0:
                    time.sleep(wait)  # pacing the media in real time until the master is answered
                pub.send(kind, ts, body)
                if i % 50 == 0:
                    pub.drain()
                if got:
                    break
            asker.join(30)
            self.assertEqual(got["r"].status, 200, got["r"])
            self.assertIn("#EXT-X-STREAM-INF:", got["r"].text)
        finally:
            pub.close()


if __name__ == "__main__":
    unittest.main()
