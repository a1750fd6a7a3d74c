"""Questions (issue 9): a viewer sends a comment as a question (`comment {text, question: true}`); the artist
(with the studio's view token, for that studio's events only) or a curator (bearer token) marks it answered;
every viewer hears `comment_answered`; the flags survive a restart and show in the replay API.

Independent client: Debian's python3-websockets against the real server on 127.0.0.1."""
import re
import unittest
import urllib.parse

from audience_client import Viewer
from media_helpers import Studio, run
from sreda_harness import ServerTestCase, wait_for

NOT_VALID = {"error": {"code": "link_not_valid", "message": "this link is no longer valid"}}


class Q:
    """Helpers shared by both test classes."""

    @staticmethod
    def view_token(server, token, studio):
        r = server.get(f"/api/studios/{studio.id}", token=token)
        assert r.status == 200, r
        m = re.fullmatch(r"/studio/(\d+)\?t=([A-Za-z0-9_-]+)", r.json["view_url"])
        assert m and int(m.group(1)) == studio.id, r.json["view_url"]
        return m.group(2)

    @staticmethod
    def artist_answers(server, studio_id, comment_id, t):
        return server.post(f"/api/studio-view/{studio_id}/comments/{comment_id}/answered?t={urllib.parse.quote(t, safe='')}")

    @staticmethod
    async def ask(viewer, text, question=True):
        message = {"type": "comment", "text": text}
        if question is not None:
            message["question"] = question
        await viewer.send(message)
        return await viewer.expect(lambda m: m["type"] == "comment" and m["text"] == text)


