"""The hostile campaign (issue 17): every attack a hostile visitor tried, one after another, against one real
sreda on 127.0.0.1 while a studio publishes (a real ffmpeg, RTMP, 320x240) and a viewer polls the live LL-HLS
playlist. The server runs with the usual soft limit of 1,024 descriptors (prlimit), as scripts/run would.

After each attack it asserts what a curator cares about: the live playlist the viewer polls keeps advancing,
the event's recording keeps growing, /healthz answers, the server's peak RSS (VmHWM) stays within idle +
100 MiB, the public rating has not moved (beyond ws.max_ratings_per_address for the rating attack), and the
server's log has a line naming the refusal (WHIP, issue 24: an offer flood and malformed offers too). At the
end the studio stops and the recording is archived and plays. Figures (RSS before/after each attack) are
printed as [figures] lines.

Bounded in time: every wait is a condition with a generous deadline; the whole campaign takes about two
minutes on two cores. Helpers come from tests/integration (the server harness, the RTMP attacker, the
audience client)."""
import asyncio
import http.client
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "../integration")]

import rtmp_attacker as rtmp  # noqa: E402
import srt_attacker as srt  # noqa: E402
from audience_client import rate_once  # noqa: E402
from live_front_client import Conn  # noqa: E402
from media_helpers import Studio, decode_errors, ffprobe, metric  # noqa: E402
from sreda_harness import ADMIN_PASSWORD, SOURCE_DIR, Server, wait_for  # noqa: E402

RSS_BUDGET_KIB = 100 * 1024  # peak RSS may grow at most this much over idle, whatever the attack
RATING_CAP = 20              # ws.max_ratings_per_address (default)
HONEST = 5                   # honest viewers, each on an address of their own, give 5 stars
VIEWER_ADDRESS = "127.0.0.2"  # the viewer polling the playlist: an address no attack uses
GRACE_S = 4


def until(condition, timeout, what):
    """wait_for at a pace the API's per-address rate allows (the test's own checks come from 127.0.0.1)."""
    return wait_for(condition, timeout, what, every=0.25)


