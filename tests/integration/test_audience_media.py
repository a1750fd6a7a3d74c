"""Comments written while an event is live carry the event's media time: increasing, and on the same
timeline as the LL-HLS playlist the viewers play; the replay endpoint finds them by media-time window."""
import asyncio
import re
import unittest

from audience_client import Viewer
from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio
from sreda_harness import wait_for

HEADROOM_MS = 500  # the event's media clock starts here (B-frame headroom at the first session)


def playlist_end_ms(text):
    """Media time at the end of the playlist: the first segment's start is the media sequence's, so the end
    is the sum of every segment and every part after the last segment, from the clock's start."""
    seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    assert seq == 0, "the window slid: the test publishes too long"
    segments = sum(float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", text))
    tail = text.rsplit("#EXTINF", 1)[-1] if "#EXTINF" in text else text
    parts = sum(float(d) for d in re.findall(r"#EXT-X-PART:DURATION=([0-9.]+)", tail.split("\n", 2)[-1]))
    return (segments + parts) * 1000


class AudienceMediaTimeTest(LiveServerTest):
    def test_comments_during_a_live_publish_carry_increasing_media_time(self):
        studio = Studio(self.server, self.token, "Live comments")
        pub = Publisher(studio.rtmp_url(), seconds=10)
        playlist = f"/live/{studio.event_id}/source/index.m3u8"
        try:
            studio.wait_media()
            wait_for(lambda: self.server.get(playlist).status == 200 and
                     playlist_end_ms(self.server.get(playlist).text) > 1000, 30, "a playlist with media")

            async def body():
                v = await Viewer(self.server, "live-viewer-1", "Live").connect()
                welcome = await v.join(studio.event_id)
                self.assertEqual(welcome["state"], "live")
                stamped = []
                for text in ("first", "second"):
                    before = playlist_end_ms(self.server.get(playlist).text)
                    await v.send({"type": "comment", "text": text})
                    m = await v.expect(lambda m, t=text: m["type"] == "comment" and m["text"] == t)
                    after = playlist_end_ms(self.server.get(playlist).text)
                    self.assertIsNotNone(m["media_ms"])
                    # Ingest is at most about a part ahead of what is packaged.
                    self.assertGreaterEqual(m["media_ms"], before, (text, before, after))
                    self.assertLessEqual(m["media_ms"], HEADROOM_MS + after + 1500, (text, before, after))
                    stamped.append(m)
                    if text == "first":
                        grown = before + 1500
                        await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for(
                            lambda: playlist_end_ms(self.server.get(playlist).text) > grown, 30, "more media"))
                self.assertGreater(stamped[1]["media_ms"], stamped[0]["media_ms"] + 1000)
                self.assertEqual(pub.wait(), 0, pub.stderr)
                state = await v.expect(lambda m: m["type"] == "state")
                self.assertEqual(state["state"], "intermission")
                await v.close()
                return stamped
            first, second = asyncio.run(body())
        finally:
            pub.kill()

        def replay(query):
            r = self.server.get(f"/api/public/events/{studio.event_id}/comments{query}")
            self.assertEqual(r.status, 200, r)
            return [c["text"] for c in r.json["comments"]]
        wait_for(lambda: replay("") == ["first", "second"], what="both comments stored")
        self.assertEqual(replay(f"?from_ms=0&to_ms={second['media_ms']}"), ["first"])
        self.assertEqual(replay(f"?from_ms={first['media_ms'] + 1}"), ["second"])
        self.assertEqual(replay("?from_ms=0&limit=1"), ["first"])
        studio.wait_state("ended", timeout=GRACE_S + 30)


if __name__ == "__main__":
    unittest.main()
