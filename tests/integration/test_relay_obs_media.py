"""Relaying what OBS sends by default: H.264 High with 2 B-frames (pictures sent out of display order, each with
its composition offset), a keyframe every 250 frames at 30 fps, CBR, AAC at 48 kHz. sreda A relays such a
studio, without re-encoding, to a "platform" (nginx-rtmp) and to a partner sreda B with a ladder:
  - what the platform records is the studio's stream: the same codecs and picture size, its B-frames still out
    of order, decode times that only go forward, as long as A's own recording (within 1 s);
  - B's event is an event like any other: its ladder encodes the relayed stream, and each rung of B's
    recording decodes without an error, with times that only go forward."""
import secrets
import subprocess
import unittest

from media_helpers import (COPY, GRACE_S, LADDER_ENV, Publisher, Studio, class_clip, decode_errors, ffprobe,
                           non_monotonic_packets)
from nginx_rtmp import NginxRtmp, probe_recording
from sreda_harness import Server, ServerTestCase
from test_relay_platform_media import vod_duration_s

PUBLISH_S = 12


def reordered_video_packets(path):
    """Video packets whose presentation time differs from their decode time: B-frames kept as sent."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,dts_time",
                          "-of", "csv=p=0", path], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    rows = [line.split(",") for line in out.stdout.decode().split()]
    return sum(1 for r in rows if len(r) >= 2 and "N/A" not in r[:2] and float(r[0]) != float(r[1]))


def rung_playlists(server, event_id):
    """The variants of an archived event's master playlist: {name: path}, e.g. {"240p": "/archive/5/240p/…"}."""
    text = server.get(f"/archive/{event_id}/master.m3u8").text
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {u.split("/")[0]: f"/archive/{event_id}/{u}" for u in uris}


class ObsDefaultsRelayTest(ServerTestCase):
    @classmethod
    def server_env(cls):
        return {"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S), "SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clip = class_clip(cls, "obs.flv", seconds=PUBLISH_S)

    def setUp(self):
        super().setUp()
        self.platform = NginxRtmp().start()
        self.addCleanup(self.platform.stop)
        self.b = Server(env={"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S), **LADDER_ENV,
                             "SREDA_LADDER_DEFAULT": "small"}).start()
        self.addCleanup(self.b.cleanup)
        self.b_token = self.b.login()

    def test_obs_defaults_reach_the_platform_and_the_partners_ladder(self):
        a, b, platform = self.server, self.b, self.platform
        source = ffprobe(self.clip)["streams"]
        self.assertEqual([(s["codec_name"], s.get("has_b_frames")) for s in source if s["codec_type"] == "video"],
                         [("h264", 2)], "the clip is what OBS sends: H.264 with B-frames")
        studio = Studio(a, self.token, "Зал с OBS")
        partner = Studio(b, self.b_token, "Город Б: зал с лестницей")
        key = "live_" + secrets.token_hex(12)
        for name, url in (("Платформа", platform.url(key)),
                          ("Город Б", f"rtmp://127.0.0.1:{b.rtmp_port}/live/{partner.key}")):
            r = a.post(f"/api/events/{studio.event_id}/relays", {"name": name, "url": url}, token=self.token)
            self.assertEqual(r.status, 201, r)
        pub = Publisher(studio.rtmp_url(), seconds=PUBLISH_S, inputs=["-i", self.clip], codecs=COPY)
        try:
            media = studio.wait_media()["publisher"]["media"]["video"]
            self.assertEqual((media["codec"], media["width"], media["height"]), ("h264", 640, 360))
            platform.wait_arrived(key, timeout=30)
            got = partner.wait_media()["publisher"]["media"]["video"]
            self.assertEqual((got["codec"], got["width"], got["height"]), ("h264", 640, 360))
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("intermission")
        self.assertEqual(a.post(f"/api/events/{studio.event_id}/end", token=self.token).status, 200)
        studio.wait_state("archived", timeout=60)
        path = platform.wait_recorded(key, timeout=30)
        partner.wait_state("intermission", timeout=30)
        self.assertEqual(b.post(f"/api/events/{partner.event_id}/end", token=self.b_token).status, 200)
        partner.wait_state("archived", timeout=60)

        # The platform's recording: the studio's stream, B-frames and all, with times that only go forward.
        rec = probe_recording(path)
        self.assertEqual((rec["video_codec"], rec["width"], rec["height"], rec["audio_codec"]),
                         ("h264", 640, 360, "aac"))
        self.assertEqual(non_monotonic_packets(path), [])
        self.assertGreater(reordered_video_packets(path), PUBLISH_S * 10, "B-frames arrive as B-frames")
        event_s = vod_duration_s(a, studio.event_id)
        self.assertGreater(event_s, PUBLISH_S - 2)
        self.assertAlmostEqual(rec["duration"], event_s, delta=1.0,
                               msg=f"relayed {rec['duration']:.2f} s, the event's recording {event_s:.2f} s")
        self.assertEqual(decode_errors(path), "")

        # B's ladder made its rungs from the relayed stream; each decodes whole, times going forward. (On a busy
        # machine the ladder drops its top rung, as it should under overload: the rungs recorded are checked.)
        rungs = rung_playlists(b, partner.event_id)
        made = sorted(set(rungs) & {"360p", "240p"})
        self.assertTrue("source" in rungs and made,
                        f"{rungs}; B's ladder said:\n" + "\n".join(l for l in b.log().splitlines() if "ladder" in l))
        for name in ["source"] + made:
            url = f"http://127.0.0.1:{b.port}{rungs[name]}"
            video = next(s for s in ffprobe(url)["streams"] if s["codec_type"] == "video")
            self.assertEqual(video["height"], 360 if name == "source" else int(name[:-1]), name)
            self.assertEqual(decode_errors(url), "", name)
            self.assertEqual(non_monotonic_packets(url), [], name)
        self.assertAlmostEqual(vod_duration_s(b, partner.event_id), event_s, delta=1.0)
        self.assertNotIn(key, a.log())
        self.assertNotIn(partner.key, a.log())


if __name__ == "__main__":
    unittest.main()
