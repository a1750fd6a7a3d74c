"""A live event relayed to a "platform": nginx-rtmp (Debian's libnginx-mod-rtmp) on 127.0.0.1 stands in for VK
Video, RuTube or YouTube. What the platform records of the relayed stream is what the studio sent: the same
codecs and picture size, as long as the event's own recording (within 1 s), and the target's stream key is
nowhere in the server's log."""
import os
import secrets
import sqlite3
import time
import unittest

from media_helpers import LiveServerTest, Publisher, Studio
from nginx_rtmp import NginxRtmp, probe_recording
from sreda_harness import wait_for

PUBLISH_S = 10
SIZE = (640, 360)


def add_relay(server, token, event_id, name, url):
    """An event's relay, as a curator adds it: POST /api/events/{id}/relays; a server without that route yet
    (404/405) gets the row written into its relays table (schema 8), which the runtime reads when the event
    goes live."""
    r = server.post(f"/api/events/{event_id}/relays", {"name": name, "url": url}, token=token)
    if r.status in (200, 201):
        return r.json["id"]
    assert r.status in (404, 405), r
    now = int(time.time())
    db = sqlite3.connect(os.path.join(server.data_dir, "sreda.db"), timeout=30)
    try:
        with db:
            cur = db.execute("INSERT INTO relays (event_id, name, url, rendition, enabled, created_at, updated_at) "
                             "VALUES (?, ?, ?, 'source', 1, ?, ?)", (event_id, name, url, now, now))
        return cur.lastrowid
    finally:
        db.close()


def vod_duration_s(server, event_id):
    """The event's duration as its VOD says: the source rendition's segments, summed."""
    text = server.get(f"/archive/{event_id}/source/index.m3u8").text
    return sum(float(line.split(":")[1].split(",")[0]) for line in text.splitlines() if line.startswith("#EXTINF:"))


class RelayToPlatformTest(LiveServerTest):
    env = {"SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1"}

    def setUp(self):
        self.platform = NginxRtmp().start()
        self.addCleanup(self.platform.stop)

    def test_platform_receives_the_studios_stream_as_long_as_the_event(self):
        s, platform = self.server, self.platform
        studio = Studio(s, self.token, "Зал для платформы")
        key = "live_" + secrets.token_hex(12)  # the platform's stream key: a secret
        relay_id = add_relay(s, self.token, studio.event_id, "Platform", platform.url(key))

        pub = Publisher(studio.rtmp_url(), seconds=PUBLISH_S, size=f"{SIZE[0]}x{SIZE[1]}")
        try:
            media = studio.wait_media()["publisher"]["media"]
            # It arrives while the concert is on, not after it.
            platform.wait_arrived(key, timeout=30)
            self.assertFalse(platform.is_done(key))
            if "relays" in studio.live():  # the curator's view of it (the API's part of the issue)
                def sending():
                    relay = next((r for r in studio.live()["relays"] if r["id"] == relay_id), None)
                    return relay if relay and relay["state"] == "sending" else None
                relay = wait_for(sending, 15, "the relay to say 'sending'")
                self.assertNotIn(key, str(relay))
                self.assertGreater(relay["bytes_sent"], 0)
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("intermission")
        r = s.post(f"/api/events/{studio.event_id}/end", token=self.token)
        self.assertEqual(r.status, 200, r)
        studio.wait_state("archived")
        # The event has ended: the relay stops and the platform closes what it recorded.
        path = platform.wait_recorded(key, timeout=30)

        got = probe_recording(path)
        self.assertEqual((got["video_codec"], got["width"], got["height"]),
                         (media["video"]["codec"], media["video"]["width"], media["video"]["height"]))
        self.assertEqual((got["video_codec"], got["width"], got["height"]), ("h264",) + SIZE)
        self.assertEqual(got["audio_codec"], media["audio"]["codec"])
        event_s = vod_duration_s(s, studio.event_id)
        self.assertGreater(event_s, PUBLISH_S - 2)
        self.assertAlmostEqual(got["duration"], event_s, delta=1.0,
                               msg=f"relayed {got['duration']:.2f} s, the event's recording {event_s:.2f} s")
        # The key went to the platform and nowhere else.
        self.assertNotIn(key, s.log())
        self.assertEqual(platform.recordings(), [key])


if __name__ == "__main__":
    unittest.main()
