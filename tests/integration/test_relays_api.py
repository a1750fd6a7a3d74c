"""The curator's relays over REST (issue 21): push targets per event and per studio (defaults for its events),
a studio's pulled source (pull_url), the desk's "test connection", and each relay's line in
GET /api/events/{id}/live. What a curator notices: a malformed or unknown address gets a clear 422 at once
(the field named), a stream key or passphrase is never shown back (masked in every answer) nor written to the
server's log, a destination inside the machine or a private network is refused unless an admin allows it
(relays.allowed_hosts), an event holds at most relays.max_per_event targets (its own and its studio's).
No media: the relays' runtime is only asked for its state and to try a connection (to a closed port here)."""
import socket
import unittest

from media_helpers import Studio
from sreda_harness import ServerTestCase

# Secrets the tests put in URLs: none may come back in an answer or appear in the log.
KEY = "vk-live-4f8a2c-secret-7791"
OTHER_KEY = "other-secret-key-55aa9876"
STUDIO_KEY = "rutube-studio-secret-0c3d"
PASSPHRASE = "partner-passphrase-x93k"
PULL_KEY = "pullkey-secret-read-4242"
SECRETS = (KEY, OTHER_KEY, STUDIO_KEY, PASSPHRASE, PULL_KEY)

VK = f"rtmp://ovsu.okcdn.example.net/input/{KEY}"
OTHER = f"rtmps://live.example.org:443/app/{OTHER_KEY}"
RUTUBE = f"rtmp://rtmp-lb.example.net/live_push/{STUDIO_KEY}"
PARTNER_SRT = f"srt://partner.example.org:9000?streamid=publish:{KEY}&passphrase={PASSPHRASE}"
PULL = f"srt://sreda.partner.example.org:8890?streamid=read:{PULL_KEY}&passphrase={PASSPHRASE}"


