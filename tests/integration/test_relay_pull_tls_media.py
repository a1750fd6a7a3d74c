"""Pulled studios over TLS, and the hosts of later playlists.

A partner city's sreda is behind its HTTPS front (nginx with deploy/front) and a partner's RTMP server (nginx-rtmp)
behind nginx's stream module with TLS; both certificates come from the test's own CA, which this server trusts only
through relays.ca_file (added to the system's CAs, never replacing them, and never skipping verification). So:
https://…/live/<id>/master.m3u8 and rtmps:// pulls go live; a front whose certificate no trusted CA signed is refused
with the reason in the studio's pull status; a relays.ca_file that cannot be read stops the start (exit 2) with the
configuration's other problems. And an HLS partner whose playlist, once the pull is running, names a segment on a
host outside relays.allowed_hosts: the pull stops with the reason, and that host never gets a request."""
import os
import shutil
import tempfile
import threading
import types
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from front_helpers import STREAM_MODULE, Front, TestCa
from media_helpers import LiveServerTest, Publisher, Studio
from nginx_rtmp import RTMP_MODULE, NginxRtmp
from sreda_harness import Server, wait_for
from test_relay_pull_media import PULL_ENV, pull_status, set_pull_url, wait_pull

NEEDS_NGINX = unittest.skipUnless(os.path.exists(STREAM_MODULE) and os.path.exists(RTMP_MODULE),
                                  "needs Debian's libnginx-mod-stream and libnginx-mod-rtmp")


