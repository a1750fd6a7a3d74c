"""The ladder on a real server: ffmpeg publishes 640x360 over RTMP; the master playlist offers the source,
the 360p rung and the audio-only rung with measured bandwidth; each decodes in ffprobe; every frame published
reaches every video rendition, in order, with its own time (or is counted as dropped); the video renditions
cut their segments at the same times; curators see each rendition's health; a poster JPEG is served. The 360p
rung is the studio's own size: encoded at 2 Mb/s (over twice its 700 kb/s), left out at 300 kb/s (the studio's
own stream is then the top rendition, and curators see why). (How fast the rungs encode is a figure, not a
test: scripts/bench/live_timing prints it.)"""
import re
import subprocess
import unittest

from media_helpers import (FPS, GRACE_S, LADDER_ENV, LiveServerTest, Publisher, Studio, ffprobe,
                           non_monotonic_packets)
from sreda_harness import wait_for

SECONDS = 9
# Constant bitrates (x264's CBR with filler), so the ladder's choice of the studio-size rung is known ahead.
CBR_2000K = ["-b:v", "2000k", "-minrate", "2000k", "-maxrate", "2000k", "-bufsize", "1000k",
             "-x264-params", "nal-hrd=cbr:filler=1"]
CBR_300K = ["-b:v", "300k", "-maxrate", "300k", "-bufsize", "300k"]


def variants(master):
    """[(attributes, uri)] of a master playlist."""
    lines = master.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line[len("#EXT-X-STREAM-INF:"):]))
            out.append(({k: v.strip('"') for k, v in attrs.items()}, lines[i + 1]))
    return out


def video_frames(url):
    """The presentation times (seconds) of every video frame of a rendition, in decode order."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", url], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    return [float(t) for t in out.stdout.decode().split()]


def segment_numbers(playlist):
    """[(media sequence number, PROGRAM-DATE-TIME)] of a media playlist's segments."""
    msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist).group(1))
    out = []
    pdt = None
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line.startswith("#EXTINF:"):
            out.append((msn, pdt))
            msn += 1
            pdt = None
    return out


