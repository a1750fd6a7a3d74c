"""The HTTPS front (deploy/front, Debian's nginx) in front of a real sreda, as viewers meet it: pages over HTTPS with
HTTP/2, port 80 redirecting to HTTPS but answering certbot's challenges, the audience WebSocket over wss://, sreda's
JSON answer for a body too large, and every viewer counted under their own address (a guesser cannot dodge the
login limit by writing X-Forwarded-For or Forwarded). Media through the front: test_front_media.py."""
import asyncio
import json
import os
import uuid

import websockets

from front_helpers import WithFront, insecure_tls
from media_helpers import Studio, run
from sreda_harness import ServerTestCase


class FrontTest(WithFront, ServerTestCase):
    # The front on this machine is sreda's one trusted proxy (what the README tells an administrator to set).
    env = {"SREDA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32"}

    def test_pages_over_https_with_http2(self):
        status, version, headers, body = self.front.curl("/")
        self.assertEqual((status, version), (200, "2"), body[:300])
        self.assertTrue(headers["content-type"].startswith("text/html"), headers)
        self.assertIn(b"<html", body.lower())
        self.assertIn("max-age=", headers.get("strict-transport-security", ""))
        # The API answers through it too, sreda's JSON as it is.
        status, version, headers, body = self.front.curl("/api/public/events?when=upcoming")
        self.assertEqual((status, version), (200, "2"))
        self.assertTrue(headers["content-type"].startswith("application/json"), headers)
        self.assertIn("events", json.loads(body))
        # sreda's metrics (events, studios, the disk; no login) are not for the internet: Prometheus reads them
        # on the machine itself.
        status, _, _, _ = self.front.curl("/metrics")
        self.assertEqual(status, 404)
        self.assertEqual(self.server.get("/metrics").status, 200)

    def test_port_80_redirects_to_https_but_serves_certbots_challenge(self):
        status, _, headers, _ = self.front.curl("/watch/1?x=1", scheme="http")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://127.0.0.1/watch/1?x=1")
        token = uuid.uuid4().hex
        folder = os.path.join(self.front.webroot, ".well-known", "acme-challenge")
        os.makedirs(folder, exist_ok=True)
        os.chmod(os.path.join(self.front.webroot, ".well-known"), 0o755)
        os.chmod(folder, 0o755)
        with open(os.path.join(folder, token), "w") as f:
            f.write(token + ".proof")
        os.chmod(os.path.join(folder, token), 0o644)
        status, _, _, body = self.front.curl(f"/.well-known/acme-challenge/{token}", scheme="http")
        self.assertEqual((status, body), (200, (token + ".proof").encode()))

    def test_a_body_larger_than_sredas_limit_gets_sredas_json_error(self):
        r = self.front.request("POST", "/api/login", body=b"{" + b" " * 70000 + b"}",
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.json["error"]["code"], "too_large")
        # Within the limit, sreda itself answers.
        r = self.front.request("POST", "/api/login", body=json.dumps({"username": "admin", "password": "x" * 1000}),
                               headers={"Content-Type": "application/json"}, source="127.0.0.9")
        self.assertEqual(r.status, 401, r)

    def test_the_audience_channel_over_wss(self):
        studio = Studio(self.server, self.token, "Зал через фронт")
        origin = f"https://127.0.0.1:{self.front.https_port}"  # the watch page's own origin, as a browser sends it

        async def body():
            url = f"wss://127.0.0.1:{self.front.https_port}/ws"
            kw = dict(subprotocols=["sreda.v1"], origin=origin, ssl=insecure_tls(), open_timeout=30)
            async with websockets.connect(url, **kw) as a, websockets.connect(url, **kw) as b:
                async def expect(ws, kind):
                    while True:
                        m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                        if m["type"] in (kind, "error"):
                            return m
                for ws, nick in ((a, "Анна"), (b, "Борис")):
                    await ws.send(json.dumps({"type": "join", "event_id": studio.event_id, "nick": nick}))
                    welcome = await expect(ws, "welcome")
                    self.assertEqual(welcome["type"], "welcome", welcome)
                await a.send(json.dumps({"type": "comment", "text": "Слышно отлично"}))
                got = await expect(b, "comment")
                self.assertEqual((got["type"], got["nick"], got["text"]), ("comment", "Анна", "Слышно отлично"))
                viewers = await expect(a, "viewers")
                while viewers["type"] == "viewers" and viewers["count"] < 2:
                    viewers = await expect(a, "viewers")
                self.assertEqual(viewers, {"type": "viewers", "count": 2})
            # A page of another site may not open it, through the front as straight.
            with self.assertRaises(websockets.InvalidStatusCode):
                await websockets.connect(url, **{**kw, "origin": "https://evil.example"})
        run(body())

    def test_each_viewer_is_counted_under_their_own_address(self):
        # auth.login_max_failures (5) failed logins from 127.0.0.2, each naming another address in X-Forwarded-For
        # and Forwarded: the front overwrites both, so sreda counts them all under 127.0.0.2 and refuses the next.
        bad = json.dumps({"username": "admin", "password": "wrong password"})
        for i in range(5):
            r = self.front.request("POST", "/api/login", body=bad, source="127.0.0.2",
                                   headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.0.0.{i}",
                                            "Forwarded": f"for=10.1.0.{i}"})
            self.assertEqual(r.status, 401, r)
        r = self.front.request("POST", "/api/login", body=bad, source="127.0.0.2",
                               headers={"Content-Type": "application/json", "Forwarded": "for=10.2.0.1"})
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json["error"]["code"], "too_many_attempts")
        # Another viewer behind the same front is not lumped in with them.
        r = self.front.request("POST", "/api/login", body=bad, source="127.0.0.3",
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 401, r)
        self.assertIn("refusing logins from 127.0.0.2", self.server.log())
