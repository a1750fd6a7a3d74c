"""The archive: a live event is recorded as it happens and is a VOD the moment it ends; the recording is
served from disk under /archive/ (no file outside the archive folder is ever served); a server killed
mid-publish repairs the recording at its next start."""
import http.client
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import unittest

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio, decode_errors, ffprobe
from sreda_harness import Server, wait_for

SEGMENT_S = 2.0  # live.segment_target_ms


def archive_url(server, event_id, rest="master.m3u8"):
    return f"http://127.0.0.1:{server.port}/archive/{event_id}/{rest}"


def public_duration_s(playlist_text):
    return sum(float(line.split(":")[1].split(",")[0]) for line in playlist_text.splitlines()
               if line.startswith("#EXTINF:"))


def publish_and_end(test, name, seconds):
    """A studio publishes for `seconds`, the curator ends its event, and its recording is archived."""
    studio = Studio(test.server, test.token, name)
    studio.publish(seconds)
    r = test.server.post(f"/api/events/{studio.event_id}/end", token=test.token)
    test.assertEqual(r.status, 200, r)
    studio.wait_state("archived")
    return studio


class ArchiveRecordingTest(LiveServerTest):
    def publish_and_end(self, name, seconds):
        return publish_and_end(self, name, seconds)

    def test_live_event_becomes_a_vod_with_the_published_duration(self):
        studio = self.publish_and_end("Архивный зал", 10)
        s, eid = self.server, studio.event_id
        # On disk, where the README says.
        event_dir = os.path.join(s.data_dir, "archive", str(eid))
        self.assertTrue(os.path.isfile(os.path.join(event_dir, "master.m3u8")))
        self.assertTrue(os.path.isfile(os.path.join(event_dir, "source", "init.mp4")))
        self.assertEqual([f for f in os.listdir(os.path.join(event_dir, "source")) if f.endswith(".partial")], [])
        master = s.get(f"/archive/{eid}/master.m3u8")
        self.assertEqual(master.status, 200)
        self.assertEqual(master.headers["content-type"], "application/vnd.apple.mpegurl")
        self.assertRegex(master.text, r'RESOLUTION=320x240')
        self.assertRegex(master.text, r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"')
        vod = s.get(f"/archive/{eid}/source/index.m3u8")
        self.assertEqual(vod.status, 200)
        for tag in ("#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", "#EXT-X-MAP:URI=\"init.mp4\"",
                    "#EXT-X-PROGRAM-DATE-TIME:"):
            self.assertIn(tag, vod.text)
        self.assertNotIn("#EXT-X-PART", vod.text)
        # Every rendition plays with the published duration (± one segment), both tracks, no decode errors.
        probe = ffprobe(archive_url(s, eid))  # every variant of the master: source (h264+aac) and the audio rung
        self.assertEqual(sorted({st["codec_name"] for st in probe["streams"]}), ["aac", "h264"])
        self.assertAlmostEqual(float(probe["format"]["duration"]), 10.0, delta=SEGMENT_S)
        rendition = ffprobe(archive_url(s, eid, "source/index.m3u8"))
        self.assertAlmostEqual(float(rendition["format"]["duration"]), 10.0, delta=SEGMENT_S)
        self.assertEqual(decode_errors(archive_url(s, eid)), "")
        # Media are immutable for edges.
        seg = s.get(f"/archive/{eid}/source/seg0.m4s")
        self.assertEqual(seg.status, 200)
        self.assertIn("immutable", seg.headers["cache-control"])
        init = s.get(f"/archive/{eid}/source/init.mp4")
        self.assertEqual((init.status, init.headers["content-type"]), (200, "video/mp4"))
        # The public archive lists it.
        page = s.get("/api/public/events?when=archive").json
        listed = [e for e in page["events"] if e["id"] == eid]
        self.assertEqual(len(listed), 1, page)
        self.assertEqual(listed[0]["state"], "archived")
        self.assertAlmostEqual(listed[0]["duration_s"], 10.0, delta=SEGMENT_S)
        # A poster: a real 320x240 JPEG of the recording.
        self.assertEqual(listed[0]["poster"], f"/archive/{eid}/poster.jpg")
        poster = s.get(listed[0]["poster"])
        self.assertEqual((poster.status, poster.headers["content-type"]), (200, "image/jpeg"))
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(poster.body)
            f.flush()
            st = ffprobe(f.name)["streams"][0]
            self.assertEqual((st["codec_name"], st["width"], st["height"]), ("mjpeg", 320, 240))

    def test_paths_outside_the_archive_are_refused(self):
        studio = self.publish_and_end("Архив без обходов", 3)
        s, eid = self.server, studio.event_id
        # A file that exists right next to the archive folder, and the database above it.
        with open(os.path.join(s.data_dir, "archive", "secret.txt"), "w") as f:
            f.write("not for the web")
        attempts = [
            f"/archive/{eid}/../secret.txt",
            f"/archive/{eid}/source/../../secret.txt",
            f"/archive/{eid}/%2e%2e/secret.txt",
            f"/archive/{eid}/source/%2e%2e%2f%2e%2e%2fsecret.txt",
            f"/archive/{eid}/source/..%2f..%2f..%2fsreda.db",
            f"/archive/{eid}/..%2f..%2fsreda.db",
            "/archive/../sreda.db",
            "/archive/%2e%2e/sreda.db",
            f"/archive/{eid}/source/seg0.m4s%00.txt",
            f"/archive/{eid}/source/%5c..%5c..%5csecret.txt",
            f"/archive/{eid}/source/index.m3u8.tmp",
            f"/archive/{eid}/source/seg0.m4s.partial",
            f"/archive/{eid}/source//etc/passwd",
            "/archive//etc/passwd",
            f"/archive/{eid}/secret.txt",
            "/archive/secret.txt",
        ]
        for path in attempts:
            try:
                r = s.get(path)
            except http.client.RemoteDisconnected:
                self.assertIn("%00", path)  # libwebsockets drops a request with a NUL in its URI: refused too
                continue
            self.assertIn(r.status, (400, 404), f"{path} → {r.status}")
            self.assertNotIn(b"not for the web", r.body, path)
            self.assertNotIn(b"SQLite format", r.body, path)
        # …while the real files are served.
        self.assertEqual(s.get(f"/archive/{eid}/source/seg0.m4s").status, 200)
        self.assertEqual(s.get("/archive/999999/master.m3u8").status, 404)

    def test_curator_tools_info_mp4_export_trim_and_delete(self):
        studio = self.publish_and_end("Кураторская", 8)
        s, eid, token = self.server, studio.event_id, self.token
        self.assertEqual(s.get(f"/api/events/{eid}/recording").status, 401)
        info = s.get(f"/api/events/{eid}/recording", token=token).json
        self.assertEqual(info["state"], "archived")
        # A 320x240 publish: the studio's own stream and the default ladder's listen-only rung (no video rung
        # is taller than the source).
        self.assertEqual(sorted(r["name"] for r in info["renditions"]), ["audio", "source"])
        self.assertFalse(info["repaired"])
        self.assertIsNone(info["error"])
        self.assertAlmostEqual(info["duration_s"], 8.0, delta=SEGMENT_S)
        event_dir = os.path.join(s.data_dir, "archive", str(eid))
        on_disk = sum(os.path.getsize(os.path.join(event_dir, r, f)) for r in ("audio", "source")
                      for f in os.listdir(os.path.join(event_dir, r)) if f.startswith(("init", "seg")))
        self.assertEqual(info["bytes"], on_disk)

        # The MP4: moov before mdat, both tracks, the recording's duration.
        mp4 = s.get(f"/api/events/{eid}/recording.mp4?rendition=source", token=token, timeout=300)
        self.assertEqual(mp4.status, 200, mp4)
        self.assertEqual(mp4.headers["content-type"], "video/mp4")
        self.assertIn("attachment", mp4.headers["content-disposition"])
        boxes = top_level_boxes(mp4.body)
        self.assertIn("moov", boxes)
        self.assertLess(boxes.index("moov"), boxes.index("mdat"), boxes)
        self.assertNotIn("moof", boxes)
        with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
            f.write(mp4.body)
            f.flush()
            probe = ffprobe(f.name)
            self.assertEqual(sorted(st["codec_name"] for st in probe["streams"]), ["aac", "h264"])
            self.assertAlmostEqual(float(probe["format"]["duration"]), info["duration_s"], delta=0.5)
            self.assertEqual(decode_errors(f.name), "")
        self.assertEqual(s.get(f"/api/events/{eid}/recording.mp4?rendition=720p", token=token).status, 404)

        # Trim the first 3 s: whole segments go, the public duration shrinks; undo restores it.
        full = public_duration_s(s.get(f"/archive/{eid}/source/index.m3u8").text)
        r = s.post(f"/api/events/{eid}/recording/trim", {"start_ms": 3000, "end_ms": None}, token=token)
        self.assertEqual(r.status, 200, r)
        trimmed = public_duration_s(s.get(f"/archive/{eid}/source/index.m3u8").text)
        self.assertLess(trimmed, full - 1.0)
        self.assertGreater(trimmed, full - 3.0 - SEGMENT_S)
        # The recording's duration is its longest rendition's: the audio rung's segments may end a few AAC
        # frames (23 ms each) after the source's.
        self.assertAlmostEqual(r.json["public_duration_s"], trimmed, delta=0.1)
        listed = [e for e in s.get("/api/public/events?when=archive").json["events"] if e["id"] == eid][0]
        self.assertAlmostEqual(listed["duration_s"], trimmed, delta=0.1)
        self.assertIn("poster", listed)
        self.assertAlmostEqual(float(ffprobe(archive_url(s, eid))["format"]["duration"]), trimmed, delta=0.3)
        bad = s.post(f"/api/events/{eid}/recording/trim", {"start_ms": 5000, "end_ms": 1000}, token=token)
        self.assertEqual(bad.status, 422, bad)
        r = s.post(f"/api/events/{eid}/recording/trim", {"start_ms": None, "end_ms": None}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertAlmostEqual(public_duration_s(s.get(f"/archive/{eid}/source/index.m3u8").text), full, delta=0.001)

        # Delete: files and row gone, the event is merely ended.
        r = s.request("DELETE", f"/api/events/{eid}/recording", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(os.path.exists(event_dir))
        self.assertEqual(s.get(f"/api/events/{eid}/recording", token=token).status, 404)
        self.assertEqual(s.get(f"/archive/{eid}/master.m3u8").status, 404)
        self.assertEqual(studio.state(), "ended")
        self.assertEqual(s.request("DELETE", f"/api/events/{eid}/recording", token=token).status, 404)


def top_level_boxes(data):
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[at + 8:at + 16], "big")
        if size < 8:
            break
        boxes.append(kind)
        at += size
    return boxes


class ArchiveCrashTest(LiveServerTest):
    server_per_test = True

    def test_kill_9_mid_publish_then_restart_repairs_the_recording(self):
        s = self.server
        studio = Studio(s, self.token, "Студия с обрывом")
        pub = Publisher(studio.rtmp_url(), seconds=30)
        try:
            studio.wait_media()
            source = os.path.join(s.data_dir, "archive", str(studio.event_id), "source")
            # Six seconds of media on disk (three 2 s segments), then the power goes.
            wait_for(lambda: os.path.isdir(source) and
                     len([f for f in os.listdir(source) if f.endswith(".m4s")]) >= 3, 30,
                     "three recorded segments")
            s.kill9()
        finally:
            pub.kill()
        s.start()
        log = s.log()
        self.assertRegex(log, rf"repaired event {studio.event_id}: 2 rendition\(s\)")
        self.assertIn("closed playlist", log)
        # The studio does not come back: after the grace the event is archived with the repaired recording.
        studio.wait_state("archived", timeout=GRACE_S + 30)
        vod = s.get(f"/archive/{studio.event_id}/source/index.m3u8").text
        self.assertIn("#EXT-X-ENDLIST", vod)
        probe = ffprobe(archive_url(s, studio.event_id))  # source (h264+aac) and the audio rung
        self.assertEqual(sorted({st["codec_name"] for st in probe["streams"]}), ["aac", "h264"])
        self.assertGreaterEqual(float(probe["format"]["duration"]), 5.0)
        self.assertEqual(decode_errors(archive_url(s, studio.event_id)), "")
        self.assertEqual([f for f in os.listdir(source) if f.endswith(".partial") or f.endswith(".tmp")], [])


class ArchiveDiskFullTest(unittest.TestCase):
    """A real full disk: the archive folder is a 1.5 MiB tmpfs (needs root to mount); 1 MiB of it is the
    recorder's reserve, freed to close the playlists when the disk is full."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a tiny tmpfs as the archive folder (run as root to test a full disk)")
        self.mnt = tempfile.mkdtemp(prefix="sreda-full-")
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", self.mnt], capture_output=True)
        if out.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here (" + out.stderr.decode().strip() + "): no full-disk test")
        self.server = Server(env={"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S),
                                  "SREDA_ARCHIVE_DIR": self.mnt}).start()
        self.token = self.server.login()

    def tearDown(self):
        try:
            self.server.cleanup()
        finally:
            subprocess.run(["umount", self.mnt], check=False)
            os.rmdir(self.mnt)

    def test_disk_full_stops_the_recording_not_the_live_stream(self):
        s = self.server
        studio = Studio(s, self.token, "Студия на полном диске")
        pub = Publisher(studio.rtmp_url(), seconds=40)
        try:
            studio.wait_media()
            def failed():
                info = s.get(f"/api/events/{studio.event_id}/recording", token=self.token).json
                return info if info.get("state") == "failed" else None
            info = wait_for(failed, 40, "the recording to fail")
            self.assertIn("No space left on device", info["error"])
            # …also in the curator's live view.
            live = s.get(f"/api/events/{studio.event_id}/live", token=self.token).json
            self.assertEqual(live["recording"]["state"], "failed")
            self.assertIn("No space left on device", live["recording"]["error"])
            failures = re.search(r"^sreda_archive_recording_failures_total (\S+)$", s.get("/metrics").text, re.M)
            self.assertGreaterEqual(float(failures.group(1)), 1)
            self.assertIn("recording stopped", s.log())
            # The live stream goes on: new segments keep coming after the recording stopped.
            def last_msn():
                text = s.get(f"/live/{studio.event_id}/source/index.m3u8").text
                return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) + text.count("#EXTINF")
            at_failure = last_msn()
            wait_for(lambda: last_msn() >= at_failure + 2, 30, "two more live segments")
            self.assertEqual(studio.state(), "live")
        finally:
            pub.kill()
        studio.wait_state("intermission")
        self.assertEqual(s.post(f"/api/events/{studio.event_id}/end", token=self.token).status, 200)
        studio.wait_state("archived")
        # What was recorded before the disk filled up stays playable.
        vod = s.get(f"/archive/{studio.event_id}/source/index.m3u8").text
        self.assertIn("#EXT-X-ENDLIST", vod, s.log())
        probe = ffprobe(archive_url(s, studio.event_id))
        self.assertGreater(float(probe["format"]["duration"]), 1.0)
        self.assertEqual(decode_errors(archive_url(s, studio.event_id)), "")
        self.assertIn("No space left", s.get(f"/api/events/{studio.event_id}/recording", token=self.token).json["error"])


class ArchiveRetentionTest(LiveServerTest):
    env = {"SREDA_ARCHIVE_MAX_BYTES": "200000"}  # room for one 4 s recording of the test card (~120 kB), not two

    def test_max_bytes_deletes_the_oldest_recording_first(self):
        s = self.server
        studios = [Studio(s, self.token, name) for name in ("Первая студия", "Вторая студия")]
        for studio in studios:
            studio.publish(4)
            self.assertEqual(s.post(f"/api/events/{studio.event_id}/end", token=self.token).status, 200)
        old, new = studios
        old.wait_state("ended")
        wait_for(lambda: old.state() == "ended" and new.state() == "archived", 30, "the oldest recording deleted")
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "archive", str(old.event_id))))
        self.assertEqual(s.get(f"/archive/{old.event_id}/master.m3u8").status, 404)
        self.assertEqual(s.get(f"/archive/{new.event_id}/master.m3u8").status, 200)
        self.assertRegex(s.log(), rf"deleted the recording of event {old.event_id} \(retention: the archive holds")
        listed = [e["id"] for e in s.get("/api/public/events?when=archive").json["events"] if "duration_s" in e]
        self.assertEqual(listed, [new.event_id])


class ArchiveKeepDaysTest(LiveServerTest):
    """archive.keep_days = 2: a recording made more than two days ago is deleted (files, row, public URLs; the
    event goes back to "ended"), a younger one stays. Retention runs at start, after each recording is archived
    and every 10 minutes; the recordings' stored creation times are moved into the past in the server's SQLite
    file, a day being too long to wait for."""
    env = {"SREDA_ARCHIVE_KEEP_DAYS": "2"}
    server_per_test = True

    def made_ago(self, studio, seconds):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "sreda.db"), timeout=30)
        try:
            with db:
                n = db.execute("UPDATE recordings SET created_at = ? WHERE event_id = ?",
                               (int(time.time() - seconds), studio.event_id)).rowcount
        finally:
            db.close()
        self.assertEqual(n, 1, f"event {studio.event_id} has a recording")

    def assert_deleted(self, studio):
        s = self.server
        studio.wait_state("ended")  # back from "archived"
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "archive", str(studio.event_id))))
        self.assertEqual(s.get(f"/archive/{studio.event_id}/master.m3u8").status, 404)
        self.assertEqual(s.get(f"/api/events/{studio.event_id}/recording", token=self.token).status, 404)
        self.assertRegex(s.log(), rf"deleted the recording of event {studio.event_id} \(retention: older than "
                                  r"archive.keep_days = 2\)")

    def assert_kept(self, studio):
        self.assertEqual(studio.state(), "archived")
        self.assertEqual(self.server.get(f"/archive/{studio.event_id}/master.m3u8").status, 200)

    def test_recordings_older_than_keep_days_are_deleted_and_younger_ones_kept(self):
        day = 86400
        old, young = publish_and_end(self, "Позавчерашний концерт", 3), publish_and_end(self, "Вчерашний концерт", 3)
        self.made_ago(old, 2 * day + 3600)
        self.made_ago(young, 2 * day - 3600)
        # The next recording archived applies retention.
        new = publish_and_end(self, "Сегодняшний концерт", 3)
        self.assert_deleted(old)
        self.assert_kept(young)
        self.assert_kept(new)
        listed = [e["id"] for e in self.server.get("/api/public/events?when=archive").json["events"]
                  if "duration_s" in e]
        self.assertEqual(sorted(listed), sorted([young.event_id, new.event_id]))
        # So does a start: the younger one has aged past the limit meanwhile.
        self.made_ago(young, 2 * day + 60)
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.server.start()
        self.assert_deleted(young)
        self.assert_kept(new)


if __name__ == "__main__":
    unittest.main()
