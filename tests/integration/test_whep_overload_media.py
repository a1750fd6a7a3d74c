"""The overload rule for real-time viewers: an RTMP studio sends 1080p, and the event's WHEP encode is made too
slow for this machine by config (webrtc.whep_height 1080, webrtc.whep_preset "veryslow", x264 in one thread: a few pictures a second on any machine), so
its leaky queue drops frames once the first viewer watches. Those late frames (counted only while the event has
viewers) make the server "behind": a new real-time viewer gets 503 with Retry-After and the reason in words
(its watch page plays LL-HLS), counted in sreda_whep_refused_total{reason="overload",cause="whep_encode"}, the
gauge sreda_overload is 1 and one log line says so; the viewer already watching keeps decoding pictures and
LL-HLS still lists its rendition. When that viewer has left, no frame is late for 10 s and the overload ends
(gauge 0, one log line)."""
from media_helpers import COPY, Publisher, Studio, LiveServerTest, class_clip, metric
from sreda_harness import wait_for
from test_whep_media import WhepViewer, gauge, whep_client_binary

LATE_FRAMES = 10  # webrtc.overload_late_frames (the default)


class WhepOverloadTest(LiveServerTest):
    env = {"SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_WHEP_HEIGHT": "1080",
           "SREDA_WEBRTC_WHEP_PRESET": "veryslow", "SREDA_WEBRTC_WHEP_KBPS": "6000",
           "SREDA_WEBRTC_OVERLOAD_LATE_FRAMES": str(LATE_FRAMES), "SREDA_WEBRTC_WHEP_IDLE_STOP_S": "2"}

    @classmethod
    def setUpClass(cls):
        cls.client = whep_client_binary(cls)
        # 1080p, keyframes every 2 s, published as it is (looped): the studio costs no encoding here.
        cls.clip = class_clip(cls, "hd.flv", seconds=6, size="1920x1080", kbps=4000, keyint=60)
        super().setUpClass()

    def viewer(self, studio, seconds, extra=()):
        v = WhepViewer(self.client, self.server, studio.event_id, seconds, extra)
        self.addCleanup(v.kill)
        return v

    def test_new_viewers_get_503_while_the_encode_is_behind_and_the_watching_viewer_stays(self):
        studio = Studio(self.server, self.token, "Зал перегрузки")
        pub = Publisher(studio.rtmp_url(), seconds=150, inputs=["-stream_loop", "-1", "-i", self.clip], codecs=COPY)
        self.addCleanup(pub.kill)
        studio.wait_media()
        r = self.server.request("PATCH", f"/api/events/{studio.event_id}", body={"realtime": True}, token=self.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(gauge(self.server, "sreda_overload"), 0)

        first = self.viewer(studio, 60, ["--progress"])
        self.assertEqual(first.wait_line("status"), "201", first)
        # The encode really falls behind (not a vacuous pass): its late frames are counted, the rule trips.
        wait_for(lambda: gauge(self.server, "sreda_overload") == 1, 60,
                 f"the overload to start (late frames: "
                 f"{metric(self.server, 'sreda_overload_late_frames_total', cause='whep_encode')})")
        self.assertGreaterEqual(metric(self.server, "sreda_overload_late_frames_total", cause="whep_encode"),
                                LATE_FRAMES)
        self.assertRegex(self.server.log(), rf"overload: event {studio.event_id}'s real-time encode fell behind "
                                            rf"real time \({LATE_FRAMES} late frames within 5 s\)")

        second = self.viewer(studio, 1)
        self.assertEqual(second.wait(), 3, second)
        self.assertEqual(second.lines["status"], "503", second)
        self.assertGreater(int(second.lines["retry_after"]), 0, second)
        self.assertIn("the server is overloaded", second.lines["error"])
        self.assertIn("real-time encode fell behind real time", second.lines["error"])
        self.assertGreaterEqual(metric(self.server, "sreda_whep_refused_total", cause="whep_encode", reason="overload"),
                                1)

        # The viewer already watching keeps decoding, and LL-HLS goes on with its rendition listed.
        before = first.progress()
        wait_for(lambda: first.progress() >= before + 10, 60, f"the watching viewer's pictures to go on ({first})")
        master = self.server.get(f"/live/{studio.event_id}/master.m3u8")
        self.assertEqual(master.status, 200, master)
        self.assertIn("source/index.m3u8", master.text)
        self.assertEqual(self.server.log().count("overload: event "), 1, "one log line when the overload starts")

        # The viewer leaves (DELETE): its encode's late frames no longer count; 10 s later the overload has ended.
        self.assertEqual(first.wait(), 0, first)
        self.assertEqual(first.lines["delete_status"], "200", first)
        wait_for(lambda: gauge(self.server, "sreda_overload") == 0, 60, "the overload to end")
        self.assertIn("overload ended: no late frame for 10 s", self.server.log())
        self.assertEqual(self.server.log().count("overload ended"), 1)
