"""The curator's moderation settings over REST: slow mode read back (GET /api/events/{id}/slow-mode), the word
lists, and the moderation log (GET /api/audience/log, newest first, one event's with ?event_id=): what the
desk shows. Bad input gets 422 with the field named (and keeps what was set); no login gets 401; curators
(not only admins) may moderate."""
import unittest

from media_helpers import Studio
from sreda_harness import ServerTestCase


class ModerationApiTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.post("/api/curators", {"username": "olga", "password": "a long curator password",
                                              "role": "curator"}, token=cls.token)
        assert r.status == 201, r
        cls.curator = cls.server.login("olga", "a long curator password")
        cls.event_id = Studio(cls.server, cls.token, "Moderation studio").event_id
        cls.other_id = Studio(cls.server, cls.token, "Another studio").event_id

    def assertFieldError(self, r, field):
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["error"]["field"], field)
        self.assertEqual([f["field"] for f in r.json["error"]["fields"]], [field])
        self.assertTrue(r.json["error"]["fields"][0]["message"])

    def slow(self, event_id, token=None):
        return self.server.get(f"/api/events/{event_id}/slow-mode", token=token or self.token)

    def test_slow_mode_reads_back_what_was_set(self):
        r = self.slow(self.event_id)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"event_id": self.event_id, "slow_mode_s": 0}, "off when never set")
        r = self.server.post(f"/api/events/{self.event_id}/slow-mode", {"seconds": 45}, token=self.curator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.slow(self.event_id).json["slow_mode_s"], 45)
        self.assertEqual(self.slow(self.event_id, self.curator).json["slow_mode_s"], 45, "a curator reads it too")
        self.assertEqual(self.slow(self.other_id).json["slow_mode_s"], 0, "per event")

        for bad in ({"seconds": -1}, {"seconds": 3601}, {"seconds": "30"}, {"seconds": 1.5}, {}):
            with self.subTest(body=bad):
                self.assertFieldError(
                    self.server.post(f"/api/events/{self.event_id}/slow-mode", bad, token=self.token), "seconds")
        self.assertEqual(self.slow(self.event_id).json["slow_mode_s"], 45, "bad input changes nothing")

        self.assertEqual(self.slow(999999).status, 404)
        self.assertEqual(self.server.get(f"/api/events/{self.event_id}/slow-mode").status, 401)
        self.assertEqual(self.server.get(f"/api/events/{self.event_id}/slow-mode", token="not-a-token").status, 401)
        self.assertEqual(self.server.post(f"/api/events/{self.event_id}/slow-mode", {"seconds": 0}).status, 401)
        self.assertEqual(self.slow(self.event_id).json["slow_mode_s"], 45)

    def test_word_lists_per_language_and_bad_words_rejected(self):
        r = self.server.post("/api/audience/words", {"language": "en", "words": [" Idiot ", "fool"]}, token=self.curator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"language": "en", "words": ["idiot", "fool"]})
        for bad, field in ((["x" * 101], "words"), ([""], "words"), ([3], "words"), ("fool", "words")):
            with self.subTest(words=bad):
                self.assertFieldError(self.server.post("/api/audience/words", {"language": "en", "words": bad},
                                                       token=self.token), field)
        self.assertFieldError(self.server.post("/api/audience/words", {"words": ["a"]}, token=self.token), "language")
        self.assertFieldError(self.server.post("/api/audience/words", {"language": "", "words": []}, token=self.token),
                              "language")
        lists = self.server.get("/api/audience/words", token=self.token).json["words"]
        self.assertEqual(lists["en"], ["fool", "idiot"], "bad input keeps the list")
        self.assertEqual(self.server.get("/api/audience/words").status, 401)
        self.assertEqual(self.server.post("/api/audience/words", {"language": "en", "words": []}).status, 401)

    def test_the_log_says_who_did_what_when_newest_first_and_per_event(self):
        self.server.post(f"/api/events/{self.other_id}/slow-mode", {"seconds": 10}, token=self.curator)
        self.server.post(f"/api/events/{self.event_id}/slow-mode", {"seconds": 30}, token=self.token)
        log = self.server.get("/api/audience/log", token=self.curator)
        self.assertEqual(log.status, 200, log)
        entries = log.json["log"]
        self.assertEqual(entries[0]["curator"], "admin")
        self.assertEqual((entries[0]["action"], entries[0]["event_id"], entries[0]["target"]),
                         ("slow_mode", self.event_id, "30 s"))
        self.assertRegex(entries[0]["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertEqual((entries[1]["curator"], entries[1]["event_id"]), ("olga", self.other_id))

        mine = self.server.get(f"/api/audience/log?event_id={self.other_id}", token=self.token).json["log"]
        self.assertTrue(mine)
        self.assertEqual({e["event_id"] for e in mine}, {self.other_id})
        self.assertEqual(len(self.server.get("/api/audience/log?limit=1", token=self.token).json["log"]), 1)

        for query in ("event_id=abc", "event_id=0", "limit=0", "limit=501", "limit=2x"):
            with self.subTest(query=query):
                r = self.server.get(f"/api/audience/log?{query}", token=self.token)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json["error"]["field"], query.split("=")[0])
        self.assertEqual(self.server.get("/api/audience/log?event_id=999999", token=self.token).status, 404)
        self.assertEqual(self.server.get("/api/audience/log").status, 401)


if __name__ == "__main__":
    unittest.main()
