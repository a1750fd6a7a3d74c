"""Studios publish over SRT on one shared port: keys checked before the connection is accepted, optional
per-studio passphrase, several studios at once, media playable as LL-HLS."""
import unittest

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio, decode_errors, ffprobe, metric
from sreda_harness import wait_for


def srt_url(server, streamid, extra=""):
    return f"srt://127.0.0.1:{server.srt_port}?streamid={streamid}&latency=200000{extra}"


class SrtIngestTest(LiveServerTest):
    def test_publish_over_srt_goes_live_and_plays(self):
        studio = Studio(self.server, self.token, "SRT зал")
        pub = Publisher(srt_url(self.server, f"publish:{studio.key}"), seconds=4, fmt="mpegts")
        try:
            info = studio.wait_media()
            p = info["publisher"]
            self.assertEqual(p["protocol"], "srt")
            self.assertEqual((p["media"]["video"]["codec"], p["media"]["video"]["width"]), ("h264", 320))
            self.assertEqual(p["media"]["audio"]["codec"], "aac")
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("intermission")
        studio.wait_state("ended", timeout=GRACE_S + 30)
        studio.wait_playlists_end()
        self.assertEqual(decode_errors(studio.playlist_url()), "")
        probe = ffprobe(studio.playlist_url())
        self.assertEqual(sorted(s["codec_name"] for s in probe["streams"]), ["aac", "h264"])
        self.assertAlmostEqual(float(probe["format"]["duration"]), 4.0, delta=0.7)

    def test_wrong_key_is_refused_and_other_streamid_form_works(self):
        studio = Studio(self.server, self.token, "SRT библиотека")
        before = metric(self.server, "sreda_ingest_refused_total", protocol="srt", reason="unknown_key")
        wrong = Publisher(srt_url(self.server, "publish:no-such-key"), seconds=2, fmt="mpegts")
        self.assertNotEqual(wrong.wait(), 0)
        self.assertEqual(studio.state(), "scheduled")
        wait_for(lambda: metric(self.server, "sreda_ingest_refused_total", protocol="srt",
                                reason="unknown_key") == before + 1, 10, "the refusal to be counted")
        pub = Publisher(srt_url(self.server, f"#!::r={studio.key},m=publish"), seconds=3, fmt="mpegts")
        try:
            self.assertEqual(studio.wait_media()["publisher"]["protocol"], "srt")
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()

    def test_passphrase_and_two_studios_at_once(self):
        a = Studio(self.server, self.token, "SRT А")
        b = Studio(self.server, self.token, "SRT Б")
        r = self.server.request("PATCH", f"/api/studios/{b.id}", {"srt_passphrase": "short"}, token=self.token)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "srt_passphrase"))
        r = self.server.request("PATCH", f"/api/studios/{b.id}", {"srt_passphrase": "correct-horse-01"},
                                token=self.token)
        self.assertEqual(r.status, 200, r)
        # Without the passphrase the studio cannot publish.
        nopass = Publisher(srt_url(self.server, f"publish:{b.key}"), seconds=2, fmt="mpegts")
        self.assertNotEqual(nopass.wait(), 0)
        self.assertEqual(b.state(), "scheduled")
        pa = Publisher(srt_url(self.server, f"publish:{a.key}"), seconds=4, fmt="mpegts")
        pb = Publisher(srt_url(self.server, f"publish:{b.key}", "&passphrase=correct-horse-01&pbkeylen=16"),
                       seconds=4, fmt="mpegts")
        try:
            for s in (a, b):
                self.assertEqual(s.wait_media()["publisher"]["media"]["video"]["height"], 240)
            self.assertEqual(pa.wait(), 0, pa.stderr)
            self.assertEqual(pb.wait(), 0, pb.stderr)
        finally:
            pa.kill()
            pb.kill()
        for s in (a, b):
            s.wait_state("ended", timeout=GRACE_S + 30)
            self.assertEqual(decode_errors(s.playlist_url()), "")


if __name__ == "__main__":
    unittest.main()
