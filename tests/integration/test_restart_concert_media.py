"""A server killed (-9) in the middle of a concert and started again on the same ports by a supervisor, as
systemd's Restart=always does, while a studio publishes (retrying, as OBS's automatic reconnect does), a player
reloads the live playlist and a viewer comments: the playlist numbers on from where it was, with a
discontinuity, and is never served empty; the recording is one recording whose media time goes on; a comment
acknowledged before the crash is still there."""
import asyncio
import os
import posixpath
import re
import signal
import subprocess
import threading
import time
import unittest

from audience_client import Viewer
from media_helpers import LiveServerTest, Publisher, Studio, non_monotonic_packets
from sreda_harness import Server, wait_for


class SupervisedServer(Server):
    """sreda under a small supervisor: when it exits (a crash, kill -9) it is started again at once, on the same
    ports (the first start lets the kernel choose them)."""

    def start(self, expect_failure=False, timeout=30.0):
        super().start(timeout=timeout)
        self.args += ["--http-port", str(self.port), "--rtmp-port", str(self.rtmp_port),
                      "--srt-port", str(self.srt_port)]
        self.stopping = False
        self.restarts = 0
        self.earlier_logs = []
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.supervisor.start()
        return self

    def _supervise(self):
        while True:
            self.proc.wait()
            if self.stopping:
                return
            self.earlier_logs.append(self.log())
            try:
                Server.start(self)
            except AssertionError:
                if self.stopping:
                    return
                raise
            self.restarts += 1

    def crash(self):
        """kill -9 of the running server (the supervisor starts it again)."""
        os.kill(self.proc.pid, signal.SIGKILL)

    def all_logs(self):
        return "\n".join(self.earlier_logs + [self.log()])

    def stop(self, timeout=20.0):
        self.stopping = True
        code = super().stop(timeout)
        self.supervisor.join(timeout)
        return code


class RetryingPublisher:
    """A studio's encoder that reconnects: ffmpeg does not retry an RTMP output, so it runs again whenever it
    exits (the README's loop for studios), until stopped."""

    def __init__(self, url):
        self.url = url
        self.stopped = False
        self.runs = 0
        self.current = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped:
            self.current = Publisher(self.url, seconds=120)
            self.runs += 1
            self.current.wait(timeout=180)
            time.sleep(0.2)

    def stop(self):
        self.stopped = True
        if self.current and self.current.proc.poll() is None:
            self.current.proc.kill()  # the loop's wait() reaps it
        self.thread.join(30)


def parse(text):
    """(media sequence, discontinuity sequence, [(msn, discontinuity, parts)]) of a live media playlist."""
    seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    dseq = int(re.search(r"#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)", text).group(1))
    segments, msn, disc, parts = [], seq, False, 0
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            disc = True
        elif line.startswith("#EXT-X-PART:"):
            parts += 1
        elif line.startswith("seg") and line.endswith(".m4s"):
            segments.append((msn, disc, parts))
            msn, disc, parts = msn + 1, False, 0
    if parts:  # the segment in progress: parts only
        segments.append((msn, disc, parts))
    return seq, dseq, segments


class PlaylistPoller:
    """A player that reloads the live playlist every 100 ms, whatever happens, and keeps every answer."""

    def __init__(self, server, path):
        self.server, self.path = server, path
        self.answers = []  # (status, text) in order; status 0: no connection
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped:
            try:
                r = self.server.get(self.path, timeout=15)
                self.answers.append((r.status, r.text))
            except OSError:
                self.answers.append((0, ""))
            time.sleep(0.1)

    def stop(self):
        self.stopped = True
        self.thread.join(30)


