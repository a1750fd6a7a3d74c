"""The audience channel: comments, ratings and viewer counts over /ws, moderation, storage and replay.

Independent client: Debian's python3-websockets (asyncio) against the real server on 127.0.0.1."""
import asyncio
import unittest

import websockets

from audience_client import Viewer
from media_helpers import Studio, metric, run
from sreda_harness import ServerTestCase, wait_for


class AudienceTest(ServerTestCase):
    def event(self):
        return Studio(self.server, self.token, self.next_name("Audience studio")).event_id

    def viewer(self, name, **kw):
        return Viewer(self.server, f"viewer-{name}-{AudienceTest.names:04d}", nick=name, **kw)

    def public_comments(self, event_id, query=""):
        r = self.server.get(f"/api/public/events/{event_id}/comments{query}")
        self.assertEqual(r.status, 200, r)
        return r.json["comments"]

    def test_two_viewers_see_each_others_comments_and_a_reconnect_gets_history(self):
        event_id = self.event()

        async def body():
            anna, boris = await self.viewer("Anna").connect(), await self.viewer("Boris").connect()
            welcome = await anna.join(event_id)
            self.assertEqual(welcome["type"], "welcome")
            self.assertEqual(welcome["comments"], [])
            self.assertEqual(welcome["state"], "scheduled")
            await boris.join(event_id)
            await anna.expect(lambda m: m["type"] == "viewers" and m["count"] == 2)
            await anna.send({"type": "comment", "text": "  Браво!\u0007 <b>not bold</b>  "})
            for v in (anna, boris):
                m = await v.expect(lambda m: m["type"] == "comment")
                self.assertEqual(m["nick"], "Anna")
                self.assertEqual(m["text"], "Браво! <b>not bold</b>")  # control removed, stored as written
                self.assertIsNone(m["media_ms"])  # not live: no media time
            await boris.send({"type": "comment", "text": "Thank you"})
            await anna.expect(lambda m: m["type"] == "comment" and m["nick"] == "Boris")
            await boris.close()
            await anna.expect(lambda m: m["type"] == "viewers" and m["count"] == 1)
            again = await self.viewer("Boris").connect()
            welcome = await again.join(event_id)
            self.assertEqual([c["text"] for c in welcome["comments"]], ["Браво! <b>not bold</b>", "Thank you"])
            self.assertEqual(welcome["viewers"], 2)
            await anna.close()
            await again.close()
        run(body())
        wait_for(lambda: len(self.public_comments(event_id)) == 2, what="both comments stored")

    def test_ratings_are_coalesced_changeable_and_listed(self):
        event_id = self.event()

        async def body():
            watcher, voter, other = [await self.viewer(n).connect() for n in ("Watcher", "Voter", "Other")]
            for v in (watcher, voter, other):
                await v.join(event_id)
            await other.send({"type": "rate", "stars": 5})
            for stars in [1, 2, 3, 4, 5] * 4:  # 20 quick changes of one viewer's mind
                await voter.send({"type": "rate", "stars": stars})
            self.assertEqual((await voter.expect(lambda m: m["type"] == "rated" and m["stars"] == 5))["stars"], 5)
            final = await watcher.expect(lambda m: m["type"] == "rating" and m["count"] == 2 and m["histogram"][4] == 2)
            self.assertEqual(final["average"], 5.0)
            ratings = [m for m in watcher.messages if m["type"] == "rating"]
            self.assertLess(len(ratings), 21, "one rating frame per vote: not coalesced")
            await voter.send({"type": "rate", "stars": 1})  # changed: still one vote per viewer
            changed = await watcher.expect(lambda m: m["type"] == "rating" and m["histogram"] == [1, 0, 0, 0, 1])
            self.assertEqual((changed["average"], changed["count"]), (3.0, 2))
            for v in (watcher, voter, other):
                await v.close()
        run(body())

        def listed():
            r = self.server.get(f"/api/public/events/{event_id}").json["rating"]
            return r if r["count"] == 2 and r["average"] == 3.0 else None
        wait_for(listed, what="the rating summary in the public event")
        events = self.server.get("/api/public/events?when=upcoming").json["events"]
        mine = [e for e in events if e["id"] == event_id]
        self.assertEqual(mine[0]["rating"]["histogram"], [1, 0, 0, 0, 1])

    def test_hostile_frames_are_refused_and_others_keep_chatting(self):
        event_id = self.event()

        async def body():
            good = await self.viewer("Good").connect()
            await good.join(event_id)

            async def hostile(action, name):
                v = await self.viewer(name).connect()
                await v.join(event_id)
                await action(v)
                return await v.closed()

            async def oversize(v):
                await v.send({"type": "comment", "text": "x" * 5000})
            self.assertEqual((await hostile(oversize, "Big"))[0], 1009)

            async def binary(v):
                await v.ws.send(b"\x00\x01binary")
            self.assertEqual((await hostile(binary, "Bin"))[0], 1003)

            async def bad_utf8(v):
                await v.send_raw_text(b'{"type":"comment","text":"\xff\xfe"}')
            self.assertEqual((await hostile(bad_utf8, "Utf"))[0], 1007)

            junk = await self.viewer("Junk").connect()
            await junk.send_raw_text(b"{not json")
            self.assertEqual((await junk.expect(lambda m: m["type"] == "error"))["code"], "bad_message")
            await junk.send({"type": "dance"})
            self.assertEqual((await junk.expect(lambda m: m["type"] == "error"))["code"], "bad_message")
            await junk.send({"type": "comment", "text": "before join"})
            self.assertEqual((await junk.expect(lambda m: m["type"] == "error"))["code"], "not_joined")
            await junk.send({"type": "comment", "text": "y" * 501})
            self.assertEqual((await junk.expect(lambda m: m["type"] == "error"))["code"], "too_long")
            try:
                for i in range(1000):
                    await junk.send_raw_text(b"junk %d" % i)
            except websockets.ConnectionClosed:
                pass
            code, reason = await junk.closed()
            # The server closes with 1008 after 20 invalid messages. A client still flooding when the close
            # frame leaves may see the TCP reset instead (its kernel drops the unread close frame): 1006.
            self.assertIn(code, (1008, 1006), reason)
            errors = [m for m in junk.messages if m["type"] == "error"]
            self.assertGreaterEqual(len(errors), 4)

            await good.send({"type": "comment", "text": "still here"})
            m = await good.expect(lambda m: m["type"] == "comment")
            self.assertEqual(m["text"], "still here")
            await good.close()
        run(body())
        self.assertGreater(metric(self.server, "sreda_ws_refused_total", reason="too_big"), 0)
        self.assertGreater(metric(self.server, "sreda_ws_refused_total", reason="binary"), 0)
        self.assertGreater(metric(self.server, "sreda_ws_refused_total", reason="bad_message"), 0)
        self.assertGreater(metric(self.server, "sreda_ws_refused_total", reason="invalid_flood"), 0)

    def test_a_foreign_origin_is_refused(self):
        event_id = self.event()

        async def body():
            with self.assertRaises((websockets.InvalidHandshake, websockets.ConnectionClosed, OSError)):
                await self.viewer("Evil", origin="http://evil.example").connect()
            own = await self.viewer("Own", origin=f"http://127.0.0.1:{self.server.port}").connect()
            self.assertEqual((await own.join(event_id))["type"], "welcome")
            await own.close()
        run(body())
        self.assertGreater(metric(self.server, "sreda_ws_refused_total", reason="origin"), 0)

    def test_rate_limit_and_slow_mode(self):
        event_id = self.event()

        async def body():
            fast = await self.viewer("Fast").connect()
            await fast.join(event_id)
            for i in range(4):
                await fast.send({"type": "comment", "text": f"comment {i}"})
            err = await fast.expect(lambda m: m["type"] == "error")
            self.assertEqual(err["code"], "rate_limited")
            shown = [m for m in fast.messages if m["type"] == "comment"]
            self.assertLessEqual(len(shown), 3)
            # The same viewer (its token) on a second connection is muted too.
            twin = await Viewer(self.server, fast.viewer_id, "Fast", token=fast.token).connect()
            await twin.join(event_id)
            await twin.send({"type": "comment", "text": "from my phone"})
            self.assertEqual((await twin.expect(lambda m: m["type"] == "error"))["code"], "rate_limited")

            r = self.server.post(f"/api/events/{event_id}/slow-mode", {"seconds": 60}, token=self.token)
            self.assertEqual(r.status, 200, r)
            await fast.expect(lambda m: m["type"] == "slow_mode" and m["seconds"] == 60)
            slow = await self.viewer("Slow").connect()
            self.assertEqual((await slow.join(event_id))["slow_mode_s"], 60)
            await slow.send({"type": "comment", "text": "first"})
            await slow.expect(lambda m: m["type"] == "comment" and m["text"] == "first")
            await slow.send({"type": "comment", "text": "second"})
            self.assertEqual((await slow.expect(lambda m: m["type"] == "error"))["code"], "slow_mode")
            for v in (fast, twin, slow):
                await v.close()
        run(body())
        log = self.server.get("/api/audience/log", token=self.token).json["log"]
        self.assertTrue(any(e["action"] == "slow_mode" and e["curator"] == "admin" for e in log))

    def test_hidden_comment_disappears_for_everyone_and_from_the_replay(self):
        event_id = self.event()

        async def body():
            a, b = await self.viewer("A").connect(), await self.viewer("B").connect()
            await a.join(event_id)
            await b.join(event_id)
            await a.send({"type": "comment", "text": "rude words"})
            await a.send({"type": "comment", "text": "kind words"})
            rude = await b.expect(lambda m: m["type"] == "comment" and m["text"] == "rude words")
            await b.expect(lambda m: m["type"] == "comment" and m["text"] == "kind words")
            wait_for(lambda: len(self.public_comments(event_id)) == 2, what="comments stored")
            r = self.server.post(f"/api/events/{event_id}/comments/{rude['id']}/hide", token=self.token)
            self.assertEqual(r.status, 200, r)
            for v in (a, b):
                m = await v.expect(lambda m: m["type"] == "comment_removed")
                self.assertEqual(m["id"], rude["id"])
            late = await self.viewer("Late").connect()
            welcome = await late.join(event_id)
            self.assertEqual([c["text"] for c in welcome["comments"]], ["kind words"])
            for v in (a, b, late):
                await v.close()
        run(body())
        self.assertEqual([c["text"] for c in self.public_comments(event_id)], ["kind words"])
        curator = self.server.get(f"/api/events/{event_id}/comments", token=self.token).json["comments"]
        self.assertEqual([c["status"] for c in curator], ["hidden", "visible"])
        self.assertEqual(self.server.get(f"/api/events/{event_id}/comments").status, 401)

    def test_banned_viewer_is_removed_and_refused(self):
        event_id = self.event()

        async def body():
            # The fan writes from another address: a viewer ban holds the troll's address too.
            troll = await self.viewer("Troll").connect()
            fan = await self.viewer("Fan", source="127.0.0.2").connect()
            await troll.join(event_id)
            await fan.join(event_id)
            await troll.send({"type": "comment", "text": "troll words"})
            await troll.expect(lambda m: m["type"] == "comment")
            r = self.server.post("/api/audience/bans", {"event_id": event_id, "viewer_id": troll.identity},
                                 token=self.token)
            self.assertEqual(r.status, 201, r)
            self.assertEqual((await troll.expect(lambda m: m["type"] == "error"))["code"], "banned")
            self.assertEqual((await troll.closed())[0], 1008)
            again = await Viewer(self.server, troll.viewer_id, "Troll", token=troll.token).connect()
            self.assertEqual((await again.join(event_id))["code"], "banned")
            self.assertEqual(r.json["address"], "127.0.0.1")
            await fan.send({"type": "comment", "text": "peace"})
            await fan.expect(lambda m: m["type"] == "comment" and m["text"] == "peace")
            await fan.close()
        run(body())
        bans = self.server.get("/api/audience/bans", token=self.token).json["bans"]
        self.assertTrue(any(b.get("viewer_id") and b["address"] == "127.0.0.1" and b["created_by"] == "admin" for b in bans))

    def test_word_list_holds_a_comment_for_moderation(self):
        event_id = self.event()
        r = self.server.post("/api/audience/words", {"language": "ru", "words": ["Дурак"]}, token=self.token)
        self.assertEqual(r.status, 200, r)

        async def body():
            a, b = await self.viewer("A").connect(), await self.viewer("B").connect()
            await a.join(event_id)
            await b.join(event_id)
            await a.send({"type": "comment", "text": "сам ДУРАК!"})
            self.assertEqual((await a.expect(lambda m: m["type"] == "error"))["code"], "held")
            await a.send({"type": "comment", "text": "дураковаляние is fine"})
            await b.expect(lambda m: m["type"] == "comment" and m["text"].startswith("дураков"))
            wait_for(lambda: len(self.server.get(f"/api/events/{event_id}/comments", token=self.token)
                                 .json["comments"]) == 2, what="both comments stored")
            held = [c for c in self.server.get(f"/api/events/{event_id}/comments", token=self.token).json["comments"]
                    if c["status"] == "held"]
            self.assertEqual(len(held), 1)
            self.assertFalse(any(m["type"] == "comment" and "ДУРАК" in m["text"] for m in b.messages))
            r = self.server.post(f"/api/events/{event_id}/comments/{held[0]['id']}/unhide", token=self.token)
            self.assertEqual(r.status, 200, r)
            await b.expect(lambda m: m["type"] == "comment" and m["text"] == "сам ДУРАК!")
            for v in (a, b):
                await v.close()
        try:
            run(body())
        finally:
            self.server.post("/api/audience/words", {"language": "ru", "words": []}, token=self.token)

    def test_replay_window_and_paging(self):
        event_id = self.event()
        r = self.server.get(f"/api/public/events/{event_id}/comments?from_ms=abc")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["error"]["field"], "from_ms")
        self.assertEqual(self.server.get("/api/public/events/999999/comments").status, 404)
        self.assertEqual(self.public_comments(event_id, "?from_ms=0&to_ms=1000&limit=10"), [])


