"""What an operator reads in /metrics on concert night (README, "Monitoring"): requests and bytes by route
class (never a raw path), the event on air with its studio's silence, its viewers, and the free space of the
data dir. A real studio publishes (ffmpeg over RTMP) and a real viewer holds the watch page's audience
channel open."""
import asyncio
import os
import re
import unittest

from audience_client import Viewer
from media_helpers import LiveServerTest, Publisher, Studio
from sreda_harness import wait_for

ROUTE_CLASSES = {"/live/master", "/live/playlist", "/live/part", "/live/segment", "/live/init", "/live/poster",
                 "/live", "/api", "/archive", "pages", "/ws", "/metrics", "/healthz", "/schedule.ics", "/events",
                 "other"}


def series(text, name):
    """Every series of family `name` in a /metrics text: {frozenset of (label, value)}: value."""
    out = {}
    for labels, value in re.findall(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", text, re.M):
        out[frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))] = float(value)
    return out


def value(text, name, **labels):
    """The value of the one series of `name` whose labels include `labels` (None when there is none)."""
    want = {(k, str(v)) for k, v in labels.items()}
    found = [v for k, v in series(text, name).items() if want <= k]
    assert len(found) <= 1, f"several {name} series with {labels}"
    return found[0] if found else None


class OperatorMetricsTest(LiveServerTest):
    env = {"SREDA_STUDIOS_RECONNECT_GRACE_S": "120"}  # the intermission lasts while the test looks at it

    def metrics(self):
        r = self.server.get("/metrics")
        self.assertEqual(r.status, 200, r)
        return r.text

    def test_an_event_on_air_as_an_operator_sees_it(self):
        studio = Studio(self.server, self.token, "Зал «Ноты»")
        eid = studio.event_id
        self.assertIsNone(value(self.metrics(), "sreda_live_events", event=eid), "not on air before it publishes")
        pub = Publisher(studio.rtmp_url(), seconds=60)  # stopped below, once the live checks are done
        viewer = Viewer(self.server, "operator-test-viewer")
        loop = asyncio.new_event_loop()  # the viewer's connection lives across the test's steps
        try:
            studio.wait_media()
            # A player's requests, one of each class.
            master = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
                self.server.get(f"/live/{eid}/master.m3u8")), 20, "the master playlist")
            rendition = re.search(r"^([^#\s][^/\s]*)/index\.m3u8", master.text, re.M).group(1)
            base = f"/live/{eid}/{rendition}/"
            playlist = wait_for(lambda: (lambda t: t if "#EXTINF" in t else None)(
                self.server.get(base + "index.m3u8").text), 20, "a segment in the playlist")
            init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist).group(1)
            part = re.findall(r'#EXT-X-PART:[^\n]*URI="([^"]+)"', playlist)[-1]
            segment = re.findall(r"^(seg[^\s]+\.m4s)$", playlist, re.M)[-1]
            part_bytes = len(self.server.get(base + part).body)
            for path in (base + init, base + segment):
                self.assertEqual(self.server.get(path).status, 200, path)
            self.assertEqual(self.server.get(f"/watch/{eid}").status, 200)
            loop.run_until_complete(viewer.connect())
            loop.run_until_complete(viewer.join(eid))

            text = self.metrics()
            for route in ("/live/master", "/live/playlist", "/live/part", "/live/segment", "/live/init", "pages"):
                self.assertGreaterEqual(value(text, "sreda_http_requests_total", route=route, status=200) or 0, 1,
                                        route)
            labels = {dict(k)["route"] for k in series(text, "sreda_http_requests_total")}
            self.assertLessEqual(labels, ROUTE_CLASSES, "route classes, never raw paths")
            self.assertGreaterEqual(value(text, "sreda_http_bytes_out_total", route="/live/part"), part_bytes)
            self.assertGreater(value(text, "sreda_http_bytes_out_total", route="pages"), 1000)
            self.assertIn("# HELP sreda_http_bytes_out_total ", text)
            wait_for(lambda: (value(self.metrics(), "sreda_http_bytes_out_total", route="/ws") or 0) > 0, 10,
                     "the viewer's welcome counted under /ws")

            on_air = value(text, "sreda_live_events", event=eid, studio=studio.id, studio_name="Зал «Ноты»",
                           state="live")
            self.assertEqual(on_air, 1)
            self.assertLess(value(text, "sreda_ingest_silence_seconds", event=eid, studio=studio.id), 3,
                            "the studio streams: not silent")
            wait_for(lambda: value(self.metrics(), "sreda_live_viewers", event=eid) == 1, 10, "one viewer counted")

            pub.kill()
            # The studio has dropped: intermission, and its silence grows until it comes back or the event ends.
            studio.wait_state("intermission")
            text = wait_for(lambda: (lambda t: t if (value(t, "sreda_ingest_silence_seconds", event=eid) or 0) >= 3
                                     else None)(self.metrics()), 20, "the studio's silence to reach 3 s")
            self.assertEqual(value(text, "sreda_live_events", event=eid, state="intermission"), 1)
            self.assertIsNone(value(text, "sreda_live_events", event=eid, state="live"))

            self.assertEqual(self.server.post(f"/api/events/{eid}/end", token=self.token).status, 200)
            studio.wait_state("ended")
            text = self.metrics()
            for family in ("sreda_live_events", "sreda_ingest_silence_seconds", "sreda_live_viewers"):
                self.assertIsNone(value(text, family, event=eid), f"{family}: an ended event is no longer listed")
        finally:
            if pub.proc.poll() is None:
                pub.kill()
            if viewer.ws:
                loop.run_until_complete(viewer.close())
            loop.close()

    def test_free_space_of_the_data_dir(self):
        text = self.metrics()
        data = os.path.realpath(self.server.data_dir)
        got = {dict(k)["dir"]: (dict(k)["path"], v) for k, v in series(text, "sreda_disk_free_bytes").items()}
        size = {dict(k)["dir"]: v for k, v in series(text, "sreda_disk_size_bytes").items()}
        self.assertEqual(set(got), {"data", "archive"})
        fs = os.statvfs(data)
        self.assertEqual(os.path.realpath(got["data"][0]), data)
        self.assertEqual(size["data"], fs.f_blocks * fs.f_frsize)
        # Others write to this disk meanwhile: the same figure within 1 % of the filesystem.
        self.assertLess(abs(got["data"][1] - fs.f_bavail * fs.f_frsize), 0.01 * size["data"])
        self.assertIn("# HELP sreda_disk_free_bytes ", text)


if __name__ == "__main__":
    unittest.main()
