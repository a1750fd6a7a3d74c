"""What an edge cache sees: the Cache-Control of every /live and /archive route class (what may be kept, and how
long), and a real edge (Varnish with the shipped deploy/edge/sreda-edge.vcl) in front of sreda that keeps parts,
answers repeated requests itself and collapses a crowd of viewers waiting for the same next part into one origin
request, for the blocking playlist reload and for the part; hitch with the shipped config gives it HTTPS and HTTP/2."""
import re
import subprocess
import threading
import unittest

from edge_cache import VarnishEdge
from live_front_client import Conn
from media_helpers import LiveServerTest, Publisher, Studio
from sreda_harness import wait_for

IMMUTABLE = "public, max-age=31536000, immutable"
BLOCKING = "public, max-age=6"           # the answer to _HLS_msn(/_HLS_part), held or not
SHARED_BRIEF = "public, max-age=0, s-maxage=1"  # a live playlist: browsers ask again, an edge keeps it 1 s
NO_STORE = "no-store"                    # errors
HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part(\d+)\.(\d+)\.m4s"')
SEGMENT = re.compile(r"^(seg\d+\.m4s)$", re.M)
VIEWERS = 40


def live_requests(server):
    """Every answer of the /live routes so far (every class: master, playlist, part…; all statuses), from the
    origin's own /metrics."""
    text = server.get("/metrics").text
    found = re.findall(r'sreda_http_requests_total\{route="/live(?:/[a-z]+)?",status="\d+"\} (\S+)', text)
    assert found, "no /live request counted in /metrics"
    return sum(int(float(n)) for n in found)