class AudienceConnectionCapTest(ServerTestCase):
    env = {"SREDA_WS_MAX_CONNECTIONS_PER_ADDRESS": "20"}

    def test_500_connections_from_one_address(self):
        server, token = self.server, self.token
        event_id = Studio(server, token, "Crowded").event_id

        async def body():
            async def attempt(i):
                v = Viewer(server, f"crowd-{i:06d}", "Crowd")
                try:
                    await v.connect()
                    await v.send({"type": "ping"})
                    m = await v.expect(lambda m: m["type"] in ("pong", "error"))
                    return v, m["type"]
                except websockets.ConnectionClosed as e:
                    return v, ("error" if e.code == 1008 else f"closed {e.code}")
            results = []
            for start in range(0, 500, 50):  # in waves: one address, many tabs
                results += await asyncio.gather(*(attempt(i) for i in range(start, start + 50)))
            outcomes = [r for _, r in results]
            self.assertEqual(outcomes.count("pong"), 20, outcomes)
            self.assertEqual(outcomes.count("error"), 480, outcomes)
            for v, _ in results:
                await v.close()
            normal = Viewer(server, "normal-viewer-1", "Normal")

            async def chat():
                await normal.connect()
                await normal.join(event_id)
                await normal.send({"type": "comment", "text": "hello after the crowd"})
                return await normal.expect(lambda m: m["type"] == "comment")
            self.assertEqual((await chat())["text"], "hello after the crowd")
            await normal.close()
        run(body())
        self.assertGreaterEqual(metric(server, "sreda_ws_refused_total", reason="too_many_connections"), 480)


