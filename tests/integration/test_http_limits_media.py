"""The HTTP port under floods while a real studio publishes (issue 17): idle connections beyond the descriptor
limit, connect/close loops on held LL-HLS playlist requests, a flood of public listings at the store.
Each asserts what a curator or a viewer would notice: /healthz answers, the live playlist advances, the
recording grows, a viewer is not refused, a login and a publish decision still succeed."""
import http.client
import os
import re
import socket
import subprocess
import threading
import time
import unittest

from media_helpers import LiveServerTest, Studio, metric
from sreda_harness import SOURCE_DIR, wait_for


def publish_test(server, key, seconds):
    """scripts/publish-test --small: a real ffmpeg studio."""
    return subprocess.Popen([os.path.join(SOURCE_DIR, "scripts/publish-test"), "--small", key,
                             f"127.0.0.1:{server.rtmp_port}", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def gauge(server, name):
    """An unlabelled series of /metrics (media_helpers.metric reads labelled ones)."""
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+]+)$", server.get("/metrics").text, re.M)
    return float(m.group(1)) if m else 0.0


def last_msn(text):
    """The media sequence number of the last segment or part a live playlist lists."""
    seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    return seq + text.count("#EXTINF"), text.count("#EXT-X-PART:")


class LimitsServer(LiveServerTest):

    def start_studio(self, name, seconds=60):
        studio = Studio(self.server, self.token, name)
        pub = publish_test(self.server, studio.key, seconds)
        self.addCleanup(lambda: (pub.kill(), pub.wait()))
        studio.wait_media(timeout=60)
        wait_for(lambda: self.server.get(f"/live/{studio.event_id}/source/index.m3u8").status == 200, 60,
                 "the live playlist")
        return studio

    def playlist(self, studio):
        r = self.server.get(f"/live/{studio.event_id}/source/index.m3u8")
        self.assertEqual(r.status, 200, r)
        return r.text


class DescriptorFloodTest(LimitsServer):
    # Soft and hard limit 256 (so the server cannot raise it), a reserve of 64, and no per-address cap
    # in the way: 300 idle connections from one address go for the descriptors themselves.
    wrapper = ["prlimit", "--nofile=256:256", "--"]
    env = {"SREDA_SERVER_FD_RESERVE": "64", "SREDA_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "100000",
           "SREDA_SERVER_HEADER_TIMEOUT_S": "120"}

    def test_idle_flood_beyond_the_descriptor_limit_leaves_live_recording_and_healthz(self):
        studio = self.start_studio("Flood hall")
        bytes_before = gauge(self.server, "sreda_archive_bytes_written_total")
        msn_before = last_msn(self.playlist(studio))
        socks = []
        try:
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                socks.append(s)
            # While the flood is open: /healthz answers, the playlist advances, the recording grows.
            self.assertEqual(self.server.get("/healthz", timeout=10).status, 200)
            wait_for(lambda: last_msn(self.playlist(studio)) > msn_before, 30, "the live playlist to advance")
            wait_for(lambda: gauge(self.server, "sreda_archive_bytes_written_total") > bytes_before + 50_000, 30,
                     "the recording to grow")
            self.assertEqual(self.server.get("/healthz", timeout=10).status, 200)
        finally:
            for s in socks:
                s.close()
        self.assertEqual(gauge(self.server, "sreda_archive_recording_failures_total"), 0)
        self.assertGreater(metric(self.server, "sreda_http_refused_total", cause="idle_evicted"), 0)
        log = self.server.log()
        self.assertIn("descriptors: soft limit 256", log)
        self.assertNotIn("Too many open files", log)
        # One line per burst, not one per refusal.
        self.assertLessEqual(log.count("closing connections that sent nothing"), 2, log[-3000:])


class HeldRequestCancelTest(LimitsServer):
    env = {"SREDA_LIVE_MAX_HELD_REQUESTS": "50"}

    def test_closed_connections_do_not_keep_their_held_playlist_requests(self):
        studio = self.start_studio("Held hall")
        path = f"/live/{studio.event_id}/source/index.m3u8"
        # A connect/close loop of blocking reloads for the next segment, ten times the held slots.
        for _ in range(500):
            msn, _ = last_msn(self.playlist(studio)) if _ % 100 == 0 else (msn, 0)
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            s.sendall(f"GET {path}?_HLS_msn={msn + 1} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            s.close()
        # A viewer's blocking reload is held and answered, not refused with 503.
        msn, _ = last_msn(self.playlist(studio))
        r = self.server.get(f"{path}?_HLS_msn={msn + 1}", timeout=30)
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: gauge(self.server, "sreda_live_held_requests") < 10, 30, "the held list to empty")
        self.assertGreater(gauge(self.server, "sreda_live_held_cancelled_total"), 100)


class StoreFairnessTest(LimitsServer):
    # A small store queue so a flood of public listings fills it; the API rate limit out of the way.
    env = {"SREDA_STORE_QUEUE_MAX": "16", "SREDA_STORE_PUBLIC_QUEUE_MAX": "16",
           "SREDA_SERVER_API_REQUESTS_PER_S": "100000", "SREDA_SERVER_API_BURST": "100000"}

    def test_public_listing_flood_does_not_refuse_a_login_or_a_publish_decision(self):
        studio = Studio(self.server, self.token, "Fair hall")
        stop = threading.Event()
        counts = {"ok": 0, "busy": 0}
        lock = threading.Lock()

        def flood():
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            while not stop.is_set():
                try:
                    conn.request("GET", "/api/public/events")
                    r = conn.getresponse()
                    r.read()
                    with lock:
                        counts["ok" if r.status == 200 else "busy"] += 1
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            conn.close()

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(40)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: counts["busy"] > 0, 60, "the flood to fill the public lane")
            logins = [self.server.post("/api/login", {"username": "admin", "password": "correct horse battery"})
                      for _ in range(5)]
            self.assertEqual([r.status for r in logins], [200] * 5, logins)
            pub = publish_test(self.server, studio.key, 30)
            self.addCleanup(lambda: (pub.kill(), pub.wait()))
            studio.wait_media(timeout=60)  # the publish decision went through the store
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertGreater(gauge(self.server, "sreda_store_public_refused_total"), 0)


if __name__ == "__main__":
    unittest.main()
