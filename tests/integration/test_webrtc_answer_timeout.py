"""The answer timeout (webrtc.answer_timeout_ms) of WHIP and WHEP against the real binary: a publish the server
cannot answer in time gets 503 with Retry-After and a reason in words, counted in /metrics
(sreda_ingest_refused_total{protocol="whip",reason="answer_timeout"}), and leaves nothing behind: no WHIP session,
and the studio is not left "publishing" (its next publish is answered, 201). A viewer's WHEP offer waiting as long
gets 503 answer_timeout with Retry-After, counted (sreda_whep_refused_total{reason="answer_timeout"}).

What makes it happen for real is the publish decision waiting on the database: the timeout counts from the POST,
and the hub asks the store thread for the studio's event first (WHEP: for the event's real-time flag). Here that thread is still busy with an earlier
write (a curator adding a studio), which waits up to SQLite's busy timeout (5 s) while another program holds the
database's write lock, as a backup or a stuck disk would. A STUN or TURN
server that never answers delays the answer by at most webrtc.gather_timeout_ms (below answer_timeout_ms), so with
the default bounds it causes no timeout; with the two bounds close together it does, for the whole WHEP answer
(test_whep_answer_timeout_media)."""
import json
import os
import re
import sqlite3
import threading
import time
import unittest

from media_helpers import Publisher, Studio, metric
from sreda_harness import SOURCE_DIR, ServerTestCase, wait_for
from test_webrtc_http import one, raw

OFFER = os.path.join(SOURCE_DIR, "tests/unit/data/sdp/chromium-156-whip-sendonly.sdp")


def whip_sessions(server):
    """The gauge sreda_whip_sessions (no labels)."""
    m = re.search(r"^sreda_whip_sessions ([0-9.e+]+)$", server.get("/metrics").text, re.M)
    assert m, "the gauge sreda_whip_sessions in /metrics"
    return float(m.group(1))


class AnswerTimeoutTest(ServerTestCase):
    # 2 s: well under SQLite's busy timeout (5 s), after which the store would give up and refuse by itself.
    env = {"SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_ANSWER_TIMEOUT_MS": "2000",
           "SREDA_WEBRTC_GATHER_TIMEOUT_MS": "500"}

    def publish(self, studio):
        with open(OFFER, "rb") as f:
            offer = f.read()
        return raw(self.server, "POST", f"/whip/{studio.id}", offer,
                   {"Content-Type": "application/sdp", "Authorization": f"Bearer {studio.key}"})

    def watch(self, studio):
        """A WHEP offer for the studio's event (its text is all the route checks before the event's look-up)."""
        with open(OFFER, "rb") as f:
            return raw(self.server, "POST", f"/whep/{studio.event_id}", f.read(), {"Content-Type": "application/sdp"})

    def timed(self, results, name, post):
        started = time.monotonic()
        results[name] = post() + (time.monotonic() - started,)

    def sessions(self):
        return whip_sessions(self.server)

    def test_a_publish_not_answered_in_time_gets_503_and_leaves_nothing_behind(self):
        studio = Studio(self.server, self.token, self.next_name("Timeout"))
        db = sqlite3.connect(os.path.join(self.server.data_dir, "sreda.db"), timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the write lock, held by another program
        added = []
        curators = [threading.Thread(target=lambda name=self.next_name("Waiting"): added.append(
            self.server.post("/api/studios", {"name": name}, token=self.token))) for _ in range(2)]
        try:
            for c in curators:
                c.start()
            # The store thread is stuck: one write waits in it, the other in its queue.
            wait_for(lambda: re.search(r"^sreda_store_queue_depth [1-9]", self.server.get("/metrics").text, re.M),
                     10, "the store thread waiting on the lock")
            # A publisher and a viewer at once, both waiting on the store thread.
            results = {}
            posts = [threading.Thread(target=self.timed, args=(results, "whip", lambda: self.publish(studio))),
                     threading.Thread(target=self.timed, args=(results, "whep", lambda: self.watch(studio)))]
            for p in posts:
                p.start()
            for p in posts:
                p.join(30)
        finally:
            db.execute("ROLLBACK")
            db.close()
            for c in curators:
                c.join(30)
        self.assertEqual([r.status for r in added], [201, 201], "the curators' writes went through after the lock")
        whip_error = json.loads(results["whip"][2] or b"{}").get("error", {})
        if results["whip"][0] == 503 and whip_error.get("code") == "webrtc_unavailable":
            self.skipTest(f"no WebRTC back end in this build: {whip_error}")
        status, headers, body, waited = results["whep"]
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["error"]["code"], "answer_timeout")
        self.assertEqual(one(headers, "retry-after"), "5")
        self.assertGreaterEqual(waited, 1.9, "not before webrtc.answer_timeout_ms")
        self.assertEqual(metric(self.server, "sreda_whep_refused_total", reason="answer_timeout"), 1)

        status, headers, body, waited = results["whip"]
        error = json.loads(body or b"{}").get("error", {})
        self.assertEqual(status, 503, body)
        self.assertEqual(error, {"code": "busy", "message": "the server could not answer in time; try again",
                                 "retry_after_s": 5})
        self.assertEqual(one(headers, "retry-after"), "5")
        self.assertGreaterEqual(waited, 1.9, "not before webrtc.answer_timeout_ms")
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="whip", reason="answer_timeout"), 1)
        wait_for(lambda: self.sessions() == 0, 10, "no WHIP session left")
        wait_for(lambda: any("closed: no answer within webrtc.answer_timeout_ms" in line
                             for line in self.server.log_lines_copy()), 10, "the session's closing line")

        # The late decision is turned down (the publisher left); the studio is free: its next publish is answered.
        # A busy machine may miss the 2 s once: the client tries again after Retry-After, as a browser would.
        for _ in range(3):
            status, headers, body = self.publish(studio)
            if status != 503:
                break
            time.sleep(int(one(headers, "retry-after") or 1))
        self.assertEqual(status, 201, body)
        self.assertTrue(body.startswith(b"v=0"), body)
        location = one(headers, "location")
        self.assertEqual(self.sessions(), 1)
        self.assertEqual(raw(self.server, "DELETE", location, headers={"Authorization": f"Bearer {studio.key}"})[0], 200)
        wait_for(lambda: self.sessions() == 0, 10, "the session gone after its DELETE")


