"""Bans everywhere and by address (README "Moderation"; server/audience/PROTOCOL.md "Bans"), as the audience
socket applies them. A ban without `event_id` covers every event: the viewer's open connections in every event
are closed (1008), a join to any event (one created after the ban too) is refused, so no comment, question or
rating gets through; a viewer ban holds the address the viewer was last seen at, so a fresh identity from there
is refused too. An address ban covers the address group, one event's or every event's; the same identity from
another address is not banned by it. Lifting a ban lets the viewer take part again. A ban everywhere is kept in
the database and applies after a restart.

The real binary on 127.0.0.1; client addresses are loopback sources (127.0.0.x), one per test."""
import unittest

from audience_client import Viewer
from media_helpers import Studio, run
from sreda_harness import Server, ServerTestCase, wait_for

BANNED_CLOSE = 1008


class Bans:
    """What the tests of both classes ask of the server."""

    server = token = None

    def ban(self, **body):
        r = self.server.post("/api/audience/bans", body, token=self.token)
        self.assertEqual(r.status, 201, r)
        return r.json

    def lift(self, ban):
        r = self.server.request("DELETE", f"/api/audience/bans/{ban['id']}", token=self.token)
        self.assertEqual(r.status, 200, r)

    async def refused(self, event_id, source, token=None, viewer_id="banned-viewer"):
        """A fresh connection from `source` joins `event_id`: the server's error code, or None when welcomed."""
        v = await Viewer(self.server, viewer_id, "Again", source=source, token=token).connect()
        try:
            got = await v.join(event_id)
            if got["type"] == "welcome":
                return None
            self.assertEqual((await v.closed())[0], BANNED_CLOSE, "a banned join is closed too")
            return got["code"]
        finally:
            await v.close()

    async def takes_part(self, viewer, event_id, text):
        """`viewer` (connected) joins, comments, asks a question and rates: each is accepted."""
        welcome = await viewer.join(event_id)
        self.assertEqual(welcome["type"], "welcome", welcome)
        await viewer.send({"type": "comment", "text": text})
        await viewer.expect(lambda m: m["type"] == "comment" and m["text"] == text)
        await viewer.send({"type": "comment", "text": text + "?", "question": True})
        asked = await viewer.expect(lambda m: m["type"] == "comment" and m["text"] == text + "?")
        self.assertTrue(asked["question"])
        await viewer.send({"type": "rate", "stars": 4})
        self.assertEqual((await viewer.expect(lambda m: m["type"] in ("rated", "error")))["type"], "rated")

    async def removed(self, viewer):
        """The server tells `viewer` it is banned and closes its connection."""
        self.assertEqual((await viewer.expect(lambda m: m["type"] == "error"))["code"], "banned")
        self.assertEqual((await viewer.closed())[0], BANNED_CLOSE)


