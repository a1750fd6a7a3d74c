"""Hostile RTMP clients while a studio is on air (issue 17): an 8 MiB AMF0 command and 64 silent connections
must not stop the concert or cost the server memory; rotating a studio's key disconnects the publisher that
uses the old one; newlines from the network never reach the log raw."""
import os
import re
import socket
import struct
import subprocess
import threading
import unittest

import rtmp_attacker as attack
from media_helpers import LiveServerTest, Publisher, Studio, metric
from sreda_harness import SOURCE_DIR, wait_for

PEAK_BUDGET_KIB = 100 * 1024  # the server's peak RSS may grow at most this much over idle under attack


class StudioFeed:
    """scripts/publish-test --small: a real ffmpeg studio publishing in real time."""

    def __init__(self, server, key, seconds=120):
        self.proc = subprocess.Popen([os.path.join(SOURCE_DIR, "scripts/publish-test"), "--small", key,
                                      f"127.0.0.1:{server.rtmp_port}", str(seconds)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        if not self.proc.stderr.closed:
            self.proc.communicate()


def live_position(server, event_id):
    """(media sequence, number of parts) of the event's live source playlist, or None."""
    r = server.get(f"/live/{event_id}/source/index.m3u8")
    if r.status != 200:
        return None
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", r.text)
    return (int(m.group(1)) if m else 0, r.text.count("#EXTINF:"), r.text.count("#EXT-X-PART:"))


def advanced_past(server, event_id, before):
    """True once the live playlist holds a segment that was not complete at `before`."""
    now = live_position(server, event_id)
    return now is not None and before is not None and now[0] + now[1] > before[0] + before[1]


def amf0(value):
    """A tiny AMF0 encoder for the commands below: str, float/int, None, dict (object)."""
    if value is None:
        return b"\x05"
    if isinstance(value, str):
        b = value.encode("utf-8")
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, dict):
        out = b"\x03"
        for k, v in value.items():
            kb = k.encode("utf-8")
            out += struct.pack(">H", len(kb)) + kb + amf0(v)
        return out + b"\x00\x00\x09"
    raise TypeError(value)


class HostileIngestTest(LiveServerTest):
    env = {"SREDA_INGEST_AUTH_TIMEOUT_S": "30"}  # silent connections stay for the whole test unless evicted

    def setUp(self):
        self.studio = Studio(self.server, self.token, self.next_name("Зал под атакой"))
        self.feed = StudioFeed(self.server, self.studio.key)
        self.addCleanup(self.feed.stop)
        self.studio.wait_media()
        wait_for(lambda: (live_position(self.server, self.studio.event_id) or (0, 0, 0))[1] >= 2, 60,
                 "two live segments")
        self.pid = self.server.proc.pid
        self.idle_kib = attack.vm_kib(self.pid, "VmHWM")

    def assert_playlist_advances(self):
        before = live_position(self.server, self.studio.event_id)
        wait_for(lambda: advanced_past(self.server, self.studio.event_id, before), 30,
                 "the live playlist to advance")

    def assert_peak_rss_bounded(self):
        peak = attack.vm_kib(self.pid, "VmHWM")
        self.assertLess(peak - self.idle_kib, PEAK_BUDGET_KIB,
                        f"peak RSS {peak // 1024} MiB vs {self.idle_kib // 1024} MiB idle")

    def test_eight_mebibyte_amf0_commands_are_refused_before_decoding(self):
        results = []

        def one():
            results.append(attack.big_amf0_command(self.server.rtmp_port))

        attackers = [threading.Thread(target=one) for _ in range(4)]
        for t in attackers:
            t.start()
        self.assert_playlist_advances()  # while the attackers send
        for t in attackers:
            t.join(120)
        self.assertEqual(len(results), 4)
        for closed_after, _sent in results:
            self.assertIsNotNone(closed_after, "the server never closed an attacker")
        # Each was closed after its first step: the log shows how little each attacker got in.
        lines = wait_for(lambda: [l for l in self.server.log_lines_copy() if "ingest.max_command_bytes" in l
                                  or "limit before publishing chunk_size" in l], 10, "the refusal lines")
        self.assertEqual(len(lines), 4, "\n".join(lines))
        for line in lines:
            self.assertIn("closed: refused:", line)
            self.assertLess(int(re.search(r"bytes_in=(\d+)", line).group(1)), 1 << 20, line)
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="chunk_size"), 4)
        self.assert_playlist_advances()
        self.assertEqual(self.studio.state(), "live")
        self.assert_peak_rss_bounded()

    def test_silent_connections_cannot_keep_a_studio_out(self):
        # 64 from the studio's own address (the per-address cap refuses most), and 64 from 64 other addresses
        # kept open (each one closed is opened again at once), while the studio is on air.
        same = attack.silent_connections(self.server.rtmp_port, 64)
        self.addCleanup(lambda: [s.close() for s in same])
        flood = attack.SilentFlood(self.server.rtmp_port, 64)
        self.addCleanup(flood.stop)
        wait_for(lambda: sum(attack.closed_by_peer(s) for s in same) >= 64 - 8, 30,
                 "the per-address cap to close the excess")
        self.assert_playlist_advances()
        # The studio drops and reconnects while the flood goes on: it gets a slot (the oldest silent connection
        # makes room) and the event is live again.
        self.feed.stop()
        self.studio.wait_state("intermission")
        self.feed = StudioFeed(self.server, self.studio.key)
        self.addCleanup(self.feed.stop)
        wait_for(lambda: self.studio.state() == "live", 30, "the studio to be live again")
        self.assert_playlist_advances()
        self.assertGreater(flood.reopened, 0, "the flood kept every slot busy")
        self.assertGreaterEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp",
                                       reason="connections_per_address"), 56)
        self.assertGreaterEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp",
                                       reason="evicted"), 1)
        # One log line per 10 s for each kind of refusal and for the closes of connections that never asked to
        # publish, however many there were.
        evicted = metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="evicted")
        log = self.server.log()
        self.assertLessEqual(log.count("(ingest.max_connections_per_address)"), 3, "refusals are throttled")
        self.assertLessEqual(log.count("closed: evicted:"), 3, f"{evicted} evictions")
        self.assert_peak_rss_bounded()

    def test_rotating_the_key_drops_the_publisher_that_uses_the_old_one(self):
        old_key = self.studio.key
        r = self.server.post(f"/api/studios/{self.studio.id}/rotate-key", token=self.token)
        self.assertEqual(r.status, 200, r)
        new_key = r.json["stream_key"]
        self.assertNotEqual(new_key, old_key)
        self.studio.wait_state("intermission")
        wait_for(lambda: self.feed.proc.poll() is not None, 30, "the old publisher to be disconnected")
        log = self.server.log()
        self.assertIn("used the old stream key", log)
        self.assertIn("the studio's stream key was rotated", log)
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="key_rotated"), 1)
        # The new key brings the event back.
        self.feed = StudioFeed(self.server, new_key)
        self.addCleanup(self.feed.stop)
        wait_for(lambda: self.studio.state() == "live", 30, "the studio to be live with the new key")

    def test_newlines_from_the_network_do_not_forge_log_lines(self):
        s = attack.connect(self.server.rtmp_port)
        try:
            attack.handshake(s)
            forged = "live\n2026-12-03T00:00:00.000Z error [app] FORGED"
            wire = attack.message(3, 20, amf0("connect") + amf0(1) + amf0({"app": forged}), 128)
            wire += attack.message(3, 20, amf0("createStream") + amf0(2) + amf0(None), 128)
            wire += attack.message(8, 20, amf0("publish") + amf0(3) + amf0(None) + amf0("nokey\rFORGED2") +
                                   amf0("live"), 128, stream_id=1)
            s.sendall(wire)
            self.assertIsNotNone(attack.eof_after(s, 30))
        finally:
            s.close()
        line = wait_for(lambda: [l for l in self.server.log_lines_copy() if "FORGED" in l and "publish requested" in l],
                        10, "the publish line")[0]
        self.assertIn("app=live\\n2026-12-03T00:00:00.000Z error [app] FORGED", line)
        self.assertFalse([l for l in self.server.log_lines_copy() if l.startswith("2026-12-03T00:00:00.000Z")])
        self.assert_playlist_advances()



