"""A relay target that accepts the stream and then stalls in the middle of it: a platform whose server hangs.
nginx-rtmp takes the relay, then is stopped (SIGSTOP): it reads nothing more, its TCP window fills, then our
socket's buffer. What a curator notices:
  - the event goes on: its LL-HLS playlist keeps growing;
  - another relay of the same event keeps sending (its bytes grow) and says nothing is wrong;
  - the stalled relay says why in words in GET /api/events/{id}/live ("the target is not keeping up …", or
    once its connection has given up, reconnecting with the error), and counts what it drops (dropped_units);
  - the platform comes back (SIGCONT): the relay sends again by itself and its reason goes away.
The stream is a fast one (6 Mb/s, a picture x264 cannot shrink), so the buffers on the way fill in seconds."""
import signal
import unittest

from media_helpers import COPY, GRACE_S, Publisher, Studio, class_clip
from nginx_rtmp import NginxRtmp
from sreda_harness import ServerTestCase, wait_for
from test_relay_push_media import playlist_segments

NOT_KEEPING_UP = "the target is not keeping up"


class StallingTargetTest(ServerTestCase):
    @classmethod
    def server_env(cls):
        # The connection's own timeout (rtmp2sink's I/O timeout) at its default of 10 s; the relay's queue at 2 s.
        return {"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S), "SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1",
                "SREDA_RELAYS_CONNECT_TIMEOUT_S": "10", "SREDA_RELAYS_QUEUE_MS": "2000",
                "SREDA_RELAYS_RETRY_MIN_S": "1", "SREDA_RELAYS_RETRY_MAX_S": "2"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clip = class_clip(cls, "fast.flv", seconds=6, kbps=6000, keyint=60, noise=True)

    def setUp(self):
        super().setUp()
        self.stuck = NginxRtmp(record=False).start()
        self.addCleanup(self.stuck.stop)
        self.addCleanup(lambda: self.stuck.proc and self.stuck.proc.poll() is None and
                        self.stuck.proc.send_signal(signal.SIGCONT))  # first: a stopped nginx would not stop
        self.good = NginxRtmp(record=False).start()
        self.addCleanup(self.good.stop)

    def relay(self, studio, relay_id):
        return next(r for r in studio.live()["relays"] if r["id"] == relay_id)

    def test_a_target_that_stalls_mid_stream_costs_the_event_and_the_other_relay_nothing(self):
        s = self.server
        studio = Studio(s, self.token, "Зал: платформа зависает")
        ids = {}
        for name, url in (("зависает", self.stuck.url("stuck_0123456789abcdef")),
                          ("платформа", self.good.url("good_0123456789abcdef"))):
            r = s.post(f"/api/events/{studio.event_id}/relays", {"name": name, "url": url}, token=self.token)
            self.assertEqual(r.status, 201, r)
            ids[name] = r.json["id"]
        stuck, good = ids["зависает"], ids["платформа"]
        pub = Publisher(studio.rtmp_url(), seconds=120, inputs=["-stream_loop", "-1", "-i", self.clip], codecs=COPY)
        try:
            for r in (stuck, good):
                wait_for(lambda: self.relay(studio, r)["state"] == "sending" and self.relay(studio, r)["bytes_sent"]
                         > 1_000_000, 30, f"relay {r} to be sending")
            self.stuck.proc.send_signal(signal.SIGSTOP)
            segments = playlist_segments(s, studio.event_id)
            sent = self.relay(studio, good)["bytes_sent"]
            good_dropped = self.relay(studio, good)["dropped_units"]  # (audio before the first picture)
            dropped = self.relay(studio, stuck)["dropped_units"]

            # The stalled relay says so while it is still connected, and drops to its queue's limit.
            said = wait_for(lambda: (lambda x: x if NOT_KEEPING_UP in (x["last_error"] or "") else None)(
                self.relay(studio, stuck)), 40, "the stalled relay to say it is not keeping up", every=0.1)
            self.assertIn(said["state"], ("sending", "reconnecting"), said)
            self.assertRegex(said["last_error"], NOT_KEEPING_UP + r": it has taken nothing for \d+ s")
            wait_for(lambda: self.relay(studio, stuck)["dropped_units"] > dropped, 30, "the stalled relay to drop")
            # Meanwhile the event goes on, and the other relay sends, with nothing to say.
            wait_for(lambda: playlist_segments(s, studio.event_id) >= segments + 3, 30, "the event's playlist to grow")
            wait_for(lambda: self.relay(studio, good)["bytes_sent"] > sent + 3_000_000, 30, "the other relay to send")
            other = self.relay(studio, good)
            self.assertEqual((other["state"], other["last_error"], other["dropped_units"]),
                             ("sending", None, good_dropped), other)
            # Whatever the stalled relay's state now, it carries a reason.
            now = self.relay(studio, stuck)
            self.assertTrue(now["state"] in ("sending", "reconnecting") and now["last_error"], now)

            # The platform comes back: the relay sends again by itself, with nothing to say.
            self.stuck.proc.send_signal(signal.SIGCONT)
            before = self.relay(studio, stuck)["bytes_sent"]
            wait_for(lambda: (lambda x: x["state"] == "sending" and not x["last_error"] and
                              x["bytes_sent"] > before + 1_000_000)(self.relay(studio, stuck)), 40,
                     "the relay to send again after the platform came back")
        finally:
            pub.kill()
        log = s.log()
        self.assertIn(NOT_KEEPING_UP, log)
        self.assertNotIn("0123456789abcdef", log)


if __name__ == "__main__":
    unittest.main()