class RestartMidConcertTest(LiveServerTest):
    env = {"SREDA_STUDIOS_RECONNECT_GRACE_S": "60"}
    server_per_test = True

    @classmethod
    def start_server(cls, holder):
        holder.server = SupervisedServer(env=cls.server_env()).start()
        holder.token = holder.server.login()

    def test_kill_9_mid_concert_continues_numbering_recording_and_comments(self):
        s = self.server
        studio = Studio(s, self.token, "Концерт с перезапуском")
        playlist = f"/live/{studio.event_id}/source/index.m3u8"
        publisher = RetryingPublisher(studio.rtmp_url())
        poller = None
        try:
            studio.wait_media()
            wait_for(lambda: s.get(playlist).status == 200 and len(parse(s.get(playlist).text)[2]) >= 3, 30,
                     "three segments in the live playlist")
            poller = PlaylistPoller(s, playlist)

            async def comment_then_crash():
                v = await Viewer(s, "restart-viewer", "Зритель").connect()
                await v.join(studio.event_id)
                await v.send({"type": "comment", "text": "до перезапуска"})
                ack = await v.expect(lambda m: m["type"] == "comment" and m["text"] == "до перезапуска")
                before = s.get(playlist).text
                s.crash()  # the moment the comment is acknowledged
                try:
                    await asyncio.wait_for(v.close(), 3)
                except (asyncio.TimeoutError, OSError):
                    pass
                return ack, before
            ack, before = asyncio.run(comment_then_crash())
            _, old_dseq, old_segments = parse(before)
            old_last_msn = old_segments[-1][0]
            old_discontinuities = old_dseq + sum(1 for _, d, _ in old_segments if d)

            wait_for(lambda: s.restarts >= 1, 30, "the supervisor to start the server again")
            self.assertIn(f"event {studio.event_id} was live when the server stopped", s.log())

            def resumed():
                r = s.get(playlist)
                if r.status != 200:
                    return None
                _, _, segments = parse(r.text)
                return r.text if segments and segments[-1][0] > old_last_msn and segments[-1][2] > 0 else None
            after = wait_for(resumed, 60, "the live playlist to go on after the restart")
            poller.stop()
            seq, dseq, segments = parse(after)
            # The numbering goes on past what players saw, the first new segment after a discontinuity that
            # the discontinuity sequence counts. Before it, the earlier run's last segments (from the recording,
            # up to the last one players saw): a player behind at the crash finds the segment after its last.
            earlier = [seg for seg in segments if seg[0] <= old_last_msn]
            new = [seg for seg in segments if seg[0] > old_last_msn]
            self.assertTrue(earlier and earlier[-1][0] == old_last_msn, after)
            self.assertEqual(new[0][0], old_last_msn + 1, after)
            self.assertTrue(new[0][1], "the first segment after the restart carries EXT-X-DISCONTINUITY")
            self.assertEqual(dseq + sum(1 for _, d, _ in earlier if d), old_discontinuities, (before, after))
            for msn, _, _ in earlier:
                self.assertEqual(s.get(f"/live/{studio.event_id}/source/seg{msn}.m4s").status, 200, msn)
            # Each init the playlist names answers while the event is live: the earlier run's (from the
            # recording) and the new run's; a player behind needs the old one to play the segments above.
            maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', after)
            self.assertEqual(len(maps), 2, after)
            for uri in maps:
                path = posixpath.normpath(posixpath.join(posixpath.dirname(playlist), uri))
                r = s.get(path)
                self.assertEqual(r.status, 200, path)
                self.assertGreater(len(r.body), 0, path)
            # No answer during the restart was an empty playlist or a 404: hls.js needs a whole segment (a
            # playlist of parts alone is a levelEmptyError) and does not retry a 4xx.
            for status, text in poller.answers:
                self.assertIn(status, (0, 200, 503), text[:300])
                if status == 200:
                    self.assertIn("#EXTINF", text, "a live playlist without a whole segment")
            self.assertTrue(any(status == 200 and parse(text)[2][-1][0] > old_last_msn for status, text in poller.answers),
                            "the poller reloaded across the restart")

            # The comment acknowledged before the crash is there.
            texts = [c["text"] for c in s.get(f"/api/public/events/{studio.event_id}/comments").json["comments"]]
            self.assertIn("до перезапуска", texts)
            self.assertIn(ack["id"], [c["id"] for c in s.get(f"/api/public/events/{studio.event_id}/comments").json["comments"]])
        finally:
            if poller:
                poller.stop()
            publisher.stop()

        r = s.post(f"/api/events/{studio.event_id}/end", token=self.token)
        self.assertEqual(r.status, 200, r)
        studio.wait_state("archived")
        # One recording: one playlist whose numbers and media time go on across the restart's discontinuity.
        recorded = s.get(f"/archive/{studio.event_id}/source/index.m3u8")
        self.assertEqual(recorded.status, 200, recorded)
        numbers = [int(n) for n in re.findall(r"^seg(\d+)\.m4s$", recorded.text, re.M)]
        self.assertEqual(numbers, sorted(set(numbers)), "segment numbers increase")
        self.assertGreaterEqual(recorded.text.count("#EXT-X-DISCONTINUITY\n"), 1, recorded.text)
        self.assertIn(old_last_msn, numbers)
        self.assertEqual(non_monotonic_packets(f"http://127.0.0.1:{s.port}/archive/{studio.event_id}/master.m3u8"),
                         [], "the recording's media time goes on across the restart")


if __name__ == "__main__":
    unittest.main()