class EdgeCacheTest(LiveServerTest):
    env = {"SREDA_LADDER_ENABLED": "false"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pub = cls.edge = None
        try:
            cls.studio = Studio(cls.server, cls.token, "Edge hall")
            cls.pub = Publisher(cls.studio.rtmp_url(), seconds=120)
            cls.edge = VarnishEdge(cls.server.port)
            cls.edge.start()
            cls.edge.start_tls()
            cls.base = f"/live/{cls.studio.event_id}/source/"
            # A hinted part and a whole segment (the route classes below need both).
            wait_for(lambda: (lambda t: HINT.search(t) and SEGMENT.search(t))(cls.server.get(cls.base + "index.m3u8").text),
                     30, "a playlist with a whole segment and a hinted part")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.pub:
            cls.pub.kill()
        if cls.edge:
            cls.edge.stop()
        super().tearDownClass()

    def hint(self):
        m = HINT.search(self.server.get(self.base + "index.m3u8").text)
        self.assertIsNotNone(m)
        return int(m.group(1)), int(m.group(2))

    def cc(self, path, status=200):
        r = self.server.get(path)
        self.assertEqual(r.status, status, f"{path}: {r}")
        return r.headers.get("cache-control")

    def test_cache_control_of_every_route_class(self):
        eid, base = self.studio.event_id, self.base
        self.assertEqual(self.cc(f"/live/{eid}/master.m3u8"), SHARED_BRIEF)
        self.assertEqual(self.cc(base + "index.m3u8"), SHARED_BRIEF)
        msn, part = self.hint()
        # Held until the hinted part exists, and answered at once for a part that exists: both may be kept.
        self.assertEqual(self.cc(f"{base}index.m3u8?_HLS_msn={msn}&_HLS_part={part}"), BLOCKING)
        self.assertEqual(self.cc(f"{base}index.m3u8?_HLS_msn={msn}&_HLS_part={part}"), BLOCKING)
        self.assertEqual(self.cc(f"{base}index.m3u8?_HLS_msn={msn}"), BLOCKING)  # held for the whole segment
        self.assertEqual(self.cc(f"{base}part{msn}.{part}.m4s"), IMMUTABLE)
        self.assertEqual(self.cc(base + SEGMENT.search(self.server.get(base + "index.m3u8").text).group(1)), IMMUTABLE)
        self.assertEqual(self.cc(f"{base}init.mp4"), IMMUTABLE)
        # No ladder here, so no poster (the ladder makes it; then "public, max-age=5"): its 404 is not kept.
        self.assertEqual(self.cc(f"/live/{eid}/poster.jpg", 404), NO_STORE)
        # Errors are never kept: a stream that is not live, a part that is not there, a bad reload.
        self.assertEqual(self.cc("/live/99999/master.m3u8", 404), NO_STORE)
        self.assertEqual(self.cc(f"{base}part{msn + 50}.0.m4s", 404), NO_STORE)
        self.assertEqual(self.cc(f"/live/{eid}/nosuch/index.m3u8", 404), NO_STORE)
        self.assertEqual(self.cc(f"{base}index.m3u8?_HLS_msn={msn + 10}", 400), NO_STORE)
        # A part asked for that never comes (a part index beyond the segment's): held, then 503 "not yet".
        msn, _ = self.hint()
        self.assertEqual(self.cc(f"{base}part{msn + 1}.90.m4s", 503), NO_STORE)
        # The archive of an event that ended: closed playlists a minute, files immutable.
        archived = Studio(self.server, self.token, "Edge archive")
        archived.publish(3)
        self.assertEqual(self.server.post(f"/api/events/{archived.event_id}/end", token=self.token).status, 200)
        archived.wait_state("archived")
        a = f"/archive/{archived.event_id}/"
        self.assertEqual(self.cc(a + "master.m3u8"), "public, max-age=60")
        self.assertEqual(self.cc(a + "source/index.m3u8"), "public, max-age=60")
        self.assertEqual(self.cc(a + "source/init.mp4"), IMMUTABLE)
        self.assertEqual(self.cc(a + "source/seg0.m4s"), IMMUTABLE)
        self.assertEqual(self.cc("/archive/99999/master.m3u8", 404), NO_STORE)

    def test_edge_keeps_media_and_never_errors(self):
        e = Conn(self.edge.port, timeout=30)
        self.addCleanup(e.close)
        msn, part = self.hint()
        path = f"{self.base}index.m3u8?_HLS_msn={msn}&_HLS_part={part}"
        status, h1, body1, _ = e.get(path)
        self.assertEqual(status, 200, body1)
        self.assertEqual(h1["cache-control"], BLOCKING)  # passed on unchanged: browsers may keep it too
        self.assertIn(f'URI="part{msn}.{part}.m4s"', body1.decode())
        # The same reload with its query the other way round is the same request (the edge sorts the query).
        status, h2, body2, _ = e.get(f"{self.base}index.m3u8?_HLS_part={part}&_HLS_msn={msn}")
        self.assertEqual((status, h2["x-edge-cache"], body2), (200, "hit", body1))
        # Without Age: hls.js would jump its next blocking reload ahead by it (and lose a part doing so).
        self.assertNotIn("age", h2)
        before = live_requests(self.server)
        for _ in range(3):
            status, h, body, _ = e.get(f"{self.base}part{msn}.{part}.m4s")
            self.assertEqual((status, h["cache-control"]), (200, IMMUTABLE))
        self.assertEqual(live_requests(self.server) - before, 1, "the edge fetched the part more than once")
        self.assertEqual(body, self.server.get(f"{self.base}part{msn}.{part}.m4s").body)
        # An error reaches the viewer as no-store and is never answered from the edge: a part asked for too
        # early may exist a moment later (and hls.js does not retry a 4xx).
        status, h, _, _ = e.get("/live/99999/master.m3u8")
        self.assertEqual((status, h["cache-control"]), (404, NO_STORE))
        before = live_requests(self.server)
        status, h, _, _ = e.get("/live/99999/master.m3u8")
        self.assertEqual((status, h["x-edge-cache"]), (404, "miss"))
        self.assertEqual(live_requests(self.server) - before, 1, "the edge answered an error from its cache")
        # Pages and the API go to the origin, never kept.
        status, h, _, _ = e.get(f"/api/public/events/{self.studio.event_id}")
        self.assertEqual((status, h.get("x-edge-cache")), (200, "miss"))
        # sreda's metrics (events, studios, the disk; no login) are read on the origin, not through an edge.
        status, _, _, _ = e.get("/metrics")
        self.assertEqual(status, 404)

    def test_edge_collapses_viewers_waiting_for_the_same_next_part(self):
        msn, part = self.hint()
        # A part far enough ahead that every viewer's request is in before it exists (the next segment's
        # fourth part: ≥ 0.6 s away), held by the origin until then.
        want = (msn + 1, 3)
        reload = f"{self.base}index.m3u8?_HLS_msn={want[0]}&_HLS_part={want[1]}"
        part_path = f"{self.base}part{want[0]}.{want[1]}.m4s"
        conns = [Conn(self.edge.port, timeout=30) for _ in range(VIEWERS)]
        for c in conns:
            self.addCleanup(c.close)
        before = live_requests(self.server)
        results = [None] * VIEWERS
        go = threading.Barrier(VIEWERS)

        def viewer(i):
            go.wait()
            s1, _, pl, _ = conns[i].get(reload)
            s2, _, data, _ = conns[i].get(part_path)
            results[i] = (s1, pl, s2, data)
        threads = [threading.Thread(target=viewer, args=(i,)) for i in range(VIEWERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertTrue(all(r is not None for r in results), "a viewer got no answer")
        for s1, pl, s2, data in results:
            self.assertEqual((s1, s2), (200, 200))
            self.assertIn(f'URI="part{want[0]}.{want[1]}.m4s"', pl.decode())
            self.assertEqual(data, results[0][3])
        self.assertEqual(len({r[1] for r in results}), 1, "viewers got different playlists: not one origin answer")
        # The origin saw one blocking reload and one part request for all of them.
        self.assertEqual(live_requests(self.server) - before, 2,
                         f"{VIEWERS} viewers through one edge reached the origin more than twice")

    def test_https_and_http2_through_hitch(self):
        msn, part = self.hint()
        url = f"https://127.0.0.1:{self.edge.tls_port}{self.base}part{msn}.{part}.m4s"
        out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                              "-D", "-", url], capture_output=True, timeout=30)
        lines = out.stdout.decode().lower().splitlines()
        self.assertEqual(lines[-1] if lines else "", "2 200", out.stdout.decode() + out.stderr.decode())
        self.assertIn("cache-control: " + IMMUTABLE, lines)


if __name__ == "__main__":
    unittest.main()
