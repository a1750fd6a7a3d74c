"""The archive's life cycle as a curator and a viewer see it: the MP4 export of every rendition and of the
default (never a hang; an audio-only rendition as .m4a), the poster from a video rendition or a picture
card when there is no video, trimmed-away segments not public, and delete means deleted — the recording
goes with its event, every URL to it answers 404, and event ids are never reused."""
import datetime
import os
import subprocess
import sys
import tempfile
import time

import re

from media_helpers import LiveServerTest, Publisher, Studio, decode_errors, ffprobe, rfc3339
from sreda_harness import wait_for

SEGMENT_S = 2.0


def gauge(server, name):
    """A /metrics gauge without labels."""
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+]+)$", server.get("/metrics").text, re.M)
    assert m, f"{name} is not in /metrics"
    return float(m.group(1))


def probe_bytes(body, suffix):
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(body)
        f.flush()
        return ffprobe(f.name), decode_errors(f.name)


class ArchiveLifecycleTest(LiveServerTest):
    def publish_and_end(self, studio, seconds, extra=None):
        pub = Publisher(studio.rtmp_url(), seconds=seconds, extra=extra)
        try:
            studio.wait_media()
            self.assertEqual(pub.wait(), 0, pub.stderr)
        finally:
            pub.kill()
        wait_for(lambda: studio.state() in ("intermission", "ended", "archived"), 30, "the studio to leave")
        r = self.server.post(f"/api/events/{studio.event_id}/end", token=self.token)
        self.assertIn(r.status, (200, 409), r)  # 409: the grace period ended it already
        studio.wait_state("archived", timeout=60)

    def export(self, eid, query=""):
        started = time.monotonic()
        r = self.server.get(f"/api/events/{eid}/recording.mp4{query}", token=self.token, timeout=120)
        print(f"export {eid}{query or ' (default)'}: {r.status} in {(time.monotonic() - started) * 1000:.0f} ms",
              file=sys.stderr)
        return r

    def new_event(self, studio, minutes_from_now=5):
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
            datetime.timedelta(minutes=minutes_from_now)
        r = self.server.post("/api/events", {"title": "again", "category": "lecture", "studio_id": studio.id,
                                             "starts_at": rfc3339(start),
                                             "ends_at": rfc3339(start + datetime.timedelta(minutes=30))},
                             token=self.token)
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def test_export_of_every_rendition_and_the_default(self):
        studio = Studio(self.server, self.token, self.next_name("Экспорт"))
        # 640x480: the default ladder adds the rungs no taller than the source, and the listen-only rung.
        self.publish_and_end(studio, 6, extra=["-vf", "scale=640:480"])
        eid = studio.event_id
        info = self.server.get(f"/api/events/{eid}/recording", token=self.token).json
        durations = {r["name"]: r["duration_s"] for r in info["renditions"]}
        self.assertIn("audio", durations)
        self.assertIn("source", durations)
        self.assertGreater(len(durations), 2, durations)  # at least one video rung besides the source
        # Without ?rendition= (the README says it is optional): the source, with both tracks.
        for query, name in [("", "source")] + [(f"?rendition={n}", n) for n in sorted(durations)]:
            r = self.export(eid, query)
            self.assertEqual(r.status, 200, r)
            audio_only = name == "audio"
            ext = ".m4a" if audio_only else ".mp4"
            self.assertEqual(r.headers["content-type"], "audio/mp4" if audio_only else "video/mp4")
            self.assertIn(f'filename="event-{eid}-{name}{ext}"', r.headers["content-disposition"])
            probe, errors = probe_bytes(r.body, ext)
            self.assertEqual(sorted(s["codec_name"] for s in probe["streams"]),
                             ["aac"] if audio_only else ["aac", "h264"], name)
            self.assertAlmostEqual(float(probe["format"]["duration"]), durations[name], delta=0.5, msg=name)
            self.assertEqual(errors, "", name)
        self.assertEqual(gauge(self.server, "sreda_archive_export_timeouts_total"), 0)
        # The poster comes from the source's video, never tried from the audio rendition.
        self.assertFalse([l for l in self.server.log_lines_copy() if "no poster from audio" in l])
        poster = self.server.get(f"/archive/{eid}/poster.jpg")
        self.assertEqual(poster.status, 200)
        probe, _ = probe_bytes(poster.body, ".jpg")
        self.assertEqual((probe["streams"][0]["width"], probe["streams"][0]["height"]), (640, 480))

    def test_audio_only_event_exports_audio_and_gets_a_picture_card(self):
        studio = Studio(self.server, self.token, self.next_name("Чтения"))
        eid = studio.event_id
        # A reading: sound only, paced in real time.
        pub = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i",
                                "sine=frequency=440:duration=6", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
                                studio.rtmp_url()], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # While it is on air, the guide and the watch page show its picture card.
            card_url = f"/archive/{eid}/card.jpg"
            wait_for(lambda: self.server.get(f"/api/public/events/{eid}").json.get("poster") == card_url, 30,
                     "the live event's picture card")
            card = self.server.get(card_url)
            self.assertEqual((card.status, card.headers["content-type"]), (200, "image/jpeg"))
            _, err = pub.communicate(timeout=60)
            self.assertEqual(pub.returncode, 0, err)
        finally:
            if pub.poll() is None:
                pub.kill()
                pub.communicate()
        wait_for(lambda: studio.state() in ("intermission", "ended", "archived"), 30, "the studio to leave")
        r = self.server.post(f"/api/events/{eid}/end", token=self.token)
        self.assertIn(r.status, (200, 409), r)
        studio.wait_state("archived", timeout=60)
        r = self.export(eid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "audio/mp4")
        self.assertRegex(r.headers["content-disposition"], rf'filename="event-{eid}-\w+\.m4a"')
        probe, errors = probe_bytes(r.body, ".m4a")
        self.assertEqual([s["codec_name"] for s in probe["streams"]], ["aac"])
        self.assertAlmostEqual(float(probe["format"]["duration"]), 5.0, delta=SEGMENT_S)
        self.assertEqual(errors, "")
        # The picture card: the event's poster in the guide and on the watch page.
        listed = self.server.get(f"/api/public/events/{eid}").json
        self.assertEqual(listed["poster"], f"/archive/{eid}/poster.jpg")
        card = self.server.get(listed["poster"])
        self.assertEqual((card.status, card.headers["content-type"]), (200, "image/jpeg"))
        probe, errors = probe_bytes(card.body, ".jpg")
        self.assertEqual((probe["streams"][0]["codec_name"], probe["streams"][0]["width"],
                          probe["streams"][0]["height"]), ("mjpeg", 640, 360))
        self.assertTrue([l for l in self.server.log_lines_copy() if f"event {eid}: no video, its poster is a picture card" in l])

    def test_trimmed_away_segments_are_not_public(self):
        studio = Studio(self.server, self.token, self.next_name("Обрезка"))
        self.publish_and_end(studio, 8)
        s, eid = self.server, studio.event_id
        listed = [l for l in s.get(f"/archive/{eid}/source/index.m3u8").text.splitlines() if l.startswith("seg")]
        self.assertGreaterEqual(len(listed), 4)
        first, last = listed[0], listed[-1]
        self.assertEqual(s.get(f"/archive/{eid}/source/{first}").status, 200)
        r = s.post(f"/api/events/{eid}/recording/trim", {"start_ms": 3000, "end_ms": 4500}, token=self.token)
        self.assertEqual(r.status, 200, r)
        public = [l for l in s.get(f"/archive/{eid}/source/index.m3u8").text.splitlines() if l.startswith("seg")]
        self.assertNotIn(first, public)
        self.assertNotIn(last, public)
        for seg in (first, last):
            for rendition in ("source", "audio"):
                self.assertEqual(s.get(f"/archive/{eid}/{rendition}/{seg}").status, 404, f"{rendition}/{seg}")
        for seg in public:
            self.assertEqual(s.get(f"/archive/{eid}/source/{seg}").status, 200, seg)
        self.assertEqual(s.get(f"/archive/{eid}/source/init.mp4").status, 200)
        # Undo: everything is public again.
        r = s.post(f"/api/events/{eid}/recording/trim", {"start_ms": None, "end_ms": None}, token=self.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(s.get(f"/archive/{eid}/source/{first}").status, 200)
        self.assertEqual(s.get(f"/archive/{eid}/source/{last}").status, 200)

    def test_deleting_an_event_deletes_its_recording_and_its_id_is_never_reused(self):
        studio = Studio(self.server, self.token, self.next_name("Удаление"))
        self.publish_and_end(studio, 4)
        s, eid = self.server, studio.event_id
        event_dir = os.path.join(s.data_dir, "archive", str(eid))
        self.assertEqual(self.export(eid).status, 200)  # an export cached on disk, too
        urls = [f"/archive/{eid}/master.m3u8", f"/archive/{eid}/source/index.m3u8",
                f"/archive/{eid}/source/init.mp4", f"/archive/{eid}/source/seg0.m4s",
                f"/archive/{eid}/audio/index.m3u8", f"/archive/{eid}/poster.jpg"]
        for url in urls:
            self.assertEqual(s.get(url).status, 200, url)
        deletions = gauge(s, "sreda_archive_deletions_total")
        r = s.request("DELETE", f"/api/events/{eid}", token=self.token)
        self.assertEqual(r.status, 200, r)
        for url in urls:
            self.assertEqual(s.get(url).status, 404, url)
        self.assertEqual(s.get(f"/api/events/{eid}/recording.mp4", token=self.token).status, 404)
        self.assertEqual(s.get(f"/api/events/{eid}/recording", token=self.token).status, 404)
        self.assertFalse(os.path.exists(event_dir))
        self.assertEqual(gauge(s, "sreda_archive_deletions_total"), deletions + 1)
        self.assertTrue([l for l in s.log_lines_copy() if f"deleted the recording of event {eid} (event deleted by" in l])

        # The next event of the studio gets a new id and a recording of its own.
        new_id = self.new_event(studio, minutes_from_now=2)
        self.assertGreater(new_id, eid)
        studio.event_id = new_id
        self.publish_and_end(studio, 3)
        probe = ffprobe(f"http://127.0.0.1:{s.port}/archive/{new_id}/source/index.m3u8")
        self.assertAlmostEqual(float(probe["format"]["duration"]), 3.0, delta=SEGMENT_S)
        self.assertEqual(s.get(f"/archive/{eid}/master.m3u8").status, 404)

        # After a restart too; and a folder left by a deleted event (before deletes took recordings along)
        # is removed at start-up.
        newest = self.new_event(studio, minutes_from_now=60)
        self.assertEqual(s.request("DELETE", f"/api/events/{newest}", token=self.token).status, 200)
        stale = os.path.join(s.data_dir, "archive", str(newest + 50))
        os.makedirs(os.path.join(stale, "source"))
        with open(os.path.join(stale, "master.m3u8"), "w") as f:
            f.write("#EXTM3U\n")
        s.stop()
        s.start()
        type(self).token = s.login()
        wait_for(lambda: not os.path.exists(stale), 30, "the stale folder to be removed")
        self.assertEqual(s.get(f"/archive/{newest + 50}/master.m3u8").status, 404)
        self.assertGreater(self.new_event(studio, minutes_from_now=120), newest)
        self.assertEqual(s.get(f"/archive/{new_id}/master.m3u8").status, 200)  # a live event's folder stays
