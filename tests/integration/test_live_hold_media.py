"""A blocking playlist request that cannot be answered in time (the studio is in intermission) gets 503
after 3 × the target duration, not a hang; the server keeps serving meanwhile."""
import re
import time
import unittest

from media_helpers import LiveServerTest, Studio
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


if __name__ == "__main__":
    unittest.main()
