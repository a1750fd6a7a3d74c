"""A server that stops or crashes while a studio is live: after the restart the event waits in intermission
for its studio, continues when it comes back, and ends after the grace when it does not."""
import unittest

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio


def restart_while_live(test, name, crash=False):
    """A studio goes live; the server stops gracefully (or is killed) and starts again (on new ports)."""
    s = test.server
    studio = Studio(s, test.token, name)
    pub = Publisher(studio.rtmp_url(), seconds=60)
    try:
        studio.wait_media()
        if crash:
            s.kill9()
        else:
            test.assertEqual(s.stop(), 0, s.log())
    finally:
        pub.kill()
    s.start()
    return studio


class RestartWhileLiveTest(LiveServerTest):
    server_per_test = True

    def test_crash_while_live_then_studio_comes_back(self):
        studio = restart_while_live(self, "Студия с перезапуском", crash=True)
        studio.wait_state("intermission", timeout=10)
        again = Publisher(studio.rtmp_url(), seconds=3)
        try:
            studio.wait_media()
            self.assertEqual(studio.state(), "live")
            self.assertEqual(again.wait(), 0, again.stderr)
        finally:
            again.kill()
        studio.wait_state("ended", timeout=GRACE_S + 30)

    def test_graceful_stop_while_live_then_grace_expires(self):
        s = self.server
        studio = restart_while_live(self, "Студия без возврата")
        self.assertIn(studio.state(), ("intermission", "ended", "archived"))
        studio.wait_state("ended", timeout=GRACE_S + 30)
        self.assertRegex(s.log(), rf"event {studio.event_id} was (live|intermission) when the server stopped: "
                                  rf"waiting {GRACE_S} s for its studio")
        self.assertIn(f"event={studio.event_id}] ended: the studio did not come back within the grace period", s.log())


class GracefulRestartTest(LiveServerTest):
    """A graceful stop while live: the restarted server waits in intermission for the studio (a grace long enough
    that the wait is seen, not raced), and the same event goes live again when the studio reconnects."""
    env = {"SREDA_STUDIOS_RECONNECT_GRACE_S": "120"}
    server_per_test = True

    def test_graceful_stop_while_live_waits_in_intermission_and_the_studio_comes_back(self):
        s = self.server
        studio = restart_while_live(self, "Студия после остановки")
        studio.wait_state("intermission")
        # (Stored as it was at the stop: live, or intermission when the RTMP server closed the studio first.)
        self.assertRegex(s.log(), rf"event {studio.event_id} was (live|intermission) when the server stopped: "
                                  r"waiting 120 s for its studio")
        info = studio.live()
        self.assertEqual(info["state"], "intermission")
        self.assertIsNone(info.get("publisher"), "nobody publishes yet")
        again = Publisher(studio.rtmp_url(), seconds=60)
        try:
            info = studio.wait_media()
            self.assertEqual((info["state"], studio.state()), ("live", "live"))
            self.assertEqual(info["reconnects"], 1, "the same event continues")
            r = s.post(f"/api/events/{studio.event_id}/end", token=self.token)
            self.assertEqual((r.status, r.json["state"]), (200, "ended"))
        finally:
            again.kill()
        studio.wait_state("ended")


if __name__ == "__main__":
    unittest.main()
