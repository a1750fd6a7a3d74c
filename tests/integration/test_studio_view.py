"""The artist's view link (issue 9): GET /api/studio-view/{studio}?t=TOKEN answers only its own studio, stops
working after rotation, and the stream key is never accepted as a view token."""
import re
import unittest
import urllib.parse

from media_helpers import Studio
from sreda_harness import ServerTestCase

NOT_VALID = "this link is no longer valid"


def token_of(view_url):
    m = re.fullmatch(r"/studio/(\d+)\?t=([A-Za-z0-9_-]+)", view_url)
    assert m, view_url
    return int(m.group(1)), m.group(2)


class StudioViewTest(ServerTestCase):
    def view(self, studio_id, t):
        return self.server.get(f"/api/studio-view/{studio_id}?t={urllib.parse.quote(t, safe='')}")

    def view_token(self, studio):
        r = self.server.get(f"/api/studios/{studio.id}", token=self.token)
        self.assertEqual(r.status, 200, r)
        sid, t = token_of(r.json["view_url"])
        self.assertEqual(sid, studio.id)
        return t

    def assert_refused(self, r):
        """A refused link reveals nothing: a plain 404 with the same sentence, whatever was wrong."""
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json, {"error": {"code": "link_not_valid", "message": NOT_VALID}})

    def test_view_token_shows_its_studio_only(self):
        a = Studio(self.server, self.token, "Школа танца")
        b = Studio(self.server, self.token, "Музей города")
        ta, tb = self.view_token(a), self.view_token(b)
        self.assertNotEqual(ta, tb)
        self.assertGreaterEqual(len(ta), 43)  # 256 bits
        self.assertEqual(self.view_token(a), ta, "the link stays the same until rotated")
        listed = {x["id"]: x for x in self.server.get("/api/studios", token=self.token).json["studios"]}
        self.assertEqual(token_of(listed[a.id]["view_url"]), (a.id, ta))

        r = self.view(a.id, ta)
        self.assertEqual(r.status, 200, r)
        self.assertIn("no-store", r.headers.get("cache-control", ""))
        body = r.json
        self.assertEqual(body["studio"], {"id": a.id, "name": "Школа танца"})
        self.assertEqual(body["event"]["id"], a.event_id)
        self.assertEqual(body["event"]["title"], "Школа танца live")
        self.assertEqual(body["event"]["state"], "scheduled")
        self.assertEqual(body["publish"]["stream_key"], a.key)
        self.assertEqual(body["publish"]["rtmp_server"], f"rtmp://127.0.0.1:{self.server.rtmp_port}/live")
        self.assertEqual(body["publish"]["srt_url"],
                         f"srt://127.0.0.1:{self.server.srt_port}?streamid=publish:{a.key}")
        self.assertEqual(body["rating"]["count"], 0)
        self.assertIsNone(body["live"])
        self.assertNotIn(b.key, r.text)

        # Another studio's token, no token, a bad token, a studio that does not exist: all the same refusal.
        self.assert_refused(self.view(a.id, tb))
        self.assert_refused(self.view(b.id, ta))
        self.assert_refused(self.server.get(f"/api/studio-view/{a.id}"))
        self.assert_refused(self.view(a.id, ta[:-1]))
        self.assert_refused(self.view(a.id, ta + "x"))
        self.assert_refused(self.view(999999, ta))

    def test_stream_key_is_not_a_view_token(self):
        s = Studio(self.server, self.token, "Пианист")
        self.view_token(s)
        self.assert_refused(self.view(s.id, s.key))
        self.assert_refused(self.view(s.id, ""))

    def test_rotation_invalidates_the_old_link(self):
        s = Studio(self.server, self.token, "Экскурсия")
        old = self.view_token(s)
        self.assertEqual(self.view(s.id, old).status, 200)
        curator = self.server.post("/api/curators", {"username": "kurator", "password": "long enough pass 1"},
                                   token=self.token)
        self.assertEqual(curator.status, 201, curator)
        ctoken = self.server.login("kurator", "long enough pass 1")
        r = self.server.post(f"/api/studios/{s.id}/rotate-view-token", token=ctoken)
        self.assertEqual(r.status, 403, "only an admin may rotate the link")
        self.assertEqual(self.server.post(f"/api/studios/{s.id}/rotate-view-token").status, 401)
        r = self.server.post(f"/api/studios/{s.id}/rotate-view-token", token=self.token)
        self.assertEqual(r.status, 200, r)
        sid, new = token_of(r.json["view_url"])
        self.assertEqual(sid, s.id)
        self.assertNotEqual(new, old)
        self.assertEqual(r.json["stream_key"], s.key, "rotating the view link keeps the stream key")
        self.assert_refused(self.view(s.id, old))
        self.assertEqual(self.view(s.id, new).status, 200)
        self.assertEqual(self.view_token(s), new)
        self.assertEqual(self.server.post("/api/studios/999999/rotate-view-token", token=self.token).status, 404)

    def test_page_is_served(self):
        s = Studio(self.server, self.token, "Страница")
        r = self.server.get(f"/studio/{s.id}?t=anything")
        self.assertEqual(r.status, 200, r)
        self.assertIn("studio.js", r.text)


if __name__ == "__main__":
    unittest.main()
