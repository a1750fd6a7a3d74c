"""LL-HLS through the live front on one keep-alive connection, as hls.js uses it: a blocking playlist reload is
held until the next part exists and then answered, the part follows, the bytes are the ones every other
path serves, and an API request on the same connection is still answered (by libwebsockets)."""
import re
import unittest

from live_front_client import Conn
from media_helpers import LiveServerTest, Publisher, Studio, metric
from sreda_harness import wait_for


class EdgeLiveTest(LiveServerTest):
    def test_blocking_reload_and_part_on_one_keep_alive_connection(self):
        studio = Studio(self.server, self.token, "Front studio")
        pub = Publisher(studio.rtmp_url(), seconds=30)
        self.addCleanup(pub.kill)
        base = f"/live/{studio.event_id}/source/"
        # The playlist is served (empty) as soon as the source is prepared; wait for a hinted part.
        wait_for(lambda: b"#EXT-X-PRELOAD-HINT" in self.server.get(base + "index.m3u8").body, 30,
                 "the live playlist with a hinted part")
        c = Conn(self.server.port, timeout=30)
        self.addCleanup(c.close)
        status, headers, body, _ = c.get(base + "index.m3u8")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/vnd.apple.mpegurl")
        self.assertEqual(headers["cache-control"], "public, max-age=0, s-maxage=1")
        self.assertEqual(headers["access-control-allow-origin"], "*")
        def answered():  # playlists and parts, counted by route class
            return sum(metric(self.server, "sreda_http_requests_total", route=r, status="200")
                       for r in ("/live/playlist", "/live/part"))
        held_before = answered()
        for _ in range(3):
            hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part(\d+)\.(\d+)\.m4s"', body.decode())
            self.assertIsNotNone(hint, body)
            msn, part = int(hint.group(1)), int(hint.group(2))
            # Held until that part exists, then answered with a playlist listing it.
            status, headers, body, _ = c.get(f"{base}index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
            self.assertEqual(status, 200, body)
            self.assertEqual(headers["cache-control"], "public, max-age=6")
            self.assertIn(f'URI="part{msn}.{part}.m4s"', body.decode())
            status, headers, part_bytes, _ = c.get(f"{base}part{msn}.{part}.m4s")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "video/iso.segment")
            self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable")
            self.assertGreater(len(part_bytes), 8)
            self.assertEqual(part_bytes[4:8], b"moof")
            # The same bytes as a fresh connection gets.
            self.assertEqual(self.server.get(f"{base}part{msn}.{part}.m4s").body, part_bytes)
        self.assertGreaterEqual(answered(), held_before + 6)
        # Rules of RFC 8216bis 6.2.5.2, answered by the live front.
        self.assertEqual(c.get(f"{base}index.m3u8?_HLS_part=1")[0], 400)
        self.assertEqual(c.get(f"{base}index.m3u8?_HLS_msn={msn + 10}")[0], 400)
        self.assertEqual(c.get(f"/live/{studio.event_id}/nosuch/index.m3u8")[0], 404)
        # The API on the same connection.
        status, _, body, _ = c.get(f"/api/public/events/{studio.event_id}")
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