def segment_durations(playlist):
    return [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", playlist)]


class LadderTest(LiveServerTest):
    env = LADDER_ENV

    def test_640x360_publish_gets_source_360p_and_audio_renditions(self):
        studio = Studio(self.server, self.token, "Лекторий")
        pub = Publisher(studio.rtmp_url(), seconds=SECONDS, size="640x360", extra=CBR_2000K)
        base = f"/live/{studio.event_id}"
        try:
            def all_listed():
                r = self.server.get(base + "/master.m3u8")
                if r.status != 200:
                    return None
                names = [uri.split("/")[0] for _, uri in variants(r.text)]
                # Measured bandwidth once each rendition has complete segments.
                measured = all("AVERAGE-BANDWIDTH" in a for a, _ in variants(r.text))
                return r.text if names == ["source", "360p", "audio"] and measured else None
            master = wait_for(all_listed, 40, "source, 360p and audio in the master playlist")
            by_name = {uri.split("/")[0]: attrs for attrs, uri in variants(master)}
            self.assertEqual(by_name["source"]["RESOLUTION"], "640x360")
            self.assertEqual(by_name["360p"]["RESOLUTION"], "640x360")
            self.assertEqual(by_name["360p"]["FRAME-RATE"], "25.000")
            self.assertRegex(by_name["360p"]["CODECS"], r"^avc1\.[0-9a-f]{6},mp4a\.40\.2$")
            self.assertEqual(by_name["audio"]["CODECS"], "mp4a.40.2")
            self.assertNotIn("RESOLUTION", by_name["audio"])
            # Measured bandwidth: the 360p rung near its 700 kb/s (+ the source's 64 kb/s audio), the
            # audio rung near 64 kb/s. Peak per segment may exceed the average, never the reverse.
            for name, (low, high) in {"360p": (300_000, 1_200_000), "audio": (40_000, 120_000)}.items():
                avg = int(by_name[name]["AVERAGE-BANDWIDTH"])
                self.assertTrue(low < avg < high, f"{name}: AVERAGE-BANDWIDTH {avg}")
                self.assertGreaterEqual(int(by_name[name]["BANDWIDTH"]), avg)
            # Curators see each rendition's health.
            def rungs_encoding():
                live = self.server.get(f"/api/events/{studio.event_id}/live", token=self.token).json
                r = {x["name"]: x for x in live.get("renditions", [])}
                return r if r.get("360p", {}).get("fps", 0) > 0 else None
            health = wait_for(rungs_encoding, 20, "the 360p rung's health")
            self.assertEqual(set(health), {"source", "360p", "audio"})
            self.assertFalse(health["source"]["encoded"])
            h = health["360p"]
            self.assertTrue(h["encoded"] and h["active"])
            self.assertEqual(h["target_kbps"], 700)
            ladder = self.server.get(f"/api/events/{studio.event_id}/live", token=self.token).json["ladder"]
            self.assertEqual((ladder["name"], ladder["rungs"], ladder["left_out"]), ("default", ["360p", "audio"], []))
            self.assertGreaterEqual(ladder["source_kbps"], 1400)
            for key in ("kbps", "queue_depth", "dropped_frames", "frames", "fps"):
                self.assertIn(key, h)
            # The poster: a JPEG of the live picture.
            poster = wait_for(lambda: (lambda r: r if r.status == 200 else None)(self.server.get(base + "/poster.jpg")),
                              20, "a poster")
            self.assertEqual(poster.headers["content-type"], "image/jpeg")
            self.assertEqual(poster.body[:2], b"\xff\xd8")
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        studio.wait_state("ended", timeout=GRACE_S + 30)
        studio.wait_playlists_end(("source", "360p", "audio"))
        url = f"http://127.0.0.1:{self.server.port}{base}"
        # Each rendition decodes with what the master promised.
        streams = {name: sorted((s["codec_name"], s.get("width"), s.get("height"))
                                for s in ffprobe(f"{url}/{name}/index.m3u8")["streams"])
                   for name in ("source", "360p", "audio")}
        self.assertEqual(streams["source"], [("aac", None, None), ("h264", 640, 360)])
        self.assertEqual(streams["360p"], [("aac", None, None), ("h264", 640, 360)])
        self.assertEqual(streams["audio"], [("aac", None, None)])
        # Same segment boundaries in the video renditions (keyframes on the source's), so a player switches
        # between them at any segment; the last segment may end a little differently at the drain.
        source_playlist = self.server.get(base + "/source/index.m3u8").text
        rung_playlist = self.server.get(base + "/360p/index.m3u8").text
        # The ladder starts on the control thread while the source goes on; what came meanwhile is replayed
        # into it, so its segments carry the source's media sequence numbers and times.
        self.assertEqual(segment_numbers(rung_playlist), segment_numbers(source_playlist))
        source = segment_durations(source_playlist)
        rung = segment_durations(rung_playlist)
        self.assertGreaterEqual(len(source), 3)
        self.assertEqual(len(rung), len(source))
        for a, b in zip(source[:-1], rung[:-1]):
            self.assertAlmostEqual(a, b, delta=0.001)
        audio = segment_durations(self.server.get(base + "/audio/index.m3u8").text)
        self.assertAlmostEqual(sum(audio), sum(source), delta=0.5)
        # Every frame the studio sent, in every video rendition, in order, each at its own time. A rung under
        # overload may drop frames, but only those it counts in its health (which the desk shows).
        published = video_frames(f"{url}/source/index.m3u8")
        self.assertEqual(len(published), SECONDS * FPS)
        self.assertEqual(published, sorted(published), "source frames in presentation order")
        self.assertEqual(len(set(published)), len(published))
        final = {x["name"]: x for x in self.server.get(f"/api/events/{studio.event_id}/live",
                                                      token=self.token).json["renditions"]}
        rung = video_frames(f"{url}/360p/index.m3u8")
        self.assertEqual(rung, sorted(rung), "360p frames in presentation order")
        self.assertLessEqual(set(rung), set(published), "360p frames at the source's times")
        self.assertEqual((final["360p"]["frames"], len(rung) + final["360p"]["dropped_frames"]),
                         (len(rung), len(published)), f"360p: {final['360p']}")
        for name in ("source", "360p", "audio"):
            self.assertEqual(non_monotonic_packets(f"{url}/{name}/index.m3u8"), [], name)

    def test_640x360_publish_at_300k_gets_no_360p_rung(self):
        studio = Studio(self.server, self.token, "Библиотека")
        pub = Publisher(studio.rtmp_url(), seconds=6, size="640x360", extra=CBR_300K)
        base = f"/live/{studio.event_id}"
        try:
            def ladder_chosen():
                live = self.server.get(f"/api/events/{studio.event_id}/live", token=self.token).json
                return live.get("ladder")
            ladder = wait_for(ladder_chosen, 30, "the ladder's choice")
            self.assertEqual(ladder["rungs"], ["audio"])
            self.assertEqual([x["rung"] for x in ladder["left_out"]], ["360p"])
            self.assertRegex(ladder["left_out"][0]["reason"], r"studio sends \d+ kb/s, under 200 % of the rung's 700 kb/s")
            self.assertTrue(0 < ladder["source_kbps"] < 1400, ladder)

            def listed():
                r = self.server.get(base + "/master.m3u8")
                names = [uri.split("/")[0] for _, uri in variants(r.text)] if r.status == 200 else []
                return names if names == ["source", "audio"] else None
            wait_for(listed, 30, "source and audio (no 360p) in the master playlist")
            self.assertEqual(self.server.get(base + "/360p/index.m3u8").status, 404)
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()


if __name__ == "__main__":
    unittest.main()
