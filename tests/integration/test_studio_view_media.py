"""The artist's view while a studio publishes (issue 9): the view token is never a stream key (RTMP and SRT
publishes with it are refused), and the page's data says LIVE with the stream's health in words."""
import unittest
import urllib.parse

from media_helpers import LiveServerTest, Publisher, Studio, metric
from sreda_harness import wait_for
from test_studio_view import token_of


class StudioViewMediaTest(LiveServerTest):
    def view(self, studio):
        r = self.server.get(f"/api/studios/{studio.id}", token=self.token)
        _, t = token_of(r.json["view_url"])
        r = self.server.get(f"/api/studio-view/{studio.id}?t={urllib.parse.quote(t, safe='')}")
        self.assertEqual(r.status, 200, r)
        return r.json

    def view_token(self, studio):
        return token_of(self.server.get(f"/api/studios/{studio.id}", token=self.token).json["view_url"])[1]

    def test_view_token_cannot_publish(self):
        s = Studio(self.server, self.token, "Токен не ключ")
        t = self.view_token(s)
        before = metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="unknown_key")
        pub = Publisher(s.rtmp_url(key=t), seconds=2)
        self.assertNotEqual(pub.wait(), 0)
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="unknown_key"),
                         before + 1)
        before = metric(self.server, "sreda_ingest_refused_total", protocol="srt", reason="unknown_key")
        pub = Publisher(f"srt://127.0.0.1:{self.server.srt_port}?streamid=publish:{t}&latency=200000", seconds=2,
                        fmt="mpegts")
        try:
            wait_for(lambda: metric(self.server, "sreda_ingest_refused_total", protocol="srt",
                                    reason="unknown_key") == before + 1, 60, "the SRT publish to be refused")
        finally:
            pub.kill()
        self.assertEqual(s.state(), "scheduled")
        self.assertIsNone(self.view(s)["live"])

    def test_live_stream_is_healthy_then_no_sound(self):
        s = Studio(self.server, self.token, "Здоровый поток")
        pub = Publisher(s.rtmp_url(), seconds=30)
        try:
            def healthy():
                v = self.view(s)
                return v if v["health"] and v["health"]["level"] == "good" and v["live"]["uptime_s"] >= 5 else None
            v = wait_for(healthy, 60, "the view to call the stream healthy")
            self.assertEqual(v["event"]["state"], "live")
            self.assertEqual(v["live"]["state"], "live")
            self.assertTrue(v["live"]["audio"])
            self.assertTrue(v["live"]["video"])
            self.assertGreater(v["live"]["bitrate_kbps"], 0)
            self.assertTrue(v["health"]["text"].startswith("Your picture and sound are arriving well"), v["health"])
            self.assertEqual(v["advice"], [])  # 25 fps, a keyframe a second, 4:2:0: nothing to change
        finally:
            pub.kill()
        v = wait_for(lambda: (lambda v: v if v["live"] and v["live"]["state"] == "intermission" else None)(
            self.view(s)), 60, "the studio to drop")
        self.assertEqual(v["health"]["level"], "bad")
        self.assertIn("Reconnecting", v["health"]["text"])

        silent = Studio(self.server, self.token, "Без звука")
        pub = Publisher(silent.rtmp_url(), seconds=30, extra=["-an"])
        try:
            v = wait_for(lambda: (lambda v: v if v["health"] and v["health"]["level"] != "starting" else None)(
                self.view(silent)), 60, "the view to judge the silent stream")
            self.assertFalse(v["live"]["audio"])
            self.assertEqual(v["health"]["level"], "bad")
            self.assertIn("No sound is arriving", v["health"]["text"])
        finally:
            pub.kill()


if __name__ == "__main__":
    unittest.main()


class StudioAdviceMediaTest(LiveServerTest):
    """Settings that play but serve viewers badly (rare keyframes, 60 fps), and a picture browsers cannot show,
    are explained on the artist's view and in the desk's live data, with the OBS setting to change."""

    def view(self, studio):
        t = token_of(self.server.get(f"/api/studios/{studio.id}", token=self.token).json["view_url"])[1]
        r = self.server.get(f"/api/studio-view/{studio.id}?t={urllib.parse.quote(t, safe='')}")
        self.assertEqual(r.status, 200, r)
        return r.json

    def advice_codes(self, studio):
        return {a["code"] for a in self.view(studio)["advice"]}

    def test_rare_keyframes_and_high_frame_rate(self):
        s = Studio(self.server, self.token, "Редкие опорные кадры")
        pub = Publisher(s.rtmp_url(), seconds=40, extra=["-r", "50", "-g", "300"])
        try:
            wait_for(lambda: {"rare_keyframes", "high_frame_rate"} <= self.advice_codes(s), 60,
                     "advice about keyframes and the frame rate")
            advice = {a["code"]: a for a in self.view(s)["advice"]}
            self.assertGreaterEqual(advice["rare_keyframes"]["seconds"], 5)
            self.assertIn("Keyframe Interval", advice["rare_keyframes"]["text"])
            self.assertEqual(advice["high_frame_rate"]["fps"], 50)
            self.assertNotIn("unplayable_picture", advice)
            live = self.server.get(f"/api/events/{s.event_id}/live", token=self.token).json
            self.assertEqual({a["code"] for a in live["advice"]}, {"rare_keyframes", "high_frame_rate"})
        finally:
            pub.kill()

    def test_a_picture_browsers_cannot_show(self):
        s = Studio(self.server, self.token, "4:4:4")
        pub = Publisher(s.rtmp_url(), seconds=30, extra=["-pix_fmt", "yuv444p", "-profile:v", "high444"])
        try:
            wait_for(lambda: "unplayable_picture" in self.advice_codes(s), 60, "advice about the picture format")
            a = next(a for a in self.view(s)["advice"] if a["code"] == "unplayable_picture")
            # Viewers still watch (the ladder converts it: test_transcode_media), so a warning, not an alarm.
            self.assertEqual(a["level"], "warn")
            self.assertIn("4:4:4", a["format"])
            self.assertIn("converts it", a["text"])
            self.assertIn("NV12", a["text"])
        finally:
            pub.kill()