class LockedDatabaseAdHocTest(ServerTestCase):
    """studios.allow_unscheduled with the database write-locked: a studio with nothing scheduled gets an event of its
    own, whose insert waits for the lock until SQLite's busy timeout (5 s) and fails. That is the server's trouble,
    not the studio's: a WHIP publish gets 503 busy with Retry-After (not 403 no_event), an RTMP publisher hears
    that the server is busy, both counted (sreda_ingest_refused_total{reason="database"}); nothing is left behind
    and, once the lock is gone, the studio goes live with an ad-hoc event. The answer timeout is set above the busy
    timeout, so the refusal is the look-up's own, not the timeout's."""
    env = {"SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_ANSWER_TIMEOUT_MS": "15000",
           "SREDA_WEBRTC_GATHER_TIMEOUT_MS": "500", "SREDA_STUDIOS_ALLOW_UNSCHEDULED": "true"}

    def publish(self, studio):
        with open(OFFER, "rb") as f:
            return raw(self.server, "POST", f"/whip/{studio.id}", f.read(),
                       {"Content-Type": "application/sdp", "Authorization": f"Bearer {studio.key}"})

    def test_a_publish_whose_ad_hoc_event_cannot_be_written_is_told_busy(self):
        studio = Studio(self.server, self.token, self.next_name("Unscheduled"), minutes_from_now=None)
        db = sqlite3.connect(os.path.join(self.server.data_dir, "sreda.db"), timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the write lock, held by another program
        try:
            status, headers, body = self.publish(studio)
            rtmp = Publisher(studio.rtmp_url(), seconds=30)
            rtmp_code = rtmp.wait(timeout=60)
        finally:
            db.execute("ROLLBACK")
            db.close()
        error = json.loads(body or b"{}").get("error", {})
        if status == 503 and error.get("code") == "webrtc_unavailable":
            self.skipTest(f"no WebRTC back end in this build: {error}")
        self.assertEqual(status, 503, body)
        self.assertEqual(error, {"code": "busy", "message": "the server is busy; try again", "retry_after_s": 5})
        self.assertEqual(one(headers, "retry-after"), "5")
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="whip", reason="database"), 1)
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="whip", reason="no_event"), 0)
        wait_for(lambda: whip_sessions(self.server) == 0, 10, "no WHIP session left")

        self.assertNotEqual(rtmp_code, 0, "the RTMP publisher was not refused")
        self.assertIn("the server is busy; try again", rtmp.stderr, "ffmpeg shows the server's reason")
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="database"), 1)
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="no_event"), 0)

        # The lock gone, the same publish is answered: the studio gets its ad-hoc event.
        status, headers, body = self.publish(studio)
        self.assertEqual(status, 201, body)
        location = one(headers, "location")
        self.assertEqual(raw(self.server, "DELETE", location, headers={"Authorization": f"Bearer {studio.key}"})[0], 200)


if __name__ == "__main__":
    unittest.main()
