"""Studios publish over RTMP (ffmpeg and GStreamer's rtmp2sink): events go live, media arrives decodable
as LL-HLS, a dropped studio returns within the grace, wrong keys and busy studios are refused."""
import re
import unittest

from media_helpers import (GRACE_S, LiveServerTest, Publisher, Studio, decode_errors, ffprobe,
                           gst_rtmp_publisher, metric, non_monotonic_packets)
from sreda_harness import wait_for

PUBLISH_LONG_S = 120  # a publisher that only stops early when the server closes its connection

class RtmpIngestTest(LiveServerTest):
    def test_publish_goes_live_and_plays_as_ll_hls_then_ends_after_grace(self):
        studio = Studio(self.server, self.token, "Концертный зал")
        self.assertEqual(studio.state(), "scheduled")
        pub = Publisher(studio.rtmp_url(), seconds=5)
        try:
            info = studio.wait_media()
            self.assertEqual(info["state"], "live")
            p = info["publisher"]
            self.assertEqual(p["protocol"], "rtmp")
            self.assertTrue(p["remote_address"].startswith("127.0.0.1:"))
            self.assertEqual((p["media"]["video"]["codec"], p["media"]["video"]["width"],
                              p["media"]["video"]["height"]), ("h264", 320, 240))
            self.assertEqual(p["media"]["audio"]["codec"], "aac")
            for fact in ("uptime_s", "bitrate_kbps", "frame_rate", "dropped", "late_frames",
                         "behind_realtime_ms"):
                self.assertIn(fact, p)
            self.assertEqual(studio.state(), "live")
            # The master playlist describes the real stream.
            # (Media facts come from the ingest thread; the packagers start a moment later, and until then the
            # master request is held until a rendition has a part, up to 8 s, then 503.)
            master = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
                self.server.get(f"/live/{studio.event_id}/master.m3u8")), 15, "the master playlist")
            self.assertEqual(master.status, 200)
            self.assertEqual(master.headers["content-type"], "application/vnd.apple.mpegurl")
            self.assertRegex(master.text, r'RESOLUTION=320x240')
            self.assertRegex(master.text, r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"')
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("intermission")
        # Bitrate and frames were counted per studio.
        self.assertGreater(metric(self.server, "sreda_ingest_bytes_total", studio=studio.id), 10000)
        studio.wait_state("ended", timeout=GRACE_S + 30)
        playlist = studio.wait_playlists_end()
        for tag in ("#EXT-X-TARGETDURATION:", "CAN-BLOCK-RELOAD=YES", "PART-HOLD-BACK=", "#EXT-X-PART-INF:",
                    "#EXT-X-MAP:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-PART:", "INDEPENDENT=YES", "#EXT-X-ENDLIST"):
            self.assertIn(tag, playlist)
        self.assert_parts_fit_the_target(playlist)
        # Everything published decodes, with the right duration.
        probe = ffprobe(studio.playlist_url())
        kinds = sorted(s["codec_name"] for s in probe["streams"])
        self.assertEqual(kinds, ["aac", "h264"])
        self.assertAlmostEqual(float(probe["format"]["duration"]), 5.0, delta=0.6)
        self.assertEqual(decode_errors(studio.playlist_url()), "")
        self.assertEqual(non_monotonic_packets(studio.playlist_url()), [])
        # Parts and segments are immutable for caches.
        seg = self.server.get(f"/live/{studio.event_id}/source/seg0.m4s")
        self.assertEqual(seg.status, 200)
        self.assertIn("immutable", seg.headers["cache-control"])

    def assert_parts_fit_the_target(self, playlist):
        """RFC 8216bis 4.4.4.9: no part is longer than PART-TARGET and each is at least 85 % of it, but an
        INDEPENDENT one or a segment's last. Here (25 fps, a keyframe every second) stricter: a complete segment's
        parts are equal, its last too (no short sliver at the end of a segment: hls.js stalled on those)."""
        target = float(re.search(r"#EXT-X-PART-INF:PART-TARGET=([0-9.]+)", playlist).group(1))
        segments, parts = [], []
        for line in playlist.splitlines():
            m = re.match(r"#EXT-X-PART:DURATION=([0-9.]+)", line)
            if m:
                parts.append(float(m.group(1)))
            elif line.startswith("#EXTINF:"):
                segments.append((float(line[8:].split(",")[0]), parts))
                parts = []
        complete = [s for s in segments[:-1] if abs(s[0] - 2.0) < 0.01]  # the last one ends with the stream
        self.assertGreaterEqual(len(complete), 1, playlist)
        for duration, durations in complete:
            self.assertAlmostEqual(sum(durations), duration, delta=0.01, msg=playlist)
            for d in durations:
                self.assertLessEqual(d, target + 1e-6, playlist)
                self.assertGreaterEqual(d, 0.85 * target, playlist)

    def test_reconnect_within_grace_continues_the_same_event(self):
        studio = Studio(self.server, self.token, "Библиотека")
        first = Publisher(studio.rtmp_url(), seconds=3)
        self.assertEqual(first.wait(), 0, first.stderr)
        studio.wait_state("intermission")
        second = Publisher(studio.rtmp_url(), seconds=3)
        try:
            studio.wait_state("live")
            self.assertEqual(studio.live()["reconnects"], 1)
            self.assertEqual(second.wait(), 0, second.stderr)
        finally:
            second.kill()
        studio.wait_state("ended", timeout=GRACE_S + 30)
        # The state is stored before the packagers close their playlists: the ENDLIST follows within moments.
        playlist = wait_for(lambda: (lambda t: t if "#EXT-X-ENDLIST" in t else None)(
            self.server.get(f"/live/{studio.event_id}/source/index.m3u8").text), 10, "the playlist's ENDLIST")
        self.assertIn("#EXT-X-DISCONTINUITY", playlist)
        self.assertAlmostEqual(float(ffprobe(studio.playlist_url())["format"]["duration"]), 6.0, delta=1.2)

    def test_wrong_key_busy_studio_and_no_event_are_refused(self):
        studio = Studio(self.server, self.token, "Дом культуры")
        before = metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="unknown_key")
        wrong = Publisher(studio.rtmp_url(key="not-a-real-key"), seconds=2)
        self.assertNotEqual(wrong.wait(), 0)
        self.assertEqual(studio.state(), "scheduled")
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="unknown_key"),
                         before + 1)
        # A studio with nothing scheduled now.
        idle = Studio(self.server, self.token, "Пустая студия", minutes_from_now=24 * 60)
        pub = Publisher(idle.rtmp_url(), seconds=2)
        self.assertNotEqual(pub.wait(), 0)
        self.assertEqual(idle.state(), "scheduled")
        self.assertGreaterEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="no_event"), 1)
        # A second publisher while the studio is live.
        live = Publisher(studio.rtmp_url(), seconds=PUBLISH_LONG_S)
        try:
            studio.wait_media()
            intruder = Publisher(studio.rtmp_url(), seconds=2)
            self.assertNotEqual(intruder.wait(), 0)
            publisher = studio.live()["publisher"]
            self.assertEqual(publisher["protocol"], "rtmp")
            self.assertGreaterEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp",
                                           reason="already_live"), 1)
            # The curator ends it: the publisher is disconnected, the event is over. ffmpeg would publish for
            # PUBLISH_LONG_S: it stops long before, with an error, only because the server closed its connection.
            r = self.server.post(f"/api/events/{studio.event_id}/end", token=self.token)
            self.assertEqual((r.status, r.json["state"]), (200, "ended"))
            wait_for(lambda: live.proc.poll() is not None, PUBLISH_LONG_S / 2, "the publisher to be disconnected")
            self.assertNotEqual(live.wait(), 0, "ffmpeg saw its connection closed")
            closed = f"[rtmp {publisher['remote_address']} "  # the line of that connection, and no other
            wait_for(lambda: [l for l in self.server.log_lines_copy() if closed in l and "closed: ended by a curator" in l],
                     10, "the server's line that it closed the studio's connection")
        finally:
            live.kill()
        self.assertIn(studio.state(), ("ended", "archived"))
        r = self.server.post(f"/api/events/{studio.event_id}/end", token=self.token)
        self.assertEqual(r.status, 409)

    def test_two_studios_at_once_and_gstreamer_client(self):
        a = Studio(self.server, self.token, "Студия А")
        b = Studio(self.server, self.token, "Студия Б")
        pa = Publisher(a.rtmp_url(), seconds=4)
        pb = gst_rtmp_publisher(b.rtmp_url(), seconds=4)
        try:
            for s in (a, b):
                info = s.wait_media()
                self.assertEqual(info["publisher"]["media"]["video"]["width"], 320)
            self.assertEqual(pa.wait(), 0, pa.stderr)
            _, err = pb.communicate(timeout=60)
            self.assertEqual(pb.returncode, 0, err)
        finally:
            pa.kill()
            if pb.poll() is None:
                pb.kill()
        for s in (a, b):
            s.wait_state("ended", timeout=GRACE_S + 30)
            self.assertEqual(decode_errors(s.playlist_url()), "")
            self.assertEqual(non_monotonic_packets(s.playlist_url()), [])
            self.assertAlmostEqual(float(ffprobe(s.playlist_url())["format"]["duration"]), 4.0, delta=0.7)

    def test_blocking_playlist_reload(self):
        studio = Studio(self.server, self.token, "Лекторий")
        pub = Publisher(studio.rtmp_url(), seconds=8)
        try:
            studio.wait_media()
            base = f"/live/{studio.event_id}/source/index.m3u8"
            wait_for(lambda: "#EXT-X-PART:" in self.server.get(base).text, 30, "the first part")
            text = self.server.get(base).text
            # The segment after the one in progress: not begun yet.
            msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) + text.count("#EXTINF") + 1
            # The next segment's first part: the request is held until it exists, then answered with it (how
            # soon: scripts/bench/live_timing).
            self.assertNotIn(f'URI="part{msn}.0.m4s"', text)
            r = self.server.get(f"{base}?_HLS_msn={msn}&_HLS_part=0", timeout=60)
            self.assertEqual(r.status, 200, r)
            self.assertIn(f'URI="part{msn}.0.m4s"', r.text)
            # Its hinted next part is answered as soon as it is complete.
            hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', r.text).group(1)
            part = self.server.get(f"/live/{studio.event_id}/source/{hint}")
            self.assertEqual(part.status, 200)
            self.assertEqual(part.headers["content-type"], "video/iso.segment")
            # Requests that can never be answered are refused at once.
            self.assertEqual(self.server.get(f"{base}?_HLS_msn={msn + 50}").status, 400)
            self.assertEqual(self.server.get(f"{base}?_HLS_part=1").status, 400)
            self.assertEqual(self.server.get(f"{base}?_HLS_msn=abc").status, 400)
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        self.assertEqual(self.server.get("/live/999999/master.m3u8").status, 404)
        self.assertEqual(self.server.get(f"/live/{studio.event_id}/nope/index.m3u8").status, 404)
        self.assertEqual(self.server.get(f"/live/{studio.event_id}/source/..%2f..%2fetc%2fpasswd").status, 404)


if __name__ == "__main__":
    unittest.main()
