"""Viewer identity the server issues, and what one client address can do to an event (issue 17, attack 3).

The real binary on 127.0.0.1; other client addresses are other loopback sources (127.0.0.x). Attacks:
  - 200 WebSocket connections from one address, each joining with a fresh random viewer_id and rating
    1 star: the public rating moves by at most ws.max_ratings_per_address (20) votes;
  - a banned viewer comes back with a fresh viewer_id (no token, no cookie): still banned;
  - fresh viewer ids to dodge the comment rate limit: one address shares ws.comments_per_address_window.
And: pages set the sreda_viewer cookie (HttpOnly, SameSite=Lax), which identifies the /ws upgrade; the secret
is private to the server (0600); the desk's live monitor counts refusals by cause."""
import asyncio
import os
import secrets
import stat
import unittest

from audience_client import Viewer, rate_once
from media_helpers import Studio, metric, run
from sreda_harness import ServerTestCase, wait_for

ATTACK = 200
CAP = 20  # ws.max_ratings_per_address (default)
HONEST = 5


def fresh_id():
    return "attacker-" + secrets.token_hex(8)


class AudienceIdentityTest(ServerTestCase):
    def event(self):
        return Studio(self.server, self.token, self.next_name("Identity studio")).event_id

    def public_rating(self, event_id):
        r = self.server.get(f"/api/public/events/{event_id}")
        self.assertEqual(r.status, 200, r)
        return r.json["rating"]

    def test_200_fresh_viewer_ids_from_one_address_move_the_rating_by_at_most_the_cap(self):
        event_id = self.event()

        def vote(source, viewer_id, stars):
            return rate_once(self.server, event_id, viewer_id, stars, source)

        async def honest():
            for i in range(HONEST):  # five people on their own addresses: 5 stars
                self.assertTrue((await vote(f"127.0.0.{10 + i}", f"honest-viewer-{i}", 5)).get("counted", True))

        async def attack():
            # One address, a fresh random viewer_id each time, 20 connections at once.
            acks = []
            for start in range(0, ATTACK, 20):
                acks += await asyncio.gather(*[vote("127.0.0.1", fresh_id(), 1) for _ in range(20)])
            self.assertEqual([a["type"] for a in acks], ["rated"] * ATTACK, "every vote is answered")
            counted = sum(1 for a in acks if a.get("counted", True))
            late = await Viewer(self.server, "late-viewer-1", source="127.0.0.50").connect()
            welcome = await late.join(event_id)
            await late.close()
            return counted, welcome["rating"]

        run(honest())
        wait_for(lambda: self.public_rating(event_id)["count"] == HONEST, what="the honest ratings stored")
        before = self.public_rating(event_id)
        counted, live = run(attack())
        wait_for(lambda: self.public_rating(event_id)["count"] >= min(live["count"], HONEST + CAP),
                 what="the ratings stored")
        after = self.public_rating(event_id)
        print(f"\n[figures] public rating before the attack: {before['average']} from {before['count']} votes; "
              f"after {ATTACK} one-star votes from one address: {after['average']} from {after['count']} votes "
              f"(live: {live['average']} from {live['count']}); counted {counted}")
        self.assertEqual(counted, CAP)
        self.assertEqual(live["count"], HONEST + CAP, live)
        self.assertEqual(live["histogram"], [CAP, 0, 0, 0, HONEST])
        self.assertEqual((after["count"], after["histogram"]), (live["count"], live["histogram"]))
        self.assertEqual(after["average"], round((CAP * 1 + HONEST * 5) / (CAP + HONEST), 2))
        self.assertEqual(len([l for l in self.server.log_lines_copy() if "kept out of the public rating" in l]), 1,
                         "one log line for the capped address")
        self.assertEqual(metric(self.server, "sreda_ws_refused_total", reason="rating_cap"), ATTACK - CAP)
        live_info = self.server.get(f"/api/events/{event_id}/live", token=self.token).json
        self.assertGreaterEqual(live_info["audience_refusals"]["counts"].get("rating_cap", 0), ATTACK - CAP)

    def test_a_banned_viewer_with_a_fresh_viewer_id_stays_banned(self):
        event_id = self.event()
        troll_addr, fan_addr = "127.0.0.21", "127.0.0.22"

        async def body():
            troll = await Viewer(self.server, fresh_id(), "Troll", source=troll_addr).connect()
            fan = await Viewer(self.server, "fan-viewer-1", "Fan", source=fan_addr).connect()
            await troll.join(event_id)
            await fan.join(event_id)
            await troll.send({"type": "comment", "text": "rude words"})
            await troll.expect(lambda m: m["type"] == "comment")
            # The curator bans the viewer seen with the comment (as the desk does).
            def rude():
                seen = self.server.get(f"/api/events/{event_id}/comments", token=self.token).json["comments"]
                return [c for c in seen if c["text"] == "rude words"]
            wait_for(lambda: len(rude()) == 1, what="the comment stored")
            wanted = rude()
            self.assertEqual(wanted[0]["viewer_id"], troll.identity)
            r = self.server.post("/api/audience/bans", {"event_id": event_id, "viewer_id": troll.identity},
                                 token=self.token)
            self.assertEqual(r.status, 201, r)
            self.assertEqual((await troll.closed())[0], 1008)
            # Back with a fresh random viewer_id, no token, no cookie: the same address is banned with it.
            for attempt in range(3):
                again = await Viewer(self.server, fresh_id(), "Troll", source=troll_addr).connect()
                got = await again.join(event_id)
                self.assertEqual(got.get("code"), "banned", got)
                await again.close()
            # The fan (another address) goes on.
            await fan.send({"type": "comment", "text": "peace"})
            await fan.expect(lambda m: m["type"] == "comment" and m["text"] == "peace")
            await fan.close()

        run(body())
        counts = self.server.get(f"/api/events/{event_id}/live", token=self.token).json["audience_refusals"]["counts"]
        self.assertGreaterEqual(counts.get("banned", 0), 3)

    def test_fresh_viewer_ids_share_one_address_comment_limit(self):
        event_id = self.event()

        async def body():
            shown = refused = 0
            for i in range(14):
                v = await Viewer(self.server, fresh_id(), source="127.0.0.31").connect()
                await v.join(event_id)
                await v.send({"type": "comment", "text": f"spam {i}"})
                got = await v.expect(lambda m: m["type"] == "comment" or m["type"] == "error")
                shown += got["type"] == "comment"
                refused += got.get("code") == "rate_limited"
                await v.close()
            return shown, refused

        shown, refused = run(body())
        self.assertEqual((shown, refused), (10, 4), "ws.comments_per_address_window (10) for one address")
        self.assertEqual(len([l for l in self.server.log_lines_copy() if "muted address 127.0.0.31" in l]), 1)

    def test_pages_set_the_viewer_cookie_that_identifies_the_upgrade(self):
        event_id = self.event()
        page = self.server.get(f"/watch/{event_id}")
        self.assertEqual(page.status, 200)
        cookie = page.headers.get("set-cookie", "")
        self.assertRegex(cookie, r"^sreda_viewer=v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=/; Max-Age=\d+")
        for attr in ("HttpOnly", "SameSite=Lax"):
            self.assertIn(attr, cookie)
        token = cookie.split(";")[0].split("=", 1)[1]
        # The same cookie sent back to a page is kept (not replaced).
        again = self.server.get(f"/watch/{event_id}", headers={"Cookie": f"sreda_viewer={token}"})
        self.assertEqual(again.headers.get("set-cookie", "").split(";")[0], f"sreda_viewer={token}")
        self.assertNotIn("set-cookie", {k.lower() for k in self.server.get("/healthz").headers.keys()})

        async def body():
            v = await Viewer(self.server, "cookie-viewer-1", source="127.0.0.41",
                             cookie=f"sreda_viewer={token}").connect()
            w1 = await v.join(event_id)
            await v.close()
            self.assertNotIn("viewer_token", w1, "the cookie is the identity: no new token")
            self.assertEqual(w1["viewer_id"], token.split(".")[1])
            forged = token[:-1] + ("A" if token[-1] != "A" else "B")
            f = await Viewer(self.server, "cookie-viewer-2", source="127.0.0.41",
                             cookie=f"sreda_viewer={forged}").connect()
            w2 = await f.join(event_id)
            await f.close()
            self.assertNotEqual(w2["viewer_id"], w1["viewer_id"])
            self.assertIn("viewer_token", w2)

        run(body())
        mode = stat.S_IMODE(os.stat(os.path.join(self.server.data_dir, "viewer-secret")).st_mode)
        self.assertEqual(mode, 0o600)


if __name__ == "__main__":
    unittest.main()
