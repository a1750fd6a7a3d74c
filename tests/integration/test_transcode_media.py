"""Studios whose codecs players cannot take are transcoded, not refused: ffmpeg publishes HEVC + Opus (and
H.264 + MP3) over SRT, H.264 + MP3 over RTMP, H.264 High 4:4:4 over RTMP and High 10 over SRT; the media facts say what was published; the master playlist
offers only H.264/AAC variants (no `source` for HEVC: a rung at the source's size instead) and each decodes
in ffprobe."""
import unittest

from media_helpers import GRACE_S, LADDER_ENV, LiveServerTest, Publisher, Studio, ffprobe
from sreda_harness import wait_for
from test_ladder_media import variants
from test_ingest_srt_media import srt_url


HEVC_OPUS = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:min-keyint=25:log-level=error",
             "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "64k"]
# What OBS sends with Color Format I444 / I010 (x264 High 4:4:4, High 10): no browser decodes it.
H264_444 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv444p", "-profile:v", "high444",
            "-c:a", "aac", "-b:a", "96k"]
H264_10BIT = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p10le", "-profile:v", "high10",
              "-c:a", "aac", "-b:a", "96k"]
H264_MP3 = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "libmp3lame", "-b:a", "96k"]


class TranscodeTest(LiveServerTest):
    env = LADDER_ENV

    def run_publish(self, name, codecs, want_codecs, want_variants, rtmp=False):
        studio = Studio(self.server, self.token, name)
        url = studio.rtmp_url() if rtmp else srt_url(self.server, f"publish:{studio.key}")
        pub = Publisher(url, seconds=8, fmt="flv" if rtmp else "mpegts", codecs=codecs)
        base = f"/live/{studio.event_id}"
        try:
            media = studio.wait_media()["publisher"]["media"]
            self.assertEqual((media["video"]["codec"], media["audio"]["codec"]), want_codecs)
            self.assertEqual((media["video"]["width"], media["video"]["height"]), (320, 240))

            def listed():
                r = self.server.get(base + "/master.m3u8")
                if r.status != 200:
                    return None
                names = [uri.split("/")[0] for _, uri in variants(r.text)]
                return r.text if names == want_variants else None
            try:
                master = wait_for(listed, 40, f"{want_variants} in the master playlist")
            except AssertionError:
                print(self.server.get(base + "/master.m3u8").text, self.server.log()[-6000:])
                raise
            for attrs, uri in variants(master):
                # H.264 in a profile browsers play: Baseline 42, Main 4d, Extended 58, High 64.
                self.assertRegex(attrs["CODECS"], r"^(avc1\.(42|4d|58|64)[0-9a-f]{4},)?mp4a\.40\.2$", uri)
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("ended", timeout=GRACE_S + 30)
        url = f"http://127.0.0.1:{self.server.port}{base}"
        # ffprobe decodes each rendition's init and segments with what the master promised.
        streams = {}
        for name in want_variants:
            probe = ffprobe(f"{url}/{name}/index.m3u8")
            streams[name] = sorted((s["codec_name"], s.get("width"), s.get("height")) for s in probe["streams"])
            if name != "audio":
                self.assertAlmostEqual(float(probe["format"]["duration"]), 8.0, delta=1.5, msg=name)
        return streams

    def test_hevc_and_opus_over_srt_are_transcoded_to_h264_and_aac(self):
        streams = self.run_publish("HEVC зал", HEVC_OPUS, ("hevc", "opus"), ["240p", "audio"])
        self.assertEqual(streams["240p"], [("aac", None, None), ("h264", 320, 240)])
        self.assertEqual(streams["audio"], [("aac", None, None)])

    def test_h264_high_444_over_rtmp_is_transcoded_to_a_picture_browsers_show(self):
        streams = self.run_publish("4:4:4 зал", H264_444, ("h264", "aac"), ["240p", "audio"], rtmp=True)
        self.assertEqual(streams["240p"], [("aac", None, None), ("h264", 320, 240)])

    def test_h264_high_10_over_srt_is_transcoded_to_a_picture_browsers_show(self):
        streams = self.run_publish("10 бит зал", H264_10BIT, ("h264", "aac"), ["240p", "audio"])
        self.assertEqual(streams["240p"], [("aac", None, None), ("h264", 320, 240)])

    def test_h264_with_mp3_keeps_its_picture_and_gets_aac(self):
        # H.264 is passed through untouched; only the MP3 is transcoded (the source carries the ladder's AAC).
        streams = self.run_publish("MP3 зал", H264_MP3, ("h264", "mp3"), ["source", "audio"])
        self.assertEqual(streams["source"], [("aac", None, None), ("h264", 320, 240)])
        self.assertEqual(streams["audio"], [("aac", None, None)])

    def test_h264_with_mp3_over_rtmp_gets_aac_too(self):
        streams = self.run_publish("RTMP MP3 зал", H264_MP3, ("h264", "mp3"), ["source", "audio"], rtmp=True)
        self.assertEqual(streams["source"], [("aac", None, None), ("h264", 320, 240)])


if __name__ == "__main__":
    unittest.main()