class QuestionsTest(ServerTestCase):
    def studio(self):
        return Studio(self.server, self.token, self.next_name("Question studio"))

    def viewer(self, name):
        return Viewer(self.server, f"viewer-{name}-{QuestionsTest.names:04d}", nick=name)

    def test_question_flag_round_trips_and_answered_reaches_every_viewer(self):
        s = self.studio()
        t = Q.view_token(self.server, self.token, s)

        async def body():
            anna, boris = await self.viewer("Anna").connect(), await self.viewer("Boris").connect()
            await anna.join(s.event_id)
            await boris.join(s.event_id)
            q = await Q.ask(anna, "Как держать смычок?")
            plain = await Q.ask(anna, "Браво!", question=None)  # an old client: no flag at all
            said = await Q.ask(anna, "Спасибо", question=False)
            self.assertEqual((q["question"], q["answered"]), (True, False))
            self.assertEqual((plain["question"], plain["answered"]), (False, False))
            self.assertFalse(said["question"])
            seen = await boris.expect(lambda m: m["type"] == "comment" and m["id"] == q["id"])
            self.assertEqual((seen["question"], seen["answered"]), (True, False))

            # The artist marks it answered at once (it may not be in SQLite yet: the REST call finds it).
            r = Q.artist_answers(self.server, s.id, q["id"], t)
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["id"], r.json["question"], r.json["answered"]), (q["id"], True, True))
            self.assertNotIn("viewer_id", r.json)
            for v in (anna, boris):
                await v.expect(lambda m: m["type"] == "comment_answered" and m["id"] == q["id"])
            again = Q.artist_answers(self.server, s.id, q["id"], t)  # idempotent
            self.assertEqual(again.status, 200, again)
            self.assertTrue(again.json["answered"])

            # A newcomer's welcome carries both flags.
            vera = await self.viewer("Vera").connect()
            welcome = await vera.join(s.event_id)
            flags = {c["id"]: (c["question"], c["answered"]) for c in welcome["comments"]}
            self.assertEqual(flags, {q["id"]: (True, True), plain["id"]: (False, False), said["id"]: (False, False)})
            for v in (anna, boris, vera):
                await v.close()
            return q, plain

        q, plain = run(body())
        public = {c["id"]: c for c in self.server.get(f"/api/public/events/{s.event_id}/comments").json["comments"]}
        self.assertEqual((public[q["id"]]["question"], public[q["id"]]["answered"]), (True, True))
        self.assertEqual((public[plain["id"]]["question"], public[plain["id"]]["answered"]), (False, False))
        curated = {c["id"]: c for c in
                   self.server.get(f"/api/events/{s.event_id}/comments", token=self.token).json["comments"]}
        self.assertEqual(curated[q["id"]]["answered_by"], f"studio {s.id}")
        self.assertIsNotNone(curated[q["id"]]["answered_at"])
        self.assertIsNone(curated[plain["id"]]["answered_at"])
        log = self.server.get("/api/audience/log", token=self.token).json["log"]
        self.assertIn({"curator": f"studio {s.id}", "action": "answered", "event_id": s.event_id,
                       "target": f"comment {q['id']}"}, [{k: e[k] for k in ("curator", "action", "event_id", "target")}
                                                         for e in log])

    def test_only_this_studios_view_token_answers(self):
        a, b = self.studio(), self.studio()
        ta, tb = Q.view_token(self.server, self.token, a), Q.view_token(self.server, self.token, b)

        async def body():
            va, vb = await self.viewer("Ann").connect(), await self.viewer("Bob").connect()
            await va.join(a.event_id)
            await vb.join(b.event_id)
            qa = await Q.ask(va, "Question in A?")
            qb = await Q.ask(vb, "Question in B?")
            plain = await Q.ask(va, "Not a question", question=False)

            r = Q.artist_answers(self.server, a.id, qb["id"], ta)  # A's link, B's question
            self.assertEqual(r.status, 403, r)
            self.assertEqual(r.json["error"]["code"], "forbidden")
            r = Q.artist_answers(self.server, b.id, qb["id"], ta)  # A's token claiming to be B
            self.assertEqual((r.status, r.json), (404, NOT_VALID))
            r = Q.artist_answers(self.server, b.id, qb["id"], b.key)  # B's stream key is not a view token
            self.assertEqual((r.status, r.json), (404, NOT_VALID))
            r = Q.artist_answers(self.server, b.id, qb["id"], "")
            self.assertEqual((r.status, r.json), (404, NOT_VALID))
            r = Q.artist_answers(self.server, a.id, plain["id"], ta)
            self.assertEqual((r.status, r.json["error"]["code"]), (409, "not_a_question"))
            r = Q.artist_answers(self.server, a.id, 99999999, ta)
            self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))

            # A rotated link stops answering; the new one works.
            rotated = self.server.post(f"/api/studios/{a.id}/rotate-view-token", token=self.token)
            self.assertEqual(rotated.status, 200, rotated)
            r = Q.artist_answers(self.server, a.id, qa["id"], ta)
            self.assertEqual((r.status, r.json), (404, NOT_VALID))
            r = Q.artist_answers(self.server, a.id, qa["id"], Q.view_token(self.server, self.token, a))
            self.assertEqual(r.status, 200, r)
            await va.expect(lambda m: m["type"] == "comment_answered" and m["id"] == qa["id"])
            # Nothing of the refused attempts reached B's viewers: B's question is still open.
            late = await self.viewer("Late").connect()
            welcome = await late.join(b.event_id)
            self.assertEqual([(c["id"], c["answered"]) for c in welcome["comments"]], [(qb["id"], False)])
            self.assertFalse(any(m["type"] == "comment_answered" for m in vb.messages))
            for v in (va, vb, late):
                await v.close()
        run(body())

    def test_curator_marks_a_question_answered(self):
        s = self.studio()

        async def body():
            v = await self.viewer("Cora").connect()
            await v.join(s.event_id)
            q = await Q.ask(v, "When is the next class?")
            plain = await Q.ask(v, "Lovely", question=False)
            path = f"/api/events/{s.event_id}/comments/{q['id']}/answered"
            self.assertEqual(self.server.post(path).status, 401)
            r = self.server.post(path, token=self.token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["question"], r.json["answered"], r.json["answered_by"]), (True, True, "admin"))
            await v.expect(lambda m: m["type"] == "comment_answered" and m["id"] == q["id"])
            first_at = r.json["answered_at"]
            r = self.server.post(path, token=self.token)
            self.assertEqual((r.status, r.json["answered_at"]), (200, first_at), "idempotent: the first mark stays")
            r = self.server.post(f"/api/events/{s.event_id}/comments/{plain['id']}/answered", token=self.token)
            self.assertEqual((r.status, r.json["error"]["code"]), (409, "not_a_question"))
            other = self.studio()
            r = self.server.post(f"/api/events/{other.event_id}/comments/{q['id']}/answered", token=self.token)
            self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))
            r = self.server.post(f"/api/events/{s.event_id}/comments/99999999/answered", token=self.token)
            self.assertEqual(r.status, 404, r)
            await v.close()
        run(body())

    def test_a_question_flag_that_is_not_a_boolean_is_refused(self):
        s = self.studio()

        async def body():
            v = await self.viewer("Dan").connect()
            await v.join(s.event_id)
            await v.send({"type": "comment", "text": "?", "question": "yes"})
            e = await v.expect(lambda m: m["type"] == "error")
            self.assertEqual(e["code"], "bad_message")
            ok = await Q.ask(v, "still here?")
            self.assertTrue(ok["question"])
            await v.close()
        run(body())


class QuestionsRestartTest(ServerTestCase):
    server_per_test = True

    def test_restart_keeps_question_and_answered(self):
        server, token = self.server, self.token
        s = Studio(server, token, "Restart questions")
        t = Q.view_token(server, token, s)

        async def write():
            v = await Viewer(server, "restart-asker", "Ira").connect()
            await v.join(s.event_id)
            answered = await Q.ask(v, "answered one?")
            still_open = await Q.ask(v, "open one?")
            r = Q.artist_answers(server, s.id, answered["id"], t)
            assert r.status == 200, r
            await v.expect(lambda m: m["type"] == "comment_answered")
            await v.close()
            return answered["id"], still_open["id"]
        answered, still_open = run(write())
        self.assertEqual(server.stop(), 0)
        server.start()

        async def read():
            v = await Viewer(server, "restart-asker", "Ira").connect()
            welcome = await v.join(s.event_id)
            await v.close()
            return welcome
        welcome = run(read())
        self.assertEqual([(c["id"], c["question"], c["answered"]) for c in welcome["comments"]],
                         [(answered, True, True), (still_open, True, False)])
        wait_for(lambda: len(server.get(f"/api/public/events/{s.event_id}/comments").json["comments"]) == 2,
                 what="both questions listed")
        r = Q.artist_answers(server, s.id, still_open, t)  # the view token survives the restart too
        self.assertEqual((r.status, r.json["answered"]), (200, True))


if __name__ == "__main__":
    unittest.main()