def closed_port():
    """A TCP port on 127.0.0.1 nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RelaysTestCase(ServerTestCase):
    def call(self, method, path, body=None, token=None):
        """A request whose answer must not hold any secret."""
        r = self.server.request(method, path, body=body, token=token or self.token)
        for secret in SECRETS:
            self.assertNotIn(secret.encode(), r.body, f"{method} {path} answered a secret: {r}")
        return r

    def assertError(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json["error"]["code"], code, r)
        self.assertTrue(r.json["error"]["message"], r)
        if field:
            self.assertEqual(r.json["error"].get("field"), field, r)
        return r.json["error"]["message"]

    def assertLogHasNoSecret(self):
        log = self.server.log()
        for secret in SECRETS:
            self.assertNotIn(secret, log, "a secret in the server's log")

    def assertTestAnswered(self, r, expect_ok, words):
        """The desk's "test connection": {ok, what}. A binary without the relays' runtime answers 503 (and has
        no sreda_relay_ metrics); with it, the answer says what happened."""
        if r.status == 503:
            metrics = self.server.get("/metrics").text
            self.assertNotIn("sreda_relay_", metrics, f"the runtime runs, yet the test answered 503: {r}")
            self.assertIn("not running", r.json["error"]["message"])
            return
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["ok"], expect_ok, r)
        self.assertIn(words, r.json["what"].lower(), r)


class RelaysApiTest(RelaysTestCase):
    env = {"SREDA_RELAYS_MAX_PER_EVENT": "3"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.post("/api/curators", {"username": "olga", "password": "a long curator password"},
                            token=cls.token)
        assert r.status == 201, r
        cls.curator = cls.server.login("olga", "a long curator password")

    def relays(self, path):
        r = self.call("GET", path)
        self.assertEqual(r.status, 200, r)
        return r.json["relays"]

    def live_relays(self, event_id):
        r = self.call("GET", f"/api/events/{event_id}/live")
        self.assertEqual(r.status, 200, r)
        return {x["id"]: x for x in r.json["relays"]}

    def test_an_events_relays_are_added_changed_disabled_and_removed_with_their_keys_masked(self):
        studio = Studio(self.server, self.token, self.next_name("Relay hall"))
        base = f"/api/events/{studio.event_id}/relays"
        self.assertEqual(self.relays(base), [])
        r = self.call("POST", base, {"name": "VK Video", "url": VK}, token=self.curator)
        self.assertEqual(r.status, 201, r)
        vk = r.json
        self.assertEqual((vk["name"], vk["rendition"], vk["enabled"], vk["studio_default"]),
                         ("VK Video", "source", True, False))
        self.assertTrue(vk["url"].startswith("rtmp://ovsu.okcdn.example.net"), vk)
        self.assertIn("•••", vk["url"])
        self.assertTrue(vk["url"].endswith("7791"), "the key's last characters tell two keys apart")
        srt = self.call("POST", base, {"name": "Partner city", "url": PARTNER_SRT, "rendition": "720p"}).json
        self.assertEqual(srt["rendition"], "720p")
        self.assertEqual([x["name"] for x in self.relays(base)], ["VK Video", "Partner city"])

        # PATCH: a new name and key; the masked URL sent back unchanged keeps the stored key.
        r = self.call("PATCH", f"{base}/{vk['id']}", {"name": "VK Видео", "url": OTHER})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["name"], "VK Видео")
        self.assertTrue(r.json["url"].startswith("rtmps://live.example.org") and r.json["url"].endswith("9876"), r)
        masked = r.json["url"]
        r = self.call("PATCH", f"{base}/{vk['id']}", {"url": masked, "rendition": "480p"})
        self.assertEqual((r.status, r.json["url"], r.json["rendition"]), (200, masked, "480p"), r)

        # Its line in the live view: masked, waiting while the event has not started; stopped when disabled.
        live = self.live_relays(studio.event_id)
        self.assertEqual(set(live), {vk["id"], srt["id"]})
        self.assertEqual(live[vk["id"]]["url"], masked)
        self.assertEqual(live[vk["id"]]["state"], "waiting")
        self.assertEqual((live[vk["id"]]["bytes_sent"], live[vk["id"]]["reconnects"], live[vk["id"]]["last_error"]),
                         (0, 0, None))
        r = self.call("PATCH", f"{base}/{vk['id']}", {"enabled": False}, token=self.curator)
        self.assertEqual((r.status, r.json["enabled"]), (200, False), r)
        self.assertEqual(self.live_relays(studio.event_id)[vk["id"]]["state"], "stopped")
        self.assertEqual(self.call("PATCH", f"{base}/{vk['id']}", {"enabled": True}).json["enabled"], True)
        self.assertEqual(self.live_relays(studio.event_id)[vk["id"]]["state"], "waiting")

        # DELETE; then it is gone, and again is a 404.
        r = self.call("DELETE", f"{base}/{vk['id']}", token=self.curator)
        self.assertEqual((r.status, r.json), (200, {"deleted": vk["id"]}), r)
        self.assertEqual([x["id"] for x in self.relays(base)], [srt["id"]])
        self.assertEqual(self.call("DELETE", f"{base}/{vk['id']}").status, 404)
        self.assertEqual(self.call("PATCH", f"{base}/{vk['id']}", {"enabled": False}).status, 404)
        self.assertEqual(self.call("GET", "/api/events/999999/relays").status, 404)
        # Another event's relay is not this event's.
        other = Studio(self.server, self.token, self.next_name("Other hall"))
        self.assertEqual(self.call("DELETE", f"/api/events/{other.event_id}/relays/{srt['id']}").status, 404)

        # Each change is in the moderation log, masked.
        log = self.call("GET", f"/api/audience/log?event_id={studio.event_id}").json["log"]
        actions = [e["action"] for e in log]
        for action in ("relay_added", "relay_changed", "relay_disabled", "relay_enabled", "relay_removed"):
            self.assertIn(action, actions)
        self.assertLogHasNoSecret()

    def test_a_studios_default_relays_go_with_each_of_its_events(self):
        studio = Studio(self.server, self.token, self.next_name("Default hall"))
        base = f"/api/studios/{studio.id}/relays"
        r = self.call("POST", base, {"name": "RuTube", "url": RUTUBE}, token=self.curator)
        self.assertEqual(r.status, 201, r)
        default = r.json
        self.assertTrue(default["studio_default"])
        self.assertEqual([x["id"] for x in self.relays(base)], [default["id"]])
        own = self.call("POST", f"/api/events/{studio.event_id}/relays", {"name": "VK", "url": VK}).json
        listed = self.relays(f"/api/events/{studio.event_id}/relays")
        self.assertEqual([(x["id"], x["studio_default"]) for x in listed], [(own["id"], False), (default["id"], True)])
        live = self.live_relays(studio.event_id)
        self.assertEqual(set(live), {own["id"], default["id"]})
        self.assertTrue(live[default["id"]]["studio_default"])
        # A studio's default is edited on the studio, not through one of its events.
        self.assertEqual(self.call("PATCH", f"/api/events/{studio.event_id}/relays/{default['id']}",
                                   {"enabled": False}).status, 404)
        r = self.call("PATCH", f"{base}/{default['id']}", {"enabled": False, "name": "RuTube (off)"})
        self.assertEqual((r.status, r.json["enabled"], r.json["name"]), (200, False, "RuTube (off)"), r)
        self.assertEqual(self.live_relays(studio.event_id)[default["id"]]["state"], "stopped")
        self.assertEqual(self.call("DELETE", f"{base}/{default['id']}").status, 200)
        self.assertEqual(set(self.live_relays(studio.event_id)), {own["id"]})
        self.assertEqual(self.call("GET", "/api/studios/999999/relays").status, 404)
        self.assertLogHasNoSecret()

    def test_bad_addresses_names_and_renditions_get_a_clear_422_at_once(self):
        studio = Studio(self.server, self.token, self.next_name("Strict hall"))
        base = f"/api/events/{studio.event_id}/relays"
        cases = [
            ("an unknown scheme", "ftp://example.net/live/abc-key-123456"),
            ("an HLS URL (pull only)", "https://example.net/live/1/master.m3u8"),
            ("not a URL", "VK Video stream key"),
            ("no host", "rtmp:///live/abc-key-123456"),
            ("no stream key", "rtmp://live.example.net/live"),
            ("a short SRT passphrase", "srt://partner.example.org:9000?streamid=publish:x&passphrase=short"),
            ("a port out of range", "rtmp://live.example.net:70000/live/abc-key-123456"),
        ]
        for what, url in cases:
            with self.subTest(what):
                self.assertError(self.call("POST", base, {"name": "Bad", "url": url}), 422, "invalid_url", "url")
        for body, field in (({"name": "", "url": VK}, "name"), ({"name": "x" * 81, "url": VK}, "name"),
                            ({"url": VK}, "name"), ({"name": "No address"}, "url"),
                            ({"name": "Big", "url": VK, "rendition": "1080p"}, "rendition"),
                            ({"name": "Odd", "url": VK, "enabled": "yes"}, "enabled"),
                            ({"name": "Odd", "url": VK, "colour": "red"}, "colour")):
            with self.subTest(body=body):
                message = self.assertError(self.call("POST", base, body), 422, "invalid", field)
                if field == "rendition":
                    self.assertIn("720p", message, "the message lists the renditions there are")
        # Several bad fields: every one is named.
        r = self.call("POST", base, {"name": "", "url": "ftp://x", "rendition": "4k"})
        self.assertEqual(sorted(f["field"] for f in r.json["error"]["fields"]), ["name", "rendition", "url"])
        # A PATCH is checked the same way and changes nothing when refused.
        ok = self.call("POST", base, {"name": "Fine", "url": VK}).json
        self.assertError(self.call("PATCH", f"{base}/{ok['id']}", {"url": "rtmp://live.example.net/live"}),
                         422, "invalid_url", "url")
        self.assertTrue(self.relays(base)[0]["url"].endswith("7791"))
        self.assertEqual(self.relays(base)[0]["url"], ok["url"])
        # A masked address pasted as a new one would lose its key: refused.
        message = self.assertError(self.call("POST", base, {"name": "Copy", "url": ok["url"]}), 422, "invalid_url",
                                   "url")
        self.assertIn("masked", message)

        # This machine or a private network: refused while relays.allowed_hosts is empty.
        for url in ("rtmp://127.0.0.1/live/abc-key-123456", "srt://10.1.2.3:9000?streamid=publish:x",
                    "rtmp://192.168.0.10:1935/live/abc-key-123456", "rtmp://[::1]:1935/live/abc-key-123456"):
            with self.subTest(url=url):
                message = self.assertError(self.call("POST", base, {"name": "Inside", "url": url}), 422,
                                           "destination_not_allowed", "url")
                self.assertIn("relays.allowed_hosts", message)
        self.assertEqual(len(self.relays(base)), 1, "nothing refused was stored")
        self.assertLogHasNoSecret()

    def test_at_most_max_per_event_relays_own_and_studio_defaults(self):
        studio = Studio(self.server, self.token, self.next_name("Busy hall"))
        self.assertEqual(self.call("POST", f"/api/studios/{studio.id}/relays",
                                   {"name": "Default", "url": RUTUBE}).status, 201)
        base = f"/api/events/{studio.event_id}/relays"
        for n in range(2):
            self.assertEqual(self.call("POST", base, {"name": f"Own {n}", "url": VK}).status, 201)
        self.assertEqual(self.call("GET", base).json["max_per_event"], 3)
        message = self.assertError(self.call("POST", base, {"name": "One too many", "url": VK}), 422,
                                   "too_many_relays")
        self.assertIn("relays.max_per_event", message)
        # A studio default would make that event's four too.
        self.assertError(self.call("POST", f"/api/studios/{studio.id}/relays", {"name": "Another", "url": RUTUBE}),
                         422, "too_many_relays")
        self.assertEqual(len(self.relays(base)), 3)

    def test_a_studio_pulls_a_partners_stream_shown_masked(self):
        studio = Studio(self.server, self.token, self.next_name("Pulled hall"), minutes_from_now=None)
        path = f"/api/studios/{studio.id}"
        self.assertIsNone(self.call("GET", path).json["pull_url"])
        r = self.call("PATCH", path, {"pull_url": PULL})
        self.assertEqual(r.status, 200, r)
        masked = r.json["pull_url"]
        self.assertTrue(masked.startswith("srt://sreda.partner.example.org:8890"), masked)
        self.assertEqual(self.call("GET", path).json["pull_url"], masked)
        listed = {s["id"]: s for s in self.call("GET", "/api/studios").json["studios"]}
        self.assertEqual(listed[studio.id]["pull_url"], masked)
        # The masked form sent back changes nothing (a rename with it keeps the secret).
        r = self.call("PATCH", path, {"pull_url": masked, "name": self.next_name("Pulled hall renamed")})
        self.assertEqual((r.status, r.json["pull_url"]), (200, masked), r)
        # An HLS playlist of another sreda may be pulled too; a push-only scheme may not.
        r = self.call("PATCH", path, {"pull_url": "https://sreda.partner.example.org/live/42/master.m3u8"})
        self.assertEqual((r.status, r.json["pull_url"]), (200, "https://sreda.partner.example.org/live/42/master.m3u8"))
        self.assertError(self.call("PATCH", path, {"pull_url": "ftp://partner.example.org/x"}), 422, "invalid_url",
                         "pull_url")
        self.assertError(self.call("PATCH", path, {"pull_url": 42}), 422, "invalid", "pull_url")
        self.assertError(self.call("PATCH", path, {"pull_url": "srt://127.0.0.1:9000?streamid=read:1"}), 422,
                         "destination_not_allowed", "pull_url")
        # Curators see it; only an admin sets it (PATCH /api/studios/{id} is an admin's).
        self.assertEqual(self.call("GET", path, token=self.curator).json["pull_url"],
                         "https://sreda.partner.example.org/live/42/master.m3u8")
        self.assertEqual(self.call("PATCH", path, {"pull_url": None}, token=self.curator).status, 403)
        r = self.call("PATCH", path, {"pull_url": None})
        self.assertEqual((r.status, r.json["pull_url"]), (200, None), r)
        self.assertNotIn("pull", r.json)
        self.assertIsNone(self.call("GET", path).json["pull_url"])
        self.assertLogHasNoSecret()

    def test_every_relay_route_needs_a_login(self):
        studio = Studio(self.server, self.token, self.next_name("Closed hall"))
        e, s = studio.event_id, studio.id
        relay = self.call("POST", f"/api/events/{e}/relays", {"name": "VK", "url": VK}).json["id"]
        routes = [("GET", f"/api/events/{e}/relays"), ("POST", f"/api/events/{e}/relays"),
                  ("PATCH", f"/api/events/{e}/relays/{relay}"), ("DELETE", f"/api/events/{e}/relays/{relay}"),
                  ("POST", f"/api/events/{e}/relays/{relay}/test"), ("GET", f"/api/studios/{s}/relays"),
                  ("POST", f"/api/studios/{s}/relays"), ("PATCH", f"/api/studios/{s}/relays/1"),
                  ("DELETE", f"/api/studios/{s}/relays/1"), ("POST", f"/api/studios/{s}/relays/1/test"),
                  ("POST", "/api/relays/test")]
        for method, path in routes:
            with self.subTest(route=f"{method} {path}"):
                body = {"name": "x", "url": VK} if method in ("POST", "PATCH") else None
                r = self.server.request(method, path, body=body)
                self.assertEqual(r.status, 401, r)
                self.assertEqual(self.server.request(method, path, body=body, token="not-a-token").status, 401)
        self.assertEqual(len(self.relays(f"/api/events/{e}/relays")), 1, "nothing changed without a login")

    def test_test_connection_checks_the_address_first(self):
        self.assertError(self.call("POST", "/api/relays/test", {"url": "ftp://x/y"}), 422, "invalid_url", "url")
        self.assertError(self.call("POST", "/api/relays/test", {}), 422, "invalid", "url")
        self.assertError(self.call("POST", "/api/relays/test", {"url": f"rtmp://127.0.0.1:{closed_port()}/live/k"}),
                         422, "destination_not_allowed", "url")
        self.assertEqual(self.call("POST", "/api/events/999999/relays/1/test").status, 404)


class RelaysAllowListTest(RelaysTestCase):
    """relays.allowed_hosts names what a relay may reach besides public addresses: here this machine."""
    env = {"SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1"}

    def test_an_allowed_address_is_accepted_and_a_closed_port_is_refused_in_words(self):
        studio = Studio(self.server, self.token, "Allowed hall")
        port = closed_port()
        url = f"rtmp://127.0.0.1:{port}/live/{KEY}"
        r = self.call("POST", f"/api/events/{studio.event_id}/relays", {"name": "This machine", "url": url})
        self.assertEqual(r.status, 201, r)
        self.assertError(self.call("POST", f"/api/events/{studio.event_id}/relays",
                                   {"name": "Private", "url": "rtmp://10.1.2.3/live/abc-key-123456"}),
                         422, "destination_not_allowed", "url")
        self.assertTestAnswered(self.call("POST", "/api/relays/test", {"url": url}), False, "refused")
        self.assertTestAnswered(self.call("POST", f"/api/events/{studio.event_id}/relays/{r.json['id']}/test"),
                                False, "refused")
        r = self.call("PATCH", f"/api/studios/{studio.id}", {"pull_url": f"srt://127.0.0.1:{port}?streamid=read:1"})
        self.assertEqual(r.status, 200, r)
        self.assertLogHasNoSecret()


if __name__ == "__main__":
    unittest.main()