@NEEDS_NGINX
class PullTlsTest(LiveServerTest):
    """One partner (a sreda, an nginx-rtmp) behind one front whose certificate the test's CA issued."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCa()
        cls.env = {**PULL_ENV, "SREDA_RELAYS_CA_FILE": cls.ca.cert}
        cleanups = [cls.ca.cleanup]
        try:
            super().setUpClass()
            cleanups.append(cls.server.cleanup)
            cls.partner = Server().start()
            cleanups.append(cls.partner.cleanup)
            cls.rtmp = NginxRtmp(record=False).start()
            cleanups.append(cls.rtmp.stop)
            # The front: https to the partner sreda, rtmps to the RTMP server.
            cls.front = Front(types.SimpleNamespace(port=cls.partner.port, rtmp_port=cls.rtmp.port), ca=cls.ca).start()
        except BaseException:
            for c in reversed(cleanups):
                c()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.front.stop()
            cls.rtmp.stop()
            cls.partner.cleanup()
            super().tearDownClass()
        finally:
            cls.ca.cleanup()

    def test_https_pull_of_a_partner_sreda_behind_its_front(self):
        theirs = Studio(self.partner, self.partner.login(), "Концертный зал за HTTPS")
        ours = Studio(self.server, self.token, "Город-побратим по HTTPS")
        pub = Publisher(theirs.rtmp_url(), seconds=10)
        try:
            theirs.wait_media()
            set_pull_url(self, ours.id, self.front.url(f"/live/{theirs.event_id}/master.m3u8"))
            p = ours.wait_media(timeout=40)["publisher"]
            self.assertEqual((p["protocol"], p["media"]["video"]["height"]), ("pull", 240))
            status = wait_pull(ours, lambda s: s["state"] == "receiving" and s["bytes_received"] > 0, "receiving")
            self.assertTrue(status["url"].startswith(f"https://127.0.0.1:{self.front.https_port}/"), status)
            self.assertIn("source/index.m3u8", status["variant"])
        finally:
            pub.kill()
            set_pull_url(self, ours.id, None)

    def test_rtmps_pull_through_nginx_stream_tls(self):
        ours = Studio(self.server, self.token, "Партнёр по RTMPS")
        pub = Publisher(self.rtmp.url("partner-rtmps-key-0042"), seconds=8)
        try:
            set_pull_url(self, ours.id, f"rtmps://127.0.0.1:{self.front.rtmps_port}/live/partner-rtmps-key-0042")
            p = ours.wait_media(timeout=40)["publisher"]
            self.assertEqual((p["protocol"], p["media"]["video"]["width"], p["media"]["audio"]["codec"]),
                             ("pull", 320, "aac"))
            wait_pull(ours, lambda s: s["state"] == "receiving" and s["bytes_received"] > 0, "receiving")
        finally:
            pub.kill()
            set_pull_url(self, ours.id, None)
        self.assertNotIn("partner-rtmps-key-0042", self.server.log())

    def test_a_certificate_no_trusted_ca_signed_is_refused_with_the_reason(self):
        # Another front, its certificate self-signed: neither the system's CAs nor relays.ca_file know it.
        stranger = Front(types.SimpleNamespace(port=self.partner.port, rtmp_port=self.rtmp.port)).start()
        self.addCleanup(stranger.stop)
        https = Studio(self.server, self.token, "Чужой сертификат HTTPS")
        rtmps = Studio(self.server, self.token, "Чужой сертификат RTMPS")
        set_pull_url(self, https.id, stranger.url("/live/1/master.m3u8"))
        set_pull_url(self, rtmps.id, f"rtmps://127.0.0.1:{stranger.rtmps_port}/live/stranger-key-0042")
        for studio in (https, rtmps):
            status = wait_pull(studio, lambda s: s["state"] == "reconnecting" and s["last_error"], "the refusal")
            self.assertIn("certificate was not accepted", status["last_error"])
            self.assertIn("relays.ca_file", status["last_error"])
            self.assertEqual(studio.state(), "scheduled")
            set_pull_url(self, studio.id, None)
        self.assertNotIn("stranger-key-0042", self.server.log())


class CaFileConfigTest(unittest.TestCase):
    def test_a_ca_file_that_cannot_be_read_stops_the_start_with_the_other_problems(self):
        with tempfile.TemporaryDirectory() as tmp:
            not_pem = os.path.join(tmp, "not-a-certificate.pem")
            with open(not_pem, "w") as f:
                f.write("hello\n")
            for path in (os.path.join(tmp, "missing.pem"), not_pem):
                server = Server(env={"SREDA_RELAYS_CA_FILE": path, "SREDA_RELAYS_QUEUE_MS": "1"})
                try:
                    self.assertEqual(server.start(expect_failure=True), 2, server.log())
                    log = server.log()
                    self.assertIn("relays.ca_file: ", log)
                    self.assertIn(path, log)
                    self.assertIn("relays.queue_ms", log)  # one list of every problem
                finally:
                    server.cleanup()


class ForbiddenHost:
    """An HTTP server on 127.0.0.2 (loopback, but not in the test's relays.allowed_hosts) counting requests."""

    def __init__(self):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                self.send_error(404)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class LiveHlsPartner:
    """ffmpeg writing a live HLS (1 s MPEG-TS segments) into a temp dir, served on 127.0.0.1. Once `turn()` is
    called, every segment that appears later is listed at `elsewhere` (an absolute URL on another host)."""

    def __init__(self, elsewhere):
        self.dir = tempfile.mkdtemp(prefix="sreda-hls-partner-")
        self.elsewhere = elsewhere
        self.turned = None  # the segments listed before the turn
        self.publisher = Publisher(os.path.join(self.dir, "index.m3u8"), seconds=60, fmt="hls",
                                   extra=["-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments"])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = os.path.basename(self.path.split("?")[0])
                try:
                    with open(os.path.join(outer.dir, name), "rb") as f:
                        body = f.read()
                except OSError:
                    self.send_error(404)
                    return
                if name.endswith(".m3u8"):
                    body = outer.rewrite(body.decode()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/index.m3u8"

    def segments(self):
        try:
            with open(os.path.join(self.dir, "index.m3u8")) as f:
                return [line for line in f.read().splitlines() if line.endswith(".ts")]
        except OSError:
            return []

    def rewrite(self, text):
        if self.turned is None:
            return text
        return "\n".join(self.elsewhere + line if line.endswith(".ts") and line not in self.turned else line
                         for line in text.splitlines()) + "\n"

    def turn(self):
        self.turned = set(self.segments())

    def stop(self):
        self.publisher.kill()
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class LaterPlaylistHostsTest(LiveServerTest):
    env = PULL_ENV  # relays.allowed_hosts = 127.0.0.1

    def test_a_playlist_that_later_names_a_host_outside_the_allow_list_stops_the_pull(self):
        forbidden = ForbiddenHost()
        self.addCleanup(forbidden.stop)
        partner = LiveHlsPartner(f"http://127.0.0.2:{forbidden.port}/")
        self.addCleanup(partner.stop)
        wait_for(lambda: len(partner.segments()) >= 3, 40, "the partner's first segments")
        studio = Studio(self.server, self.token, "Партнёр меняет адреса")
        set_pull_url(self, studio.id, partner.url)
        self.assertEqual(studio.wait_media(timeout=40)["publisher"]["protocol"], "pull")
        wait_pull(studio, lambda s: s["state"] == "receiving", "receiving")
        # From now on the partner's playlist lists its new segments on 127.0.0.2.
        partner.turn()
        status = wait_pull(studio, lambda s: "127.0.0.2" in s["last_error"], "the pull to stop with the reason")
        self.assertIn("relays.allowed_hosts", status["last_error"])
        self.assertNotEqual(status["state"], "receiving")
        # The next tries are refused before any media: the playlist still names that host.
        wait_pull(studio, lambda s: s["reconnects"] >= 1 and "127.0.0.2" in s["last_error"], "a refused retry")
        self.assertEqual(forbidden.requests, 0, "the host outside relays.allowed_hosts got a request")
        set_pull_url(self, studio.id, None)
        wait_for(lambda: pull_status(studio) is None, 20, "the pull to stop")


if __name__ == "__main__":
    unittest.main()
