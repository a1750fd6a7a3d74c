"""Real-time viewers over WHEP: tests/tools/whep_client.cpp is the viewer (a recv-only webrtcbin on 127.0.0.1
that decodes what it gets). An RTMP studio sends H.264 with B-frames (which browsers' WebRTC cannot play), so
the event's WHEP feed is the encode without B-frames: the viewer decodes pictures and Opus audio made from the
studio's AAC; after its DELETE the viewer count is back to 0 and the feed stops once idle. An event without
the real-time flag answers 404; beyond webrtc.max_whep_viewers a viewer gets 503 with Retry-After (the watch
page then plays LL-HLS)."""
import re
import subprocess
import threading

from media_helpers import LADDER_ENV, Publisher, Studio, LiveServerTest, ffprobe, metric, webrtc_tool_binary
from sreda_harness import wait_for

IDLE_STOP_S = 2

# The studio's H.264 with B-frames (x264 veryfast, Main profile, 2 B-frames), as OBS sends by default.
BFRAMES = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "2", "-g", "50", "-pix_fmt",
           "yuv420p", "-b:v", "400k", "-c:a", "aac", "-b:a", "64k"]


def whep_client_binary(test_class):
    return webrtc_tool_binary(test_class, "whep_client")


def gauge(server, name):
    """An unlabelled gauge of /metrics (None when absent)."""
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", server.get("/metrics").text, re.M)
    return float(m.group(1)) if m else None