class BanTest(Bans, ServerTestCase):
    def event(self):
        return Studio(self.server, self.token, self.next_name("Ban studio")).event_id

    def refusal_counts(self, event_id):
        return self.server.get(f"/api/events/{event_id}/live", token=self.token).json["audience_refusals"]["counts"]

    def test_a_viewer_banned_everywhere_leaves_every_event_and_cannot_join_any(self):
        troll_addr, fan_addr = "127.0.0.51", "127.0.0.52"
        a, b = self.event(), self.event()

        async def body():
            troll = await Viewer(self.server, "troll-051", "Troll", source=troll_addr).connect()
            await self.takes_part(troll, a, "troll words")
            # The same identity (its token) in a second event at once.
            elsewhere = await Viewer(self.server, "troll-051", "Troll", source=troll_addr, token=troll.token).connect()
            self.assertEqual((await elsewhere.join(b))["viewer_id"], troll.identity)
            fan = await Viewer(self.server, "fan-viewer-52", "Fan", source=fan_addr).connect()
            self.assertEqual((await fan.join(a))["type"], "welcome")

            ban = self.ban(viewer_id=troll.identity)
            self.assertIsNone(ban["event_id"], "no event_id: every event")
            self.assertEqual(ban["address"], troll_addr, "the address the viewer was last seen at")
            await self.removed(troll)
            await self.removed(elsewhere)
            # Every event refuses it: those it was in, and one scheduled after the ban.
            c = self.event()
            for event_id in (a, b, c):
                self.assertEqual(await self.refused(event_id, troll_addr, token=troll.token), "banned", event_id)
            # A fresh identity from the held address is refused too.
            self.assertEqual(await self.refused(c, troll_addr), "banned")
            # Everyone else goes on: the fan comments, asks and rates in the troll's events.
            await fan.send({"type": "comment", "text": "peace"})
            await fan.expect(lambda m: m["type"] == "comment" and m["text"] == "peace")
            await fan.close()
            fan_elsewhere = await Viewer(self.server, "fan-viewer-52", "Fan", source=fan_addr, token=fan.token).connect()
            await self.takes_part(fan_elsewhere, c, "still here")
            await fan_elsewhere.close()

            self.lift(ban)
            again = await Viewer(self.server, "troll-051", "Troll", source=troll_addr, token=troll.token).connect()
            await self.takes_part(again, c, "sorry")
            self.assertEqual(again.identity, troll.identity)
            await again.close()
            return ban, c

        ban, c = run(body())
        self.assertGreaterEqual(self.refusal_counts(a).get("banned", 0), 4)
        log = self.server.get("/api/audience/log", token=self.token).json["log"]
        actions = [(e["action"], e["event_id"], e["target"]) for e in log]
        self.assertIn(("ban", None, f"viewer {ban['viewer_id']}"), actions)
        self.assertIn(("unban", None, f"viewer {ban['viewer_id']}"), actions)
        self.assertEqual([b for b in self.server.get("/api/audience/bans", token=self.token).json["bans"]
                          if b["id"] == ban["id"]], [], "lifted")
        # What the troll wrote before the ban stays as it was (a ban removes people, not their words).
        def stored(event_id, text):
            comments = self.server.get(f"/api/events/{event_id}/comments", token=self.token).json["comments"]
            return [m for m in comments if m["text"] == text and m["status"] == "visible"]
        wait_for(lambda: stored(a, "troll words"), what="the troll's comment from before the ban, still visible")
        wait_for(lambda: stored(c, "sorry"), what="the comment after the ban was lifted, stored")

    def test_an_address_banned_everywhere_is_refused_in_every_event_whoever_it_claims_to_be(self):
        banned_addr, moved_addr, other_addr = "127.0.0.53", "127.0.0.54", "127.0.0.55"
        a, b = self.event(), self.event()

        async def body():
            there_a = await Viewer(self.server, "address-53a", "A", source=banned_addr).connect()
            there_b = await Viewer(self.server, "address-53b", "B", source=banned_addr).connect()
            await there_a.join(a)
            await there_b.join(b)
            other = await Viewer(self.server, "address-55", "Other", source=other_addr).connect()
            await other.join(a)

            ban = self.ban(address=banned_addr)
            self.assertEqual((ban["address"], ban["event_id"]), (banned_addr, None))
            self.assertNotIn("viewer_id", ban)
            await self.removed(there_a)
            await self.removed(there_b)
            for event_id in (a, b, self.event()):
                self.assertEqual(await self.refused(event_id, banned_addr), "banned")
                self.assertEqual(await self.refused(event_id, banned_addr, token=there_a.token), "banned")
            # The ban names the address, not the people: the same viewer from another address takes part.
            moved = await Viewer(self.server, "address-53a", "A", source=moved_addr, token=there_a.token).connect()
            await self.takes_part(moved, b, "from home")
            self.assertEqual(moved.identity, there_a.identity)
            await moved.close()
            await other.send({"type": "rate", "stars": 5})
            self.assertEqual((await other.expect(lambda m: m["type"] in ("rated", "error")))["type"], "rated")
            await other.close()

            self.lift(ban)
            back = await Viewer(self.server, "address-53c", "C", source=banned_addr).connect()
            await self.takes_part(back, a, "lifted")
            await back.close()

        run(body())

    def test_an_address_banned_from_one_event_takes_part_in_the_others(self):
        addr = "127.0.0.56"
        a, b = self.event(), self.event()

        async def body():
            in_a = await Viewer(self.server, "address-56", "A", source=addr).connect()
            in_b = await Viewer(self.server, "address-56", "A", source=addr).connect()
            await in_a.join(a)
            await self.takes_part(in_b, b, "in b before")
            ban = self.ban(address=addr, event_id=a)
            self.assertEqual(ban["event_id"], a)
            await self.removed(in_a)
            self.assertEqual(await self.refused(a, addr), "banned")
            # In event b nothing changed: the open connection goes on, a new one joins.
            await in_b.send({"type": "comment", "text": "in b after"})
            await in_b.expect(lambda m: m["type"] == "comment" and m["text"] == "in b after")
            await in_b.close()
            fresh = await Viewer(self.server, "address-56", "A", source=addr).connect()
            await self.takes_part(fresh, b, "new in b")
            await fresh.close()

            self.lift(ban)
            self.assertIsNone(await self.refused(a, addr))

        run(body())
        self.assertGreaterEqual(self.refusal_counts(a).get("banned", 0), 1)


class BanRestartTest(Bans, unittest.TestCase):
    """The ban everywhere, and the address it holds, are in the database: a restarted server applies them."""

    def setUp(self):
        self.server = Server().start()
        self.addCleanup(self.server.cleanup)
        self.token = self.server.login()

    def test_a_ban_everywhere_outlives_a_restart(self):
        troll_addr = "127.0.0.57"
        event_id = Studio(self.server, self.token, "Restart ban studio").event_id

        async def speak():
            troll = await Viewer(self.server, "troll-057", "Troll", source=troll_addr).connect()
            await self.takes_part(troll, event_id, "before the restart")
            await troll.close()
            return troll

        troll = run(speak())
        ban = self.ban(viewer_id=troll.identity)
        self.assertEqual(ban["address"], troll_addr)
        self.assertEqual(self.server.stop(), 0, self.server.log())
        self.server.start()
        self.token = self.server.login()
        later = Studio(self.server, self.token, "After the restart").event_id

        async def after():
            for e in (event_id, later):
                self.assertEqual(await self.refused(e, troll_addr, token=troll.token), "banned")
                self.assertEqual(await self.refused(e, troll_addr), "banned", "the held address")
            self.lift(ban)
            self.assertIsNone(await self.refused(later, troll_addr, token=troll.token))

        run(after())


if __name__ == "__main__":
    unittest.main()