class SrtPerAddressTest(LiveServerTest):
    """SRT counts connections per caller address too (here: one), before the handshake completes."""
    env = {"SREDA_INGEST_MAX_CONNECTIONS_PER_ADDRESS": "1"}

    def test_a_second_srt_caller_from_one_address_is_refused_and_the_first_goes_on(self):
        a = Studio(self.server, self.token, "SRT один")
        b = Studio(self.server, self.token, "SRT два")
        url = lambda key: f"srt://127.0.0.1:{self.server.srt_port}?streamid=publish:{key}&latency=200000"
        pa = Publisher(url(a.key), seconds=20, fmt="mpegts")
        self.addCleanup(pa.kill)
        a.wait_media()
        pb = Publisher(url(b.key), seconds=2, fmt="mpegts")
        self.assertNotEqual(pb.wait(), 0)
        self.assertEqual(b.state(), "scheduled")
        wait_for(lambda: metric(self.server, "sreda_ingest_refused_total", protocol="srt",
                                reason="connections_per_address") >= 1, 10, "the refusal to be counted")
        self.assertIn("refused: connections_per_address (127.0.0.1 has 1 connections", self.server.log())
        self.assertEqual(a.state(), "live")

class SrtHeldMediaTest(LiveServerTest):
    """An SRT publisher with a valid key whose MPEG-TS announces audio it does not send: the video it sends
    meanwhile is held only up to ingest.max_held_media_bytes (here 1 MiB), then the publisher is closed."""
    env = {"SREDA_INGEST_MAX_HELD_MEDIA_BYTES": "1048576"}

    def test_media_held_before_both_tracks_are_configured_is_bounded_in_bytes(self):
        studio = Studio(self.server, self.token, "SRT без звука")
        # Incompressible pictures (noise, lossless, ~60 KB each); the announced audio starts only after 4 s.
        path = os.path.join(self.server.data_dir, "late-audio.ts")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=160x120:rate=25,noise=alls=100:allf=t", "-itsoffset", "4", "-f", "lavfi", "-i",
                        "sine=sample_rate=48000:duration=1", "-t", "5", "-c:v", "libx264", "-preset", "ultrafast",
                        "-qp", "0", "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", "-f", "mpegts", path], check=True, timeout=60)
        url = f"srt://127.0.0.1:{self.server.srt_port}?streamid=publish:{studio.key}&latency=200000"
        pub = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-re", "-probesize", "64M", "-analyzeduration", "10M", "-i", path, "-c", "copy", "-f", "mpegts", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (pub.kill(), pub.wait()))
        wait_for(lambda: metric(self.server, "sreda_ingest_refused_total", protocol="srt",
                                reason="held_media_bytes") == 1, 60, "the held-media refusal to be counted")
        # One line says why; the session's own lifecycle lines (intermission, closed) repeat the reason.
        why = "more than 1048576 bytes of media held before both tracks were configured (ingest.max_held_media_bytes)"
        lines = [l for l in self.server.log_lines_copy() if "the stream cannot be used: " + why in l]
        self.assertEqual(len(lines), 1, self.server.log())
        self.assertIn("[srt 127.0.0.1", lines[0])
        wait_for(lambda: [l for l in self.server.log_lines_copy() if "closed: disconnected: " + why in l], 10,
                 "the SRT session's closed line")
        studio.wait_state("intermission")
        self.assertIsNone(studio.live().get("publisher"))


if __name__ == "__main__":
    unittest.main()
