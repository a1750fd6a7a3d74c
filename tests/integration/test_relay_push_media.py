"""Push relays: while an event is live, sreda sends its source to other servers over SRT and RTMP without
re-encoding. Two real sredas on 127.0.0.1: A relays an event to two studios of B (SRT, and RTMP as a studio
default); B's events go live, play as LL-HLS and are archived; A's studio drops and returns within its grace
and B's events go on; B restarts and A's relays reconnect by themselves. Targets that refuse, accept and stall,
or go away cost the event and the other relays nothing, and say why; a relay to an address the allow-list does
not name is refused before anything is reached. No stream key of a target ever reaches A's log."""
import os
import socket
import sqlite3
import threading
import time
import unittest

from media_helpers import GRACE_S, LADDER_ENV, Publisher, Studio, ffprobe, metric
from sreda_harness import Server, ServerTestCase, wait_for

RELAY_ENV = {"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S), "SREDA_RELAYS_RETRY_MIN_S": "1",
             "SREDA_RELAYS_RETRY_MAX_S": "2", "SREDA_RELAYS_CONNECT_TIMEOUT_S": "3"}


def add_relay(server, name, url, event_id=None, studio_id=None, rendition="source", enabled=True):
    """A push target for an event (or a studio's default for its events), as the desk will add it. Until the
    relays API exists it is written into the server's database before the event goes live. Returns its id."""
    now = int(time.time())
    with sqlite3.connect(os.path.join(server.data_dir, "sreda.db"), timeout=10) as db:
        cur = db.execute("INSERT INTO relays (event_id, studio_id, name, url, rendition, enabled, created_at, "
                         "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (event_id, studio_id, name, url, rendition, 1 if enabled else 0, now, now))
        return cur.lastrowid


def relay_state(server, event_id, relay_id, state):
    return metric(server, "sreda_relay_state", event=event_id, relay=relay_id, state=state) == 1


def end_event(server, token, event_id):
    r = server.post(f"/api/events/{event_id}/end", {}, token=token)
    assert r.status in (200, 202, 409), r


class StallingTarget:
    """A TCP server on 127.0.0.1 that accepts and then never reads (`close_at_once`: closes each connection as
    soon as it is accepted, a target that goes away)."""

    def __init__(self, close_at_once=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.close_at_once = close_at_once
        self.accepted = 0
        self.held = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.close_at_once:
                conn.close()
            else:
                self.held.append(conn)

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def playlist_segments(server, event_id):
    r = server.get(f"/live/{event_id}/source/index.m3u8")
    if r.status != 200:
        return 0
    seq = 0
    for line in r.text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            seq = int(line.split(":")[1])
    return seq + r.text.count("#EXTINF")


class PartnerTestCase(ServerTestCase):
    """A (the relaying server) per test; B (the partner) per class."""
    server_per_test = True

    @classmethod
    def server_env(cls):
        return {**RELAY_ENV, "SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        cls.b = Server(env={"SREDA_STUDIOS_RECONNECT_GRACE_S": "30"}).start()
        cls.b_token = cls.b.login()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def assert_no_key_in_log(self, *keys):
        log = self.server.log()
        for key in keys:
            self.assertNotIn(key, log)


class PushRelayTest(PartnerTestCase):

    def test_twin_cities_srt_and_rtmp_across_intermission_and_partner_restart(self):
        a, b = self.server, self.b
        studio = Studio(a, self.token, "Город А")
        over_srt = Studio(b, self.b_token, "Город Б: SRT")
        over_rtmp = Studio(b, self.b_token, "Город Б: RTMP")
        srt_relay = add_relay(a, "Б по SRT", f"srt://127.0.0.1:{b.srt_port}?streamid=publish:{over_srt.key}",
                              event_id=studio.event_id)
        rtmp_relay = add_relay(a, "Б по RTMP", f"rtmp://127.0.0.1:{b.rtmp_port}/live/{over_rtmp.key}",
                               studio_id=studio.id)  # the studio's default for its events
        relays = (srt_relay, rtmp_relay)
        pub = Publisher(studio.rtmp_url(), seconds=6)
        try:
            for target in (over_srt, over_rtmp):
                target.wait_state("live", timeout=30)
            for r in relays:
                wait_for(lambda: relay_state(a, studio.event_id, r, "sending"), 30, f"relay {r} to be sending")
            info = over_rtmp.wait_media()
            self.assertEqual((info["publisher"]["media"]["video"]["codec"],
                              info["publisher"]["media"]["video"]["width"]), ("h264", 320))
            self.assertEqual(over_srt.wait_media()["publisher"]["protocol"], "srt")
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        # A's studio drops and comes back within its grace: B's events go on (the same events, never ended).
        studio.wait_state("intermission")
        self.assertIn(over_srt.state(), ("live", "intermission"))
        self.assertIn(over_rtmp.state(), ("live", "intermission"))
        before = {t.event_id: playlist_segments(b, t.event_id) for t in (over_srt, over_rtmp)}
        pub = Publisher(studio.rtmp_url(), seconds=16)
        try:
            studio.wait_state("live")
            for t in (over_srt, over_rtmp):
                wait_for(lambda: playlist_segments(b, t.event_id) >= before[t.event_id] + 2, 30,
                         f"B's event {t.event_id} to go on after A's intermission")
                self.assertEqual(t.state(), "live")
            probe = ffprobe(f"http://127.0.0.1:{b.port}/live/{over_srt.event_id}/master.m3u8")
            self.assertEqual({s["codec_name"] for s in probe["streams"]}, {"aac", "h264"})
            # B restarts (on the same ports): A's relays reconnect by themselves.
            b.stop()
            b.args += ["--http-port", str(b.port), "--rtmp-port", str(b.rtmp_port), "--srt-port", str(b.srt_port)]
            b.start()
            for r in relays:
                wait_for(lambda: metric(a, "sreda_relay_reconnects_total", event=studio.event_id, relay=r) >= 1, 30,
                         f"relay {r} to try again")
                wait_for(lambda: relay_state(a, studio.event_id, r, "sending"), 30, f"relay {r} to send again")
            for t in (over_srt, over_rtmp):
                t.wait_state("live", timeout=30)
            self.assertGreater(metric(a, "sreda_relay_bytes_sent_total", event=studio.event_id, relay=rtmp_relay),
                               100_000)
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        # The event ends: the relays stop; B's events end and are archived.
        end_event(a, self.token, studio.event_id)
        studio.wait_state("ended")
        for t in (over_srt, over_rtmp):
            t.wait_state("intermission", timeout=30)
            end_event(b, self.b_token, t.event_id)
            t.wait_state("archived", timeout=60)
        probe = ffprobe(over_rtmp.playlist_url())
        self.assertGreater(float(probe["format"]["duration"]), 8.0)
        self.assertIn("stopped: ", a.log())
        self.assert_no_key_in_log(over_srt.key, over_rtmp.key)

    def test_failing_targets_cost_the_event_and_other_relays_nothing(self):
        a, b = self.server, self.b
        studio = Studio(a, self.token, "Город А: плохие адреса")
        good = Studio(b, self.b_token, "Город Б: хороший")
        stalling, leaving = StallingTarget(), StallingTarget(close_at_once=True)
        keys = {"refused": "refusedKEY-0123456789", "stalled": "stalledKEY-0123456789", "gone": "goneKEY-0123456789"}
        try:
            bad = {
                "refused": add_relay(a, "закрытый порт", f"rtmp://127.0.0.1:{closed_port()}/live/{keys['refused']}",
                                     event_id=studio.event_id),
                "stalled": add_relay(a, "молчит", f"rtmp://127.0.0.1:{stalling.port}/live/{keys['stalled']}",
                                     event_id=studio.event_id),
                "gone": add_relay(a, "уходит", f"rtmp://127.0.0.1:{leaving.port}/app/{keys['gone']}",
                                  event_id=studio.event_id),
            }
            good_relay = add_relay(a, "партнёр", f"rtmp://127.0.0.1:{b.rtmp_port}/live/{good.key}",
                                   event_id=studio.event_id)
            pub = Publisher(studio.rtmp_url(), seconds=12)
            try:
                wait_for(lambda: relay_state(a, studio.event_id, good_relay, "sending"), 30, "the good relay to send")
                good.wait_state("live", timeout=30)
                for name, r in bad.items():
                    wait_for(lambda: relay_state(a, studio.event_id, r, "reconnecting"), 30, f"{name} to be reconnecting")
                wait_for(lambda: stalling.accepted >= 1 and leaving.accepted >= 1, 30, "the bad targets to be tried")
                # The event's own playlist keeps growing, and the good relay keeps sending.
                segments = playlist_segments(a, studio.event_id)
                sent = metric(a, "sreda_relay_bytes_sent_total", event=studio.event_id, relay=good_relay)
                wait_for(lambda: playlist_segments(a, studio.event_id) >= segments + 2, 30, "A's playlist to grow")
                wait_for(lambda: metric(a, "sreda_relay_bytes_sent_total", event=studio.event_id,
                                        relay=good_relay) > sent + 50_000, 30, "the good relay to go on sending")
                self.assertTrue(relay_state(a, studio.event_id, good_relay, "sending"))
                self.assertEqual(pub.wait(), 0, pub.stderr)
            finally:
                pub.kill()
            # Each failure is logged with a reason and the masked address.
            log = a.log()
            for name, r in bad.items():
                lines = [l for l in log.splitlines() if f"relay={r}]" in l and "reconnecting: " in l]
                self.assertTrue(lines, f"no 'reconnecting' line for the {name} target:\n{log[-3000:]}")
                self.assertRegex(lines[0], r"reconnecting: rtmp://127\.0\.0\.1:\d+/\w+/\S+: \S.*")
            self.assertTrue(any("refused" in l.lower() for l in log.splitlines() if f"relay={bad['refused']}]" in l))
            end_event(a, self.token, studio.event_id)
            studio.wait_state("ended")
            end_event(b, self.b_token, good.event_id)
            self.assert_no_key_in_log(good.key, *keys.values())
        finally:
            stalling.close()
            leaving.close()


class RungRelayTest(PartnerTestCase):
    """A target may ask for a ladder rung instead of the source: it gets the rung's video (with the studio's
    audio), as the ladder encodes it."""

    @classmethod
    def server_env(cls):
        return {**super().server_env(), **LADDER_ENV, "SREDA_LADDER_DEFAULT": "small"}

    def test_a_rung_goes_to_its_target(self):
        a, b = self.server, self.b
        studio = Studio(a, self.token, "Город А: лестница")
        target = Studio(b, self.b_token, "Город Б: 240p")
        r = add_relay(a, "240p партнёру", f"rtmp://127.0.0.1:{b.rtmp_port}/live/{target.key}",
                      event_id=studio.event_id, rendition="240p")
        pub = Publisher(studio.rtmp_url(), seconds=8, size="480x360")
        try:
            media = target.wait_media()["publisher"]["media"]
            self.assertEqual((media["video"]["codec"], media["video"]["height"]), ("h264", 240))
            self.assertEqual(media["audio"]["codec"], "aac")
            self.assertEqual(studio.wait_media()["publisher"]["media"]["video"]["height"], 360)
            wait_for(lambda: playlist_segments(b, target.event_id) >= 2, 30, "B's playlist of the rung")
            self.assertTrue(relay_state(a, studio.event_id, r, "sending"))
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        end_event(a, self.token, studio.event_id)
        end_event(b, self.b_token, target.event_id)
        self.assert_no_key_in_log(target.key)


class AllowListTest(ServerTestCase):
    """relays.allowed_hosts empty: public addresses only, so a relay to 127.0.0.1 is refused, as a state."""
    env = RELAY_ENV

    def test_loopback_target_is_refused_without_being_reached(self):
        target = StallingTarget()
        try:
            studio = Studio(self.server, self.token, "Город А: без списка")
            r = add_relay(self.server, "внутренний адрес", f"rtmp://127.0.0.1:{target.port}/live/internalKEY-012345",
                          event_id=studio.event_id)
            pub = Publisher(studio.rtmp_url(), seconds=5)
            try:
                wait_for(lambda: relay_state(self.server, studio.event_id, r, "reconnecting"), 30,
                         "the relay to be refused")
                self.assertEqual(pub.wait(), 0, pub.stderr)
            finally:
                pub.kill()
            line = next(l for l in self.server.log().splitlines() if f"relay={r}]" in l and "reconnecting: " in l)
            self.assertIn("allowed_hosts", line)
            self.assertEqual(target.accepted, 0, "the target was reached")
            self.assertNotIn("internalKEY-012345", self.server.log())
        finally:
            target.close()


if __name__ == "__main__":
    unittest.main()