def publish_test(server, key, seconds):
    """scripts/publish-test --small: colour bars 320x240 with a tone, H.264/AAC over RTMP, in real time."""
    return subprocess.Popen([os.path.join(SOURCE_DIR, "scripts/publish-test"), "--small", key,
                             f"127.0.0.1:{server.rtmp_port}", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def http_from(server, source, timeout=30):
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout, source_address=(source, 0))


class PlaylistViewer:
    """A viewer polling the live playlist (keep-alive, from its own address) three times a second; it remembers
    the last media sequence it saw (segments listed + the sequence of the first) and every failure."""

    def __init__(self, server, event_id):
        self.server = server
        self.path = f"/live/{event_id}/source/index.m3u8"
        self.position = 0
        self.polls = 0
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        conn = None
        while not self._stop.is_set():
            try:
                conn = conn or http_from(self.server, VIEWER_ADDRESS, timeout=10)
                conn.request("GET", self.path)
                r = conn.getresponse()
                body = r.read().decode("utf-8", "replace")
                with self._lock:
                    self.polls += 1
                    if r.status == 200:
                        m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", body)
                        self.position = max(self.position, (int(m.group(1)) if m else 0) + body.count("#EXTINF"))
                    else:
                        self.failures.append(f"{r.status} {body[:100]}")
            except (OSError, http.client.HTTPException) as e:
                with self._lock:
                    self.failures.append(repr(e))
                if conn:
                    conn.close()
                conn = None
            self._stop.wait(0.3)
        if conn:
            conn.close()

    def seen(self):
        with self._lock:
            return self.position

    def stop(self):
        self._stop.set()
        self._thread.join(10)


class HostileCampaign(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # the attackers' sockets
        cls.server = Server(env={
            "SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S),
            "SREDA_SERVER_HEADER_TIMEOUT_S": "3",        # slowloris is closed within seconds
            "SREDA_LIVE_MAX_HELD_REQUESTS": "50",         # the connect/close loop reaches the cap quickly
            "SREDA_SERVER_API_REQUESTS_PER_S": "40",      # room for the test's own checks; a flood is far above
            "SREDA_SERVER_API_BURST": "80",
        }, wrapper=["prlimit", "--nofile=1024:1024", "--"]).start()
        cls.token = cls.server.login()
        cls.figures = []

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    # -- what a curator cares about --

    def rating(self, event_id):
        r = self.server.get(f"/api/public/events/{event_id}")
        self.assertEqual(r.status, 200, r)
        return r.json["rating"]

    def recorded_bytes(self):
        rec = self.studio.live().get("recording") or {}
        return rec.get("bytes") or 0

    def rss(self):
        return rtmp.vm_kib(self.pid, "VmHWM"), rtmp.vm_kib(self.pid, "VmRSS")

    def attack(self, name, run, log_pattern):
        """Runs one attack, then checks the concert, its recording, the server and the rating; the log lines
        written since the attack began must name the refusal (log_pattern)."""
        with self.subTest(attack=name):
            lines_before = len(self.server.log_lines_copy())
            seen, recorded = self.viewer.seen(), self.recorded_bytes()
            hwm_before, rss_before = self.rss()
            started = time.monotonic()
            run()
            took = time.monotonic() - started
            until(lambda: self.viewer.seen() > seen, 30, f"{name}: the viewer's live playlist to advance")
            until(lambda: self.recorded_bytes() > recorded, 30, f"{name}: the recording to grow")
            self.assertEqual(self.server.get("/healthz", timeout=10).status, 200, f"{name}: /healthz")
            self.assertEqual(self.studio.state(), "live", f"{name}: the event is live")
            hwm, rss = self.rss()
            self.figures.append(f"{name}: {took:.1f} s; VmHWM {hwm_before // 1024} → {hwm // 1024} MiB, "
                                f"VmRSS {rss_before // 1024} → {rss // 1024} MiB (idle {self.idle_kib // 1024} MiB)")
            self.assertLessEqual(hwm - self.idle_kib, RSS_BUDGET_KIB,
                                 f"{name}: peak RSS {hwm // 1024} MiB vs {self.idle_kib // 1024} MiB idle")
            self.assertEqual(self.rating(self.studio.event_id), self.expected_rating, f"{name}: the public rating")
            new = until(lambda: [l for l in self.server.log_lines_copy()[lines_before:]
                                    if re.search(log_pattern, l)], 10, f"{name}: a log line matching {log_pattern!r}")
            self.figures.append(f"{name}: log: {new[0][:220]}")

    # -- the attacks --

    def rtmp_big_amf0(self):
        """Attack 1: chunk size 8 MiB and one 8 MiB AMF0 strict array of nulls, four connections at once."""
        results = []
        threads = [threading.Thread(target=lambda: results.append(rtmp.big_amf0_command(self.server.rtmp_port)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertEqual(len(results), 4)
        for closed_after, _ in results:
            self.assertIsNotNone(closed_after, "the server closed every attacker")

    def rtmp_silent(self):
        """64 silent connections from one address and 64 from 64 others, kept open (reopened when closed)."""
        same = rtmp.silent_connections(self.server.rtmp_port, 64)
        flood = rtmp.SilentFlood(self.server.rtmp_port, 64)
        try:
            wait_for(lambda: sum(rtmp.closed_by_peer(s) for s in same) >= 64 - 8, 30,
                     "the per-address cap to close the excess")
            wait_for(lambda: len([s for s in flood.socks.values() if s is not None]) >= 60, 30, "the flood open")
            self.assertEqual(self.studio.state(), "live")
        finally:
            flood.stop()
            for s in same:
                s.close()

    def srt_handshake_flood(self):
        """200 SRT callers at once (a valid key, 40 from each of five addresses), then all closed."""
        connected, refused = srt.handshake_flood(self.server.srt_port, f"publish:{self.srt_studio.key}",
                                                 [f"127.0.0.{30 + i}" for i in range(5)], 40)
        self.figures.append(f"SRT handshake flood: {connected} callers connected, {refused} refused")
        self.assertEqual(connected + refused, 200)
        self.assertLessEqual(connected, 1, "one publisher per studio")
        wait_for(lambda: metric(self.server, "sreda_ingest_refused_total", protocol="srt", reason="already_live") > 0,
                 30, "the refusals counted")

    def http_idle_flood(self):
        """1,100 idle HTTP connections (from 1,100 addresses, reopened when closed): beyond the descriptors."""
        flood = rtmp.SilentFlood(self.server.port, hosts=[f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(1100)])
        try:
            wait_for(lambda: metric(self.server, "sreda_http_refused_total", cause="idle_evicted") > 0, 60,
                     "the flood to reach the descriptor ceiling")
            # While the flood is at the ceiling: a viewer gets through, the concert goes on.
            seen = self.viewer.seen()
            self.assertEqual(self.server.get("/healthz", timeout=10).status, 200)
            self.assertEqual(self.server.get(f"/live/{self.studio.event_id}/source/index.m3u8").status, 200)
            wait_for(lambda: self.viewer.seen() > seen, 30, "the playlist to advance during the flood")
        finally:
            flood.stop()
        self.assertNotIn("Too many open files", self.server.log())

    def held_request_loop(self):
        """Blocking playlist reloads for the next segment, each connection closed at once, until the held list
        (live.max_held_requests = 50 here) was full of closed connections' requests."""
        path = f"/live/{self.studio.event_id}/source/index.m3u8"
        position = self.viewer.seen()
        for i in range(3000):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            s.sendall(f"GET {path}?_HLS_msn={position + 1} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            s.close()
            if i % 100 == 99 and any("reached live.max_held_requests" in l for l in self.server.log_lines_copy()):
                break
        r = self.server.get(f"{path}?_HLS_msn={self.viewer.seen() + 1}", timeout=30)
        self.assertEqual(r.status, 200, "a viewer's blocking reload is held and answered")

    def slowloris(self):
        """50 connections that send a request line and then a header line a second, never finishing: 25 for
        the live playlist (the live front's: server.header_timeout_s) and 25 for the API (libwebsockets' own timeout)."""
        conns = [Conn(self.server.port) for _ in range(50)]
        for i, c in enumerate(conns):
            path = f"/live/{self.studio.event_id}/source/index.m3u8" if i % 2 else "/api/public/events"
            c.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode())
        closed = set()
        end = time.monotonic() + 30
        while len(closed) < len(conns) and time.monotonic() < end:
            for i, c in enumerate(conns):
                if i in closed:
                    continue
                try:
                    if rtmp.closed_by_peer(c.sock):
                        closed.add(i)
                    else:
                        c.send(b"X-Slow: 1\r\n")
                except OSError:
                    closed.add(i)
            time.sleep(1)
        for c in conns:
            c.close()
        self.assertEqual(len(closed), len(conns), "every slowloris connection closed by the server")
        self.assertGreaterEqual(metric(self.server, "sreda_http_refused_total", cause="header_timeout"), 25)

    def pipelining(self):
        """One write: 20 live playlist requests, an API request, and 4 KiB more pipelined behind it."""
        c = Conn(self.server.port)
        live = f"GET /live/{self.studio.event_id}/source/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        tail = b"GET /api/public/events HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 128
        c.send(live * 20 + tail)
        statuses = [c.response()[0] for _ in range(21)]
        self.assertEqual(statuses, [200] * 20 + [431])
        self.assertTrue(c.closed_by_server())
        c.close()

    def oversized_header(self):
        """Ten requests with a 9,000-byte header."""
        for _ in range(10):
            c = Conn(self.server.port)
            c.send(b"GET /live/1/source/index.m3u8 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
            self.assertEqual(c.response()[0], 431)
            self.assertTrue(c.closed_by_server())
            c.close()

    def flood(self, source, method, path, each, body=None, headers=None):
        """`each` requests on each of four keep-alive connections from `source`, as fast as they go: the statuses."""
        statuses = []

        def client():
            conn = http_from(self.server, source)
            for _ in range(each):
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                r.read()
                statuses.append(r.status)
            conn.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return statuses

    def api_flood(self):
        """300 public listings as fast as four keep-alive connections from one address can ask."""
        statuses = self.flood("127.0.0.77", "GET", "/api/public/events", 75)
        self.assertEqual(len(statuses), 300)
        self.assertGreater(statuses.count(429), 100, "most of the flood refused (429)")
        self.figures.append(f"API request flood: {statuses.count(200)} answered, {statuses.count(429)} refused (429)")
        conn = http_from(self.server, "127.0.0.3")  # someone else at the same moment
        conn.request("GET", "/api/public/events")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def login_flood(self):
        """30 password guesses from one address; a curator elsewhere still logs in."""
        statuses = []
        conn = http_from(self.server, "127.0.0.78")
        for i in range(30):
            conn.request("POST", "/api/login", body=f'{{"username":"admin","password":"guess {i}"}}',
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
        conn.close()
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[5:], [429] * 25)
        conn = http_from(self.server, "127.0.0.79")
        conn.request("POST", "/api/login", body=f'{{"username":"admin","password":"{ADMIN_PASSWORD}"}}',
                     headers={"Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def webrtc_requests(self):
        """WHIP: 200 offers as fast as four keep-alive connections from one address can send them, an offer of
        16 KiB + 1 byte, one of 10,000 lines within the size, a wrong content type, DELETE of an unknown session."""
        studio_id = self.studio.id
        offer = b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        sdp = {"Content-Type": "application/sdp", "Authorization": "Bearer not-a-stream-key"}
        refused_before = metric(self.server, "sreda_http_refused_total", cause="webrtc_rate")
        statuses = self.flood("127.0.0.80", "POST", f"/whip/{studio_id}", 50, offer, sdp)
        self.assertEqual(len(statuses), 200)
        self.assertGreater(statuses.count(429), 50, "most of the flood refused (429)")
        self.assertFalse([s for s in statuses if s >= 500 and s != 503], statuses)
        refused = metric(self.server, "sreda_http_refused_total", cause="webrtc_rate") - refused_before
        self.assertEqual(refused, statuses.count(429), "every 429 counted")

        def ask(method, path, body=None, headers=None):
            conn = http_from(self.server, "127.0.0.81")
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            out = (r.status, r.read())
            conn.close()
            return out

        self.assertEqual(ask("POST", f"/whip/{studio_id}", offer + b"a" * (16385 - len(offer)), sdp)[0], 413)
        lines = ask("POST", f"/whip/{studio_id}", offer + b"\n" * 10000, sdp)
        self.assertTrue(400 <= lines[0] < 500, lines)
        self.assertEqual(ask("POST", f"/whip/{studio_id}", offer, {**sdp, "Content-Type": "text/plain"})[0], 415)
        status, body = ask("DELETE", f"/whip/{studio_id}/NoSuchSession0123456789")
        self.assertIn(status, (404, 503), body)  # 404 from the WHIP back end; 503 in a build without one
        if status == 503:
            self.assertIn(b"real-time sending is not available on this server", body)
        self.figures.append(f"WHIP offer flood: {len(statuses) - statuses.count(429)} answered "
                            f"({sorted(set(statuses) - {429})}), {statuses.count(429)} refused (429); "
                            f"16 KiB+1 → 413, 10,000 lines → {lines[0]}, text/plain → 415, unknown DELETE → {status}")

    def ratings(self):
        """Attack 3: 200 connections from one address, each a fresh identity giving 1 star (20 at once)."""
        event_id = self.studio.event_id

        async def attack():
            acks = []
            for _ in range(10):
                acks += await asyncio.gather(*[rate_once(self.server, event_id, "attacker-" + secrets.token_hex(8), 1,
                                                         "127.0.0.66") for _ in range(20)])
            return acks

        acks = asyncio.run(attack())
        self.assertEqual([a["type"] for a in acks], ["rated"] * 200, "every vote answered")
        self.assertEqual(sum(1 for a in acks if a.get("counted")), RATING_CAP)
        h = self.honest_rating["histogram"]
        want = {"count": HONEST + RATING_CAP, "histogram": [RATING_CAP] + h[1:]}
        until(lambda: self.rating(event_id)["count"] == want["count"], 30, "the counted ratings stored")
        rating = self.rating(event_id)
        self.assertEqual(rating["histogram"], want["histogram"])
        self.figures.append(f"ratings: before {self.expected_rating['average']} from {self.expected_rating['count']}, "
                            f"after 200 one-star votes from one address {rating['average']} from {rating['count']}")
        self.expected_rating = rating  # moved by at most ws.max_ratings_per_address votes; the baseline from now

    def delete_archived(self):
        """DELETE an archived event, then fetch its recording."""
        eid = self.archived.event_id
        self.assertEqual(self.server.get(f"/archive/{eid}/master.m3u8").status, 200)
        r = self.server.request("DELETE", f"/api/events/{eid}", token=self.token)
        self.assertEqual(r.status, 200, r)
        for url in (f"/archive/{eid}/master.m3u8", f"/archive/{eid}/source/index.m3u8",
                    f"/archive/{eid}/source/init.mp4", f"/archive/{eid}/poster.jpg"):
            self.assertEqual(self.server.get(url).status, 404, url)
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "archive", str(eid))))

    # -- the campaign --

    def test_every_attack_in_turn_leaves_the_concert_its_recording_and_its_rating(self):
        campaign_started = time.monotonic()
        s = self.server
        # An event recorded earlier (archived before the last attack deletes it), a studio for the SRT flood,
        # and the concert: a studio on air, a viewer polling its playlist, five honest ratings.
        self.archived = Studio(s, self.token, "Архив")
        early = publish_test(s, self.archived.key, 3)
        self.addCleanup(lambda: (early.kill(), early.wait()))
        self.srt_studio = Studio(s, self.token, "SRT-зал")
        self.studio = Studio(s, self.token, "Концертный зал")
        feed = publish_test(s, self.studio.key, 600)
        self.addCleanup(lambda: (feed.kill(), feed.wait()))
        self.studio.wait_media(timeout=60)
        self.viewer = PlaylistViewer(s, self.studio.event_id)
        self.addCleanup(self.viewer.stop)
        wait_for(lambda: self.viewer.seen() >= 3, 60, "three live segments")

        async def honest():  # five people, each on an address of their own
            return [await rate_once(s, self.studio.event_id, f"honest-viewer-{i}", 5, f"127.0.0.{10 + i}")
                    for i in range(HONEST)]
        self.assertEqual([a.get("counted") for a in asyncio.run(honest())], [True] * HONEST)
        until(lambda: self.rating(self.studio.event_id)["count"] == HONEST, 30, "the honest ratings stored")
        self.honest_rating = self.expected_rating = self.rating(self.studio.event_id)
        self.archived.wait_state("archived", timeout=60)
        self.pid = s.proc.pid
        self.idle_kib = rtmp.vm_kib(self.pid, "VmHWM")
        self.figures.append(f"idle: VmHWM {self.idle_kib // 1024} MiB, VmRSS {rtmp.vm_kib(self.pid, 'VmRSS') // 1024} MiB")

        self.attack("RTMP 8 MiB chunk size and AMF0 array", self.rtmp_big_amf0,
                    r"ingest\.max_command_bytes|limit before publishing chunk_size")
        self.attack("RTMP silent connections", self.rtmp_silent, r"\(ingest\.max_connections_per_address\)")
        self.attack("SRT handshake flood", self.srt_handshake_flood,
                    r"\[srt .*refused: (already_live|connections_per_address|pending_handshakes|max_connections)")
        self.attack("HTTP idle connection flood", self.http_idle_flood,
                    r"descriptors are short: closing connections that sent nothing")
        self.attack("held-request connect/close loop", self.held_request_loop, r"reached live\.max_held_requests")
        self.attack("slowloris header", self.slowloris, r"within server\.header_timeout_s \(slowloris\)")
        self.attack("pipelining", self.pipelining, r"too many pipelined bytes before this request")
        self.attack("oversized header", self.oversized_header, r"the request header is larger than 8192 bytes")
        self.attack("API request flood", self.api_flood, r"refusing requests from 127\.0\.0\.77: .*server\.api_requests_per_s")
        self.attack("login flood", self.login_flood, r"refusing logins from 127\.0\.0\.78 .*auth\.login_max_failures")
        self.attack("WHIP offer flood and malformed offers", self.webrtc_requests,
                    r"refusing WHIP/WHEP requests from 127\.0\.0\.80: .*server\.api_requests_per_s")
        self.attack("200 fresh identities rating 1 star", self.ratings, r"ratings from 127\.0\.0\.66 beyond 20 are kept out")
        self.attack("delete of an archived event, then fetch", self.delete_archived,
                    rf"deleted the recording of event {self.archived.event_id} \(event deleted by admin")

        # The concert ends: its recording is archived and plays from start to end.
        feed.kill()
        feed.wait()
        self.studio.wait_state("ended", timeout=GRACE_S + 60)
        until(lambda: self.studio.state() == "archived", 60, "the recording archived")
        url = f"http://127.0.0.1:{s.port}/archive/{self.studio.event_id}/source/index.m3u8"
        duration = float(ffprobe(url)["format"]["duration"])
        self.assertGreater(duration, 30)
        self.assertEqual(decode_errors(url), "")
        self.assertEqual(s.get(f"/api/events/{self.studio.event_id}/recording", token=self.token).json["state"],
                         "archived")
        self.viewer.stop()
        total = time.monotonic() - campaign_started
        self.figures.append(f"recording: {duration:.1f} s archived and decoded cleanly; viewer polls "
                            f"{self.viewer.polls}, failures {len(self.viewer.failures)} {self.viewer.failures[:3]}; "
                            f"campaign {total:.0f} s")
        print("\n" + "\n".join(f"[figures] {f}" for f in self.figures))
        self.assertEqual(self.viewer.failures, [], "the viewer was never refused")
        self.assertLess(total, 240, "the campaign stays within four minutes")


if __name__ == "__main__":
    unittest.main()