class WhepViewer:
    """One run of whep_client in the background; its `name=value` lines are read as they come."""

    def __init__(self, binary, server, event_id, seconds, extra=()):
        self.lines, self.log = {}, []
        self.proc = subprocess.Popen([binary, "--port", str(server.port), "--event", str(event_id), "--seconds",
                                      str(seconds), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with self.proc.stdout:
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                self.log.append(line)
                if "=" in line:
                    name, value = line.split("=", 1)
                    self.lines.setdefault(name, value)  # the first (status: the POST's)

    def wait(self, timeout=90):
        code = self.proc.wait(timeout=timeout)
        self._reader.join(10)
        return code

    def wait_line(self, name, timeout=60):
        return wait_for(lambda: self.lines.get(name), timeout,
                        f"whep_client to print {name} (it printed {self.log}, exit {self.proc.poll()})")

    def progress(self):
        """Pictures decoded so far (with --progress: its last `progress=` line)."""
        counts = [int(line.split("=", 1)[1]) for line in list(self.log) if line.startswith("progress=")]
        return counts[-1] if counts else 0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)

    def __repr__(self):
        return f"<whep_client {self.proc.returncode}: {self.log}>"


class WhepMediaTest(LiveServerTest):
    env = {"SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_MAX_WHEP_VIEWERS": "1",
           "SREDA_WEBRTC_WHEP_IDLE_STOP_S": str(IDLE_STOP_S), "SREDA_STUDIOS_RECONNECT_GRACE_S": "15"}

    @classmethod
    def setUpClass(cls):
        cls.client = whep_client_binary(cls)
        super().setUpClass()

    def viewer(self, studio, seconds):
        v = WhepViewer(self.client, self.server, studio.event_id, seconds)
        self.addCleanup(v.kill)
        return v

    def live_realtime_studio(self, name):
        studio = Studio(self.server, self.token, name)
        pub = Publisher(studio.rtmp_url(), seconds=60, codecs=BFRAMES)
        self.addCleanup(pub.kill)
        studio.wait_media()
        return studio

    def set_realtime(self, studio):
        r = self.server.request("PATCH", f"/api/events/{studio.event_id}", body={"realtime": True}, token=self.token)
        self.assertEqual(r.status, 200, r)

    def test_rtmp_studio_with_bframes_plays_in_real_time_and_the_feed_stops_when_idle(self):
        studio = self.live_realtime_studio("Зал мастер-классов")
        # Without the curator's flag: no real time (the page plays LL-HLS).
        early = self.viewer(studio, 1)
        self.assertEqual(early.wait(), 3, early)
        self.assertEqual(early.lines["status"], "404")
        self.set_realtime(studio)
        v = self.viewer(studio, 6)
        self.assertEqual(v.wait_line("status"), "201", v)
        self.assertRegex(v.lines["location"], rf"^/whep/{studio.event_id}/[A-Za-z0-9_-]{{22}}$")
        wait_for(lambda: gauge(self.server, "sreda_whep_viewers") == 1, 30, "one real-time viewer in /metrics")
        self.assertEqual(gauge(self.server, "sreda_whep_feeds"), 1)
        self.assertEqual(v.wait(), 0, v)
        # 6 s at 25 fps: pictures decoded (B-frames gone: the feed's encode), and Opus from the studio's AAC.
        self.assertGreater(int(v.lines["video_frames"]), 50, v)
        self.assertGreater(int(v.lines["audio_frames"]), 100, v)
        self.assertEqual(v.lines["delete_status"], "200", v)
        self.assertGreaterEqual(metric(self.server, "sreda_whep_keyframe_requests_total", to="encoder"), 1)
        wait_for(lambda: gauge(self.server, "sreda_whep_viewers") == 0, 30, "no real-time viewer left")
        wait_for(lambda: gauge(self.server, "sreda_whep_feeds") == 0, IDLE_STOP_S + 30, "the idle feed stopped")
        self.assertIn("real-time feed stopped: no real-time viewer", self.server.log())

    def test_a_viewer_connected_across_the_studios_reconnect_sees_the_picture_resume(self):
        # The RTMP studio drops and comes back within the grace: the event's feed is rebuilt for the new session;
        # the viewer stays connected, its timestamps run on (only the pause, no jump) and its pictures resume.
        studio = Studio(self.server, self.token, "Зал с переподключением")
        first = Publisher(studio.rtmp_url(), seconds=10, codecs=BFRAMES)
        self.addCleanup(first.kill)
        studio.wait_media()
        self.set_realtime(studio)
        v = WhepViewer(self.client, self.server, studio.event_id, 30, ["--progress"])
        self.addCleanup(v.kill)
        self.assertEqual(v.wait_line("status"), "201", v)
        wait_for(lambda: v.progress() > 25, 30, f"pictures before the reconnect ({v})")
        self.assertEqual(first.wait(), 0, first.stderr)
        studio.wait_state("intermission")
        again = Publisher(studio.rtmp_url(), seconds=40, codecs=BFRAMES)
        self.addCleanup(again.kill)
        wait_for(lambda: studio.state() == "live", 30, "the event live again")
        before = v.progress()
        self.assertEqual(v.wait(), 0, v)
        self.assertGreater(int(v.lines["video_frames"]) - before, 50, v)
        self.assertIn("real-time feed stopped: the studio's stream changed", self.server.log())
        self.assertLess(int(v.lines["video_ts_jump_ms"]), 1000, v)
        self.assertLess(int(v.lines["audio_ts_jump_ms"]), 1000, v)
        wait_for(lambda: gauge(self.server, "sreda_whep_feeds") == 0, IDLE_STOP_S + 30, "the idle feed stopped")

    def test_a_viewer_beyond_the_limit_gets_503_with_retry_after(self):
        studio = self.live_realtime_studio("Зал лекций")
        self.set_realtime(studio)
        first = self.viewer(studio, 8)
        self.assertEqual(first.wait_line("status"), "201", first)
        second = self.viewer(studio, 1)
        self.assertEqual(second.wait(), 3, second)
        self.assertEqual(second.lines["status"], "503", second)
        self.assertGreater(int(second.lines["retry_after"]), 0)
        self.assertIn("real-time viewers", second.lines["error"])
        self.assertGreaterEqual(metric(self.server, "sreda_whep_refused_total", reason="viewer_limit"), 1)
        self.assertEqual(first.wait(), 0, first)
        # The feed ends once nobody watches in real time (the next test on this server counts feeds).
        wait_for(lambda: gauge(self.server, "sreda_whep_feeds") == 0, IDLE_STOP_S + 30, "the idle feed stopped")


class WhepPassthroughTest(LiveServerTest):
    """A studio that itself sends over WHIP (constrained-baseline H.264 without B-frames, keyframes when asked,
    as browsers): its own H.264 goes to real-time viewers unchanged (no encode) and the viewer decodes pictures."""
    env = {**LADDER_ENV, "SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_MEDIA_TIMEOUT_S": "30"}

    @classmethod
    def setUpClass(cls):
        from test_ingest_whip_media import WhipPublisher, whip_client_binary
        cls.whip_publisher = WhipPublisher
        cls.whip = whip_client_binary(cls)
        cls.client = whep_client_binary(cls)
        super().setUpClass()

    def live_whip_studio(self, name, extra=()):
        """A WHIP studio publishing for 40 s whose event the curator turned real time on."""
        studio = Studio(self.server, self.token, name)
        pub = self.whip_publisher(self.whip, self.server, studio.id, studio.key, 40, extra)
        self.addCleanup(pub.kill)
        self.assertEqual(pub.wait_line("status"), "201", pub)
        info = studio.wait_media()
        r = self.server.request("PATCH", f"/api/events/{studio.event_id}", body={"realtime": True}, token=self.token)
        self.assertEqual(r.status, 200, r)
        return studio, info

    def test_a_whip_studio_is_passed_through_to_real_time_viewers(self):
        studio, _ = self.live_whip_studio("Студия в браузере")
        v = WhepViewer(self.client, self.server, studio.event_id, 8)
        self.addCleanup(v.kill)
        self.assertEqual(v.wait_line("status"), "201", v)
        self.assertEqual(v.wait(), 0, v)
        self.assertRegex(self.server.log(), rf"event {studio.event_id}: real-time feed started \(passthrough")
        self.assertGreater(int(v.lines["video_frames"]), 50, v)
        self.assertGreater(int(v.lines["audio_frames"]), 100, v)
        self.assertGreaterEqual(metric(self.server, "sreda_whep_keyframe_requests_total", to="publisher"), 1)

    def test_a_high_profile_whip_studio_goes_through_the_encode(self):
        # OBS's x264 may send High, which a viewer's WebRTC offer does not take: the viewer gets the encode
        # (constrained baseline) and decodes pictures; LL-HLS plays the High source itself.
        studio, info = self.live_whip_studio("Студия с OBS", extra=["--profile", "high"])
        self.assertRegex(info["publisher"]["media"]["video"]["profile"], r"^([a-z]+-)?high$")  # x264 sets flags
        v = WhepViewer(self.client, self.server, studio.event_id, 8)
        self.addCleanup(v.kill)
        self.assertEqual(v.wait_line("status"), "201", v)
        self.assertEqual(v.wait(), 0, v)
        self.assertRegex(self.server.log(), rf"event {studio.event_id}: real-time feed started \(encode, 320x240")
        self.assertGreater(int(v.lines["video_frames"]), 50, v)
        self.assertGreater(int(v.lines["audio_frames"]), 100, v)
        self.assertGreaterEqual(metric(self.server, "sreda_whep_keyframe_requests_total", to="encoder"), 1)
        probe = ffprobe(studio.playlist_url())
        video = [s for s in probe["streams"] if s["codec_type"] == "video"]
        self.assertEqual([(s["codec_name"], s["profile"]) for s in video], [("h264", "High")], probe)
        self.assertIn("aac", [s["codec_name"] for s in probe["streams"]])
