"""Studios publish over WHIP (a browser, OBS 30+): tests/tools/whip_client.cpp is the publisher (webrtcbin:
H.264 without B-frames + Opus, on 127.0.0.1). The event goes live with protocol "whip", plays as LL-HLS
(H.264 + AAC made from the Opus by the ladder), a DELETE puts it in intermission, a new publish within the
grace continues the same event, and after the grace it ends with its recording in the archive. The publish
rules are RTMP's and SRT's: wrong key 401, no event now 403, a second publisher 409, counted in /metrics; and a
publisher that went silent (its network dropped, no DELETE) is taken over by the studio's next publish."""
import datetime
import re
import subprocess
import threading
import unittest

from media_helpers import LADDER_ENV, LiveServerTest, Studio, ffprobe, metric, webrtc_tool_binary
from sreda_harness import wait_for

GRACE_S = 8  # a second publish starts within it (the client takes a second or two to offer)


def whip_client_binary(test_class):
    return webrtc_tool_binary(test_class, "whip_client")


class WhipPublisher:
    """One run of whip_client in the background; its `name=value` lines are read as they come."""

    def __init__(self, binary, server, studio_id, key, seconds=5, extra=()):
        self.lines = {}
        self.log = []
        self.proc = subprocess.Popen([binary, "--port", str(server.port), "--studio", str(studio_id), "--key", key,
                                      "--seconds", str(seconds), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        with self.proc.stdout:
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                self.log.append(line)
                m = re.match(r"^([a-z_]+)=(.*)$", line)  # its own lines, not GStreamer's warnings
                if m:
                    self.lines[m.group(1)] = m.group(2)

    def wait(self, timeout=60):
        code = self.proc.wait(timeout=timeout)
        self._reader.join(10)
        return code

    def wait_line(self, name, timeout=30):
        return wait_for(lambda: self.lines.get(name) or (self.proc.poll() is not None and self.lines.get(name)),
                        timeout, f"whip_client to print {name} (it printed {self.log}, {self.proc.poll()})")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)

    def __repr__(self):
        return f"<whip_client {self.proc.returncode}: {self.log}>"


class WhipIngestTest(LiveServerTest):
    env = {**LADDER_ENV, "SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S),
           "SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1", "SREDA_WEBRTC_TAKEOVER_SILENCE_MS": "2000",
           "SREDA_WEBRTC_MEDIA_TIMEOUT_S": "30"}

    @classmethod
    def setUpClass(cls):
        cls.client = whip_client_binary(cls)
        super().setUpClass()

    def publisher(self, studio, seconds=5, key=None, extra=()):
        pub = WhipPublisher(self.client, self.server, studio.id, key or studio.key, seconds, extra)
        self.addCleanup(pub.kill)
        return pub

    def refused(self, reason):
        return metric(self.server, "sreda_ingest_refused_total", protocol="whip", reason=reason)

    def test_publish_plays_reconnects_within_grace_and_ends_in_the_archive(self):
        studio = Studio(self.server, self.token, "WHIP зал")
        pub = self.publisher(studio, seconds=7)
        self.assertEqual(pub.wait_line("status"), "201", pub)
        self.assertRegex(pub.lines["location"], rf"^/whip/{studio.id}/[A-Za-z0-9_-]{{22}}$")
        info = studio.wait_media()
        p = info["publisher"]
        self.assertEqual(p["protocol"], "whip")
        self.assertEqual((p["media"]["video"]["codec"], p["media"]["video"]["width"], p["media"]["video"]["height"]),
                         ("h264", 320, 240))
        self.assertEqual(p["media"]["audio"]["codec"], "opus")
        live = f"http://127.0.0.1:{self.server.port}/live/{studio.event_id}/master.m3u8"
        wait_for(lambda: self.server.get(f"/live/{studio.event_id}/master.m3u8").status == 200, 30, "the master playlist")
        self.assertEqual(pub.wait(), 0, pub)
        self.assertEqual(pub.lines["delete_status"], "200")
        studio.wait_state("intermission")
        # Back within the grace: the same event goes on.
        again = self.publisher(studio, seconds=4)
        self.assertEqual(again.wait_line("status"), "201", again)
        wait_for(lambda: studio.state() == "live", 30, "the event live again")
        self.assertEqual(again.wait(), 0, again)
        self.assertEqual(studio.live()["reconnects"], 1)
        studio.wait_state("ended", timeout=GRACE_S + 30)
        playlist = studio.wait_playlists_end()
        # The publisher sends a keyframe only when asked (as browsers do): the server asks one per segment.
        segments = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", playlist)]
        self.assertGreaterEqual(len(segments), 4, playlist)
        self.assertLess(max(segments), 5.0, playlist)
        self.assertGreater(metric(self.server, "sreda_whip_keyframe_requests_total", cause="segment"), 0)
        probe = ffprobe(live)
        self.assertEqual(sorted({s["codec_name"] for s in probe["streams"]}), ["aac", "h264"])
        studio.wait_state("archived", timeout=60)
        archived = ffprobe(f"http://127.0.0.1:{self.server.port}/archive/{studio.event_id}/source/index.m3u8")
        self.assertEqual(sorted(s["codec_name"] for s in archived["streams"]), ["aac", "h264"])
        self.assertGreater(float(archived["format"]["duration"]), 5.0)

    def test_refusals_are_counted_and_a_silent_publisher_is_taken_over(self):
        studio = Studio(self.server, self.token, "WHIP библиотека")
        before = {r: self.refused(r) for r in ("unknown_key", "no_event", "already_live")}
        wrong = self.publisher(studio, key="no-such-key")
        self.assertEqual(wrong.wait(), 3, wrong)
        self.assertEqual(wrong.lines["status"], "401")
        bare = Studio(self.server, self.token, "WHIP без событий", minutes_from_now=None)
        outside = self.publisher(bare)
        self.assertEqual(outside.wait(), 3, outside)
        self.assertEqual(outside.lines["status"], "403")
        self.assertIn("no event is scheduled for this studio now", outside.lines["error"])

        first = self.publisher(studio, seconds=60, extra=["--no-delete"])
        self.assertEqual(first.wait_line("status"), "201", first)
        first.wait_line("connected")
        studio.wait_media()
        second = self.publisher(studio)
        self.assertEqual(second.wait(), 3, second)
        self.assertEqual(second.lines["status"], "409")
        self.assertIn("this studio is already publishing", second.lines["error"])
        for reason in before:
            wait_for(lambda: self.refused(reason) == before[reason] + 1, 10, f"the {reason} refusal counted")

        # Its network drops (no DELETE): once it has been silent for webrtc.takeover_silence_ms the studio's next
        # publish takes over and continues the same event.
        first.kill()
        taker = wait_for(lambda: (lambda p: p if p.wait() == 0 or p.lines.get("status") != "409" else None)(
            self.publisher(studio, seconds=3)), 30, "a publish that takes over")
        self.assertEqual(taker.lines["status"], "201", taker)
        self.assertEqual(taker.lines.get("delete_status"), "200", taker)
        self.assertEqual(metric(self.server, "sreda_ingest_takeovers_total", protocol="whip"), 1)
        self.assertEqual(studio.live()["reconnects"], 1)
        self.assertIn("taken over", self.server.log())

    def test_keyframes_are_asked_for_in_step_with_the_segments(self):
        # The publisher sends keyframes only when asked, as browsers do. The server asks for one every half
        # segment (webrtc.min_keyframe_request_ms 1000, live.segment_target_ms 2000), early by how late they come:
        # every segment starts with a keyframe and is near its target, not a keyframe interval late.
        studio = Studio(self.server, self.token, "WHIP ключевые кадры")
        pub = self.publisher(studio, seconds=30)
        self.assertEqual(pub.wait_line("status"), "201", pub)
        path = f"/live/{studio.event_id}/source/index.m3u8"

        def segments_with_parts():
            r = self.server.get(path)
            if r.status != 200:
                return None
            # The complete segments whose parts are listed: each a list of (duration, independent) parts.
            listed, parts = [], []
            for line in r.text.split("\n"):
                if line.startswith("#EXT-X-PART:"):
                    parts.append("INDEPENDENT=YES" in line)
                elif line.startswith("#EXTINF:"):
                    if parts:
                        listed.append(parts)
                    parts = []
            return (listed, r.text) if len(listed) >= 3 else None

        listed, text = wait_for(segments_with_parts, 60, "three complete segments with their parts listed")
        for parts in listed:
            self.assertTrue(parts[0], text)  # a segment starts with a keyframe
        # Two requests per segment, not one (the segment clock is half a segment): counted against the segments
        # closed so far (media time, so load does not change the ratio).
        closed = int(text.split("#EXT-X-MEDIA-SEQUENCE:")[1].split("\n")[0]) + text.count("#EXTINF:")
        requests = metric(self.server, "sreda_whip_keyframe_requests_total", cause="segment")
        self.assertGreaterEqual(requests, 1.5 * closed - 1, (requests, closed, text))
        pub.kill()

    def test_program_date_time_starts_at_the_first_media_not_at_the_publish(self):
        # A WHIP publish is accepted (the event live, 201) before ICE, DTLS and its first keyframe. Its media
        # clock (PROGRAM-DATE-TIME; the archive's and the comments' time) counts from its first media, logged as
        # "prepared": the first segment is not dated before it, so a player's PDT-based latency and the parts'
        # timing are not early by the connection's set-up.
        studio = Studio(self.server, self.token, "WHIP PDT")
        pub = self.publisher(studio, seconds=10)
        self.assertEqual(pub.wait_line("status"), "201", pub)
        path = f"/live/{studio.event_id}/source/index.m3u8"

        def first_pdt():
            r = self.server.get(path)
            m = re.search(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", r.text) if r.status == 200 else None
            return m.group(1) if m and "#EXT-X-MEDIA-SEQUENCE:0\n" in r.text else None

        pdt = _when(wait_for(first_pdt, 30, "the first segment's PROGRAM-DATE-TIME"))
        lines = self.server.log_lines_copy()
        live = [_when(line.split(" ")[0]) for line in lines if f"live: event {studio.event_id}" in line]
        prepared = [_when(line.split(" ")[0]) for line in lines
                    if f"event={studio.event_id}]" in line and "] prepared: " in line]
        self.assertTrue(live and prepared, "\n".join(lines[-30:]))
        # Logged after the clock is read; the first segment starts at a keyframe, at or after the first unit
        # (an audio unit may map up to a few frames before it): 0.1 s of slack.
        self.assertGreaterEqual(pdt, prepared[0] - 0.1, (pdt, "live", live[0], "prepared", prepared[0]))
        pub.kill()


def _when(stamp):
    """Seconds since the epoch of an RFC 3339 time with a Z (the server's logs and PROGRAM-DATE-TIME)."""
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    unittest.main()


class WhipMediaTimeoutTest(LiveServerTest):
    """webrtc.media_timeout_s: a publisher whose connection (ICE, DTLS) stays up but whose media never comes or
    stops (a stuck encoder) is dropped; the event waits for the studio in intermission, as for a dropped RTMP
    publisher, and the drop is counted and logged."""
    env = {**LADDER_ENV, "SREDA_STUDIOS_RECONNECT_GRACE_S": "30", "SREDA_WEBRTC_LOCAL_ADDRESSES": "127.0.0.1",
           "SREDA_WEBRTC_MEDIA_TIMEOUT_S": "2"}

    @classmethod
    def setUpClass(cls):
        cls.client = whip_client_binary(cls)
        super().setUpClass()

    def publisher(self, studio, extra):
        pub = WhipPublisher(self.client, self.server, studio.id, studio.key, 20, extra)
        self.addCleanup(pub.kill)
        return pub

    def timeouts(self, studio):
        return metric(self.server, "sreda_whip_media_timeouts_total", studio=studio.id)

    def test_a_publisher_without_media_is_dropped_and_the_event_waits_for_the_studio(self):
        studio = Studio(self.server, self.token, "WHIP без картинки")
        # Connects, never sends media: dropped after the timeout; the event waits for the studio.
        silent = self.publisher(studio, ["--media-for", "0"])
        self.assertEqual(silent.wait_line("status"), "201", silent)
        silent.wait_line("connected")
        wait_for(lambda: self.timeouts(studio) == 1, 30, "the silent publisher dropped")
        studio.wait_state("intermission")
        self.assertIn("closed: no media for 2 s (webrtc.media_timeout_s)", self.server.log())
        self.assertEqual(silent.wait(), 1, silent)  # its DELETE finds no session
        self.assertEqual(silent.lines["delete_status"], "404", silent)

        # Back within the grace with media that stops after 3 s while the session stays: the same event goes on,
        # then it is dropped again.
        stuck = self.publisher(studio, ["--media-for", "3"])
        self.assertEqual(stuck.wait_line("status"), "201", stuck)
        info = studio.wait_media()
        self.assertEqual(studio.state(), "live")
        stuck.wait_line("media_stopped")
        wait_for(lambda: self.timeouts(studio) == 2, 30, "the stuck publisher dropped")
        studio.wait_state("intermission")
        self.assertEqual(studio.live()["reconnects"], 1)
        self.assertEqual(stuck.wait(), 1, stuck)
        self.assertEqual(stuck.lines["delete_status"], "404", stuck)
        self.assertIn("sreda_whip_sessions 0\n", self.server.get("/metrics").text)

