"""When a studio may publish (README "Studios: publishing"; the config key studios.allow_unscheduled).

A studio goes live from 30 minutes before its event starts until 60 minutes after it ends: each edge is tried
a minute inside and a minute outside, with events scheduled relative to now. The API refuses an event that
has already ended, so the events after their end get their stored times moved into the past in the server's
SQLite file. Outside the window the publisher is refused with the stated reason and the event stays scheduled.
With studios.allow_unscheduled a studio with nothing scheduled publishes anyway and gets an event of its own,
titled after it, that ends before the studio's next event; without it, it is refused with the same reason.

Real ffmpeg publishers over RTMP against the real binary on 127.0.0.1."""
import datetime
import os
import sqlite3
import time
import unittest

from media_helpers import LiveServerTest, Publisher, Studio, metric, rfc3339
from sreda_harness import wait_for

NO_EVENT = ("no event is scheduled for this studio now (a studio may go live from 30 minutes before its event "
            "starts until 60 minutes after it ends)")


def move_event(server, event_id, starts_at, ends_at):
    """Sets an event's stored times (Unix seconds) in the server's SQLite file, as a past schedule leaves them."""
    db = sqlite3.connect(os.path.join(server.data_dir, "sreda.db"), timeout=30)
    try:
        with db:
            db.execute("UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?", (starts_at, ends_at, event_id))
    finally:
        db.close()


class Window:
    """Publishing attempts, for both classes."""

    def refused(self, studio, reason=NO_EVENT):
        """A real publisher with the studio's key is refused with `reason`; nothing goes live."""
        before = metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="no_event")
        pub = Publisher(studio.rtmp_url(), seconds=10)
        self.assertNotEqual(pub.wait(timeout=60), 0, "the publisher was not refused")
        self.assertIn(reason, pub.stderr, "ffmpeg shows the server's reason")
        self.assertEqual(metric(self.server, "sreda_ingest_refused_total", protocol="rtmp", reason="no_event"),
                         before + 1)
        self.assertIn(f"studio={studio.id}] publish refused: no event is scheduled for this studio now",
                      self.server.log())
        return pub

    def goes_live(self, studio):
        """A real publisher with the studio's key puts its event on air; the curator then ends it."""
        pub = Publisher(studio.rtmp_url(), seconds=60)
        try:
            info = studio.wait_media()
            self.assertEqual(info["state"], "live")
            self.assertEqual(studio.state(), "live")
            r = self.server.post(f"/api/events/{studio.event_id}/end", token=self.token)
            self.assertEqual(r.status, 200, r)
        finally:
            pub.kill()
        studio.wait_state("ended")


class PublishingWindowTest(Window, LiveServerTest):
    def studio_moved(self, name, starts_at, ends_at):
        studio = Studio(self.server, self.token, name)
        move_event(self.server, studio.event_id, int(starts_at), int(ends_at))
        self.assertEqual(self.server.get(f"/api/events/{studio.event_id}", token=self.token).json["ends_at"],
                         rfc3339(datetime.datetime.fromtimestamp(int(ends_at), datetime.timezone.utc)))
        return studio

    def test_29_minutes_before_the_start_goes_live(self):
        self.goes_live(Studio(self.server, self.token, "Рано, но можно", minutes_from_now=29))

    def test_31_minutes_before_the_start_is_refused(self):
        studio = Studio(self.server, self.token, "Слишком рано", minutes_from_now=31)
        self.refused(studio)
        self.assertEqual(studio.state(), "scheduled")

    def test_59_minutes_after_the_end_goes_live(self):
        now = time.time()
        self.goes_live(self.studio_moved("Поздно, но можно", now - 3 * 3600, now - 59 * 60))

    def test_61_minutes_after_the_end_is_refused(self):
        now = time.time()
        studio = self.studio_moved("Слишком поздно", now - 3 * 3600, now - 61 * 60)
        self.refused(studio)
        self.assertEqual(studio.state(), "scheduled")

    def test_a_studio_with_nothing_scheduled_is_refused_when_unscheduled_publishing_is_off(self):
        studio = Studio(self.server, self.token, "Без расписания", minutes_from_now=None)
        self.refused(studio)
        self.assertEqual([e for e in self.server.get("/api/events", token=self.token).json["events"]
                          if e["studio_id"] == studio.id], [], "no event made for it")


class UnscheduledPublishingTest(Window, LiveServerTest):
    env = {"SREDA_STUDIOS_ALLOW_UNSCHEDULED": "true"}

    def events_of(self, studio_id):
        return [e for e in self.server.get("/api/events", token=self.token).json["events"] if e["studio_id"] == studio_id]

    def test_a_studio_with_nothing_scheduled_goes_live_with_an_event_of_its_own(self):
        studio = Studio(self.server, self.token, "Открытая студия", minutes_from_now=None)
        studio_id = studio.id
        # Its next event starts in two hours: the event made now ends when that one starts.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        later = self.server.post("/api/events", {"title": "Вечерний концерт", "category": "concert",
                                                 "studio_id": studio_id,
                                                 "starts_at": rfc3339(now + datetime.timedelta(hours=2)),
                                                 "ends_at": rfc3339(now + datetime.timedelta(hours=3))},
                                 token=self.token)
        self.assertEqual(later.status, 201, later)
        pub = Publisher(studio.rtmp_url(), seconds=60)
        try:
            made = wait_for(lambda: [e for e in self.events_of(studio_id) if e["id"] != later.json["id"]], 30,
                            "an event made for the studio")
            self.assertEqual(len(made), 1, made)
            event = made[0]
            self.assertEqual((event["title"], event["category"]), ("Открытая студия", "other"))
            self.assertEqual(event["ends_at"], later.json["starts_at"])
            studio.event_id = event["id"]
            info = studio.wait_media()
            self.assertEqual(info["state"], "live")
            listed = self.server.get("/api/public/events?when=live").json["events"]
            self.assertIn(event["id"], [e["id"] for e in listed])
            r = self.server.post(f"/api/events/{event['id']}/end", token=self.token)
            self.assertEqual(r.status, 200, r)
        finally:
            pub.kill()
        studio.wait_state("ended")
        self.assertEqual(self.server.get(f"/api/public/events/{later.json['id']}").json["state"], "scheduled",
                         "the scheduled event is untouched")

    def test_a_scheduled_event_in_its_window_is_used_not_a_new_one(self):
        studio = Studio(self.server, self.token, "Студия с афишей")
        self.goes_live(studio)
        self.assertEqual([e["id"] for e in self.events_of(studio.id)], [studio.event_id])


if __name__ == "__main__":
    unittest.main()
