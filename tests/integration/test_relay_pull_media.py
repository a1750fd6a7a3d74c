"""Pulled studios: a studio whose source is a partner's stream (studios.pull_url) goes live when that stream
arrives during its event's window, exactly like a publishing studio — from an SRT listener (ffmpeg) and from
another sreda's LL-HLS (/live/<id>/master.m3u8) — and a pull that cannot reach its source says why in the
studio's status while the server carries on."""
import ipaddress
import os
import socket
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio, decode_errors, ffprobe, metric
from nginx_rtmp import RTMP_MODULE as NGINX_RTMP, NginxRtmp
from sreda_harness import Server, wait_for

PULL_ENV = {"SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1", "SREDA_RELAYS_RETRY_MIN_S": "1",
            "SREDA_RELAYS_RETRY_MAX_S": "2", "SREDA_RELAYS_CONNECT_TIMEOUT_S": "3"}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_text(text):
    """A tiny HTTP server on 127.0.0.1 answering every GET with `text` (a partner's playlist)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def set_pull_url(test, studio_id, url):
    """PATCH /api/studios/{id} {"pull_url"}, as the desk does (the API tells the pull manager at once)."""
    r = test.server.request("PATCH", f"/api/studios/{studio_id}", body={"pull_url": url}, token=test.token)
    test.assertEqual(r.status, 200, r.text)


def pull_status(studio):
    return studio.server.get(f"/api/studios/{studio.id}", token=studio.token).json.get("pull")


def wait_pull(studio, condition, what, timeout=30):
    return wait_for(lambda: (lambda p: p if p and condition(p) else None)(pull_status(studio)), timeout, what)


def wait_partner_gone(test, studio, state="ended"):
    """The partner's stream has ended: intermission, then (nothing comes back within the grace) the event ends;
    its recording decodes cleanly. Returns its duration."""
    studio.wait_state("intermission", timeout=40)
    studio.wait_state(state, timeout=GRACE_S + 60)
    studio.wait_playlists_end()
    test.assertEqual(decode_errors(studio.playlist_url()), "")
    return float(ffprobe(studio.playlist_url())["format"]["duration"])


class PullTest(LiveServerTest):
    env = PULL_ENV

    def test_pull_from_an_srt_listener_goes_live_plays_and_is_archived(self):
        studio = Studio(self.server, self.token, "Город-побратим SRT")
        port = free_udp_port()
        # The partner: ffmpeg listening for our call, then sending its test card for 6 s.
        partner = Publisher(f"srt://127.0.0.1:{port}?mode=listener&latency=200000", seconds=6, fmt="mpegts")
        try:
            set_pull_url(self, studio.id, f"srt://127.0.0.1:{port}?latency=200")
            info = studio.wait_media(timeout=40)
            p = info["publisher"]
            self.assertEqual(p["protocol"], "pull")
            self.assertEqual((p["media"]["video"]["codec"], p["media"]["video"]["width"]), ("h264", 320))
            self.assertEqual(p["media"]["audio"]["codec"], "aac")
            status = wait_pull(studio, lambda s: s["state"] == "receiving" and s["bytes_received"] > 0, "receiving")
            self.assertEqual(status["url"].split("?")[0], f"srt://127.0.0.1:{port}")
            self.assertGreater(metric(self.server, "sreda_pull_bytes_total", studio=str(studio.id)), 0)
            self.assertEqual(self.server.get(f"/live/{studio.event_id}/master.m3u8").status, 200)
            wait_for(lambda: "#EXTINF" in self.server.get(f"/live/{studio.event_id}/source/index.m3u8").text, 20,
                     "a first segment")
            probe = ffprobe(f"http://127.0.0.1:{self.server.port}/live/{studio.event_id}/master.m3u8")
            self.assertIn("h264", [s["codec_name"] for s in probe["streams"]])
            self.assertEqual(partner.wait(), 0, partner.stderr)
        finally:
            partner.kill()
        # Nobody calls back within the grace: the event ends and is archived; the puller stops trying once the
        # window holds no event.
        duration = wait_partner_gone(self, studio, "archived")
        self.assertGreater(duration, 4.0)
        self.assertLess(duration, 7.0)
        wait_pull(studio, lambda s: s["state"] == "waiting", "the puller to wait (the event has ended)")

    def test_a_partner_that_calls_us_sreda_listening(self):
        studio = Studio(self.server, self.token, "Партнёр звонит сам")
        port = free_udp_port()
        set_pull_url(self, studio.id,
                     f"srt://127.0.0.1:{port}?mode=listener&streamid=twin-city&passphrase=twin-city-passphrase")
        wait_pull(studio, lambda s: s["state"] == "connecting", "the listener")
        # A caller with another streamid is not our partner; the partner with the passphrase is.
        stranger = Publisher(f"srt://127.0.0.1:{port}?streamid=someone-else&passphrase=twin-city-passphrase"
                             f"&pbkeylen=16", seconds=2, fmt="mpegts")
        self.assertNotEqual(stranger.wait(), 0)
        partner = Publisher(f"srt://127.0.0.1:{port}?streamid=twin-city&passphrase=twin-city-passphrase&pbkeylen=16",
                            seconds=5, fmt="mpegts")
        try:
            self.assertEqual(studio.wait_media(timeout=40)["publisher"]["protocol"], "pull")
            # The first publisher wins: the studio's own encoder cannot take over while the pull is on.
            own = Publisher(studio.rtmp_url(), seconds=2)
            self.assertNotEqual(own.wait(), 0)
            self.assertEqual(studio.live()["publisher"]["protocol"], "pull")
            self.assertEqual(partner.wait(), 0, partner.stderr)
        finally:
            partner.kill()
        self.assertGreater(wait_partner_gone(self, studio), 3.0)
        self.assertNotIn("twin-city-passphrase", self.server.log())

    def test_pull_from_another_sredas_hls(self):
        partner = Server(env={"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S)}).start()
        self.addCleanup(partner.cleanup)
        theirs = Studio(partner, partner.login(), "Концертный зал")
        ours = Studio(self.server, self.token, "Трансляция из города-побратима")
        pub = Publisher(theirs.rtmp_url(), seconds=12)
        try:
            theirs.wait_media()
            set_pull_url(self, ours.id,
                         f"http://127.0.0.1:{partner.port}/live/{theirs.event_id}/master.m3u8")
            p = ours.wait_media(timeout=40)["publisher"]
            self.assertEqual((p["protocol"], p["media"]["video"]["height"]), ("pull", 240))
            status = wait_pull(ours, lambda s: s["state"] == "receiving", "receiving")
            # The partner's "source" variant (its studio's own stream), not its audio-only one.
            self.assertIn("source/index.m3u8", status["variant"])
            self.assertIn("320x240", status["variant"])
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        # Their event ends (the grace passes): its playlist ends, ours goes to intermission, then ends too.
        theirs.wait_state("ended", timeout=GRACE_S + 30)
        self.assertGreater(wait_partner_gone(self, ours), 4.0)
        # Their finished playlist is not pulled again (it would replay the concert as a new one).
        wait_pull(ours, lambda s: s["state"] == "waiting", "the puller to wait (the event has ended)")

    @unittest.skipUnless(os.path.exists(NGINX_RTMP), "needs Debian's libnginx-mod-rtmp")
    def test_pull_from_an_rtmp_server(self):
        partner = NginxRtmp(record=False).start()
        self.addCleanup(partner.stop)
        studio = Studio(self.server, self.token, "Партнёр по RTMP")
        url = f"rtmp://127.0.0.1:{partner.port}/live/partner-stream-key-0042"
        pub = Publisher(url, seconds=6)
        try:
            set_pull_url(self, studio.id, url)
            p = studio.wait_media(timeout=40)["publisher"]
            self.assertEqual((p["protocol"], p["media"]["video"]["width"], p["media"]["audio"]["codec"]),
                             ("pull", 320, "aac"))
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        self.assertGreater(wait_partner_gone(self, studio), 3.0)
        self.assertNotIn("partner-stream-key-0042", self.server.log())

    def test_a_pull_that_cannot_reach_its_source_says_why(self):
        nobody = Studio(self.server, self.token, "Никто не слушает")
        port = free_udp_port()
        set_pull_url(self, nobody.id, f"srt://127.0.0.1:{port}?passphrase=secret-passphrase-42")
        status = wait_pull(nobody, lambda s: s["state"] == "reconnecting" and s["last_error"], "the failed try")
        self.assertIn(f"127.0.0.1:{port}", status["last_error"])
        self.assertNotIn("secret-passphrase-42", status["url"] + status["last_error"])
        wait_pull(nobody, lambda s: s["reconnects"] >= 1, "a second try")
        # An address outside relays.allowed_hosts is never reached; the key is not shown. 10.11.12.13 written as
        # one number: the API takes it for a host name (it looks no name up), the puller resolves it and refuses.
        internal = Studio(self.server, self.token, "Внутренний адрес")
        as_number = int(ipaddress.IPv4Address("10.11.12.13"))
        set_pull_url(self, internal.id, f"rtmp://{as_number}/live/very-secret-stream-key")
        status = wait_pull(internal, lambda s: s["last_error"], "the refusal")
        self.assertIn("10.11.12.13", status["last_error"])
        self.assertIn("relays.allowed_hosts", status["last_error"])
        self.assertNotIn("very-secret-stream-key", status["url"] + status["last_error"])
        # A playlist on an allowed host whose segments are on another host: those are held to the list too.
        elsewhere = Studio(self.server, self.token, "Сегменты в другом месте")
        playlist = serve_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\n"
                              "http://10.11.12.14/seg0.m4s\n")
        self.addCleanup(playlist.shutdown)
        set_pull_url(self, elsewhere.id, f"http://127.0.0.1:{playlist.server_port}/index.m3u8")
        status = wait_pull(elsewhere, lambda s: "10.11.12.14" in s["last_error"], "the segments' host refused")
        self.assertIn("relays.allowed_hosts", status["last_error"])
        # No event went live; the server serves on, and a studio publishing itself is unaffected.
        self.assertEqual((nobody.state(), internal.state(), elsewhere.state()), ("scheduled",) * 3)
        studio = Studio(self.server, self.token, "Обычная студия")
        studio.publish(3)
        log = self.server.log()
        self.assertNotIn("secret-passphrase-42", log)
        self.assertNotIn("very-secret-stream-key", log)
        # Without a pull_url the studio is not pulled any more.
        set_pull_url(self, nobody.id, None)
        wait_for(lambda: pull_status(nobody) is None, 20, "the pull to stop")


class PullReconnectTest(LiveServerTest):
    """A grace long enough for the puller's retries (1 s, then 2 s) to find the partner back."""
    env = {**PULL_ENV, "SREDA_STUDIOS_RECONNECT_GRACE_S": "15"}

    def test_the_partner_drops_and_comes_back_within_the_grace_as_the_same_event(self):
        studio = Studio(self.server, self.token, "Партнёр с перерывом")
        port = free_udp_port()
        listener = f"srt://127.0.0.1:{port}?mode=listener&latency=200000"
        first = Publisher(listener, seconds=3, fmt="mpegts")
        try:
            set_pull_url(self, studio.id, f"srt://127.0.0.1:{port}")
            studio.wait_media(timeout=40)
            self.assertEqual(first.wait(), 0, first.stderr)
        finally:
            first.kill()
        studio.wait_state("intermission")
        second = Publisher(listener, seconds=3, fmt="mpegts")
        try:
            info = wait_for(lambda: (lambda i: i if i["state"] == "live" and i.get("publisher") else None)(
                studio.live()), 30, "the partner back")
            self.assertEqual((info["event_id"], info["reconnects"], info["publisher"]["protocol"]),
                             (studio.event_id, 1, "pull"))
            self.assertEqual(second.wait(), 0, second.stderr)
        finally:
            second.kill()
        studio.wait_state("intermission")
        self.assertEqual(self.server.request("POST", f"/api/events/{studio.event_id}/end", token=self.token).status,
                         200)
        studio.wait_state("ended")
        studio.wait_playlists_end()
        # One event, both halves in it.
        duration = float(ffprobe(studio.playlist_url())["format"]["duration"])
        self.assertGreater(duration, 5.0)


if __name__ == "__main__":
    unittest.main()