class AudienceRestartTest(ServerTestCase):
    server_per_test = True

    def test_graceful_stop_keeps_every_acknowledged_comment_and_rating(self):
        server, token = self.server, self.token
        event_id = Studio(server, token, "Restart").event_id

        async def write():
            v = await Viewer(server, "restart-viewer", "Vera").connect()
            await v.join(event_id)
            await v.send({"type": "rate", "stars": 4})
            await v.expect(lambda m: m["type"] == "rated")
            texts = [f"line {i}" for i in range(3)]
            for t in texts:
                await v.send({"type": "comment", "text": t})
            acked = [(await v.expect(lambda m, t=t: m["type"] == "comment" and m["text"] == t))["id"]
                     for t in texts]
            await v.close()
            return acked, v.token
        acked, viewer_token = run(write())
        self.assertEqual(server.stop(), 0)  # at once: the batch may not have reached SQLite yet
        server.start()

        async def read():
            # The same viewer (the token the server issued; the secret in the data dir survives a restart).
            v = await Viewer(server, "restart-viewer", "Vera", token=viewer_token).connect()
            welcome = await v.join(event_id)
            await v.close()
            return welcome
        welcome = run(read())
        self.assertEqual([c["id"] for c in welcome["comments"]], acked)
        self.assertEqual(welcome["your_rating"], 4)
        self.assertEqual(welcome["rating"]["count"], 1)
        stored = server.get(f"/api/public/events/{event_id}/comments").json["comments"]
        self.assertEqual([c["id"] for c in stored], acked)


if __name__ == "__main__":
    unittest.main()
