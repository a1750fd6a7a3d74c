"""The public programme's live events carry what the guide's "Live now" card shows: the viewer count (the
audience hub's, as viewers join and leave /ws) and the live poster frame's URL (null until there is one).
Other events carry neither."""
import asyncio
import unittest

from audience_client import Viewer
from media_helpers import LiveServerTest, Publisher, Studio
from sreda_harness import wait_for


class PublicLiveTest(LiveServerTest):
    def listed(self, event_id):
        events = self.server.get("/api/public/events?when=live").json["events"]
        return next((e for e in events if e["id"] == event_id), None)

    def test_live_listing_counts_viewers_and_offers_the_poster(self):
        studio = Studio(self.server, self.token, "Live card")
        later = Studio(self.server, self.token, "Later card", minutes_from_now=120)
        pub = Publisher(studio.rtmp_url(), seconds=30)
        try:
            studio.wait_state("live")
            e = wait_for(lambda: self.listed(studio.event_id), 30, "the event under live")
            self.assertEqual(e["viewers"], 0)
            self.assertIn("poster", e)

            async def body():
                a = await Viewer(self.server, "card-viewer-1", "A").connect()
                b = await Viewer(self.server, "card-viewer-2", "B").connect()
                await a.join(studio.event_id)
                await b.join(studio.event_id)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, lambda: wait_for(
                    lambda: self.listed(studio.event_id)["viewers"] == 2, 30, "two viewers listed"))
                self.assertEqual(self.server.get(f"/api/public/events/{studio.event_id}").json["viewers"], 2)
                await b.close()
                await loop.run_in_executor(None, lambda: wait_for(
                    lambda: self.listed(studio.event_id)["viewers"] == 1, 30, "one viewer listed after one left"))
                await a.close()
            asyncio.run(body())

            poster = wait_for(lambda: self.listed(studio.event_id)["poster"], 30, "a live poster URL")
            self.assertEqual(poster, f"/live/{studio.event_id}/poster.jpg")
            r = self.server.get(poster)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("content-type"), "image/jpeg")
            self.assertEqual(r.body[:2], b"\xff\xd8")

            upcoming = self.server.get("/api/public/events?when=upcoming").json["events"]
            coming = next(e for e in upcoming if e["id"] == later.event_id)
            self.assertNotIn("viewers", coming)
            self.assertNotIn("poster", coming)
        finally:
            pub.kill()


if __name__ == "__main__":
    unittest.main()
