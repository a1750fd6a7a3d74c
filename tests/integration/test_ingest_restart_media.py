"""A server that stops or crashes while a studio is live: after the restart the event waits in intermission
for its studio, continues when it comes back, and ends after the grace when it does not."""
import unittest

from media_helpers import GRACE_S, Publisher, Studio
from sreda_harness import Server


class RestartWhileLiveTest(unittest.TestCase):
    def setUp(self):
        self.server = Server(env={"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S)}).start()
        self.token = self.server.login()

    def tearDown(self):
        self.server.cleanup()

    def test_crash_while_live_then_studio_comes_back(self):
        s = self.server
        studio = Studio(s, self.token, "Студия с перезапуском")
        pub = Publisher(studio.rtmp_url(), seconds=30)
        try:
            studio.wait_media()
            s.kill9()
        finally:
            pub.kill()
        s.start()  # new ports
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
        studio = Studio(s, self.token, "Студия без возврата")
        pub = Publisher(studio.rtmp_url(), seconds=30)
        try:
            studio.wait_media()
            self.assertEqual(s.stop(), 0, s.log())
        finally:
            pub.kill()
        s.start()
        self.assertIn(studio.state(), ("intermission", "ended", "archived"))
        studio.wait_state("ended", timeout=GRACE_S + 30)


if __name__ == "__main__":
    unittest.main()
