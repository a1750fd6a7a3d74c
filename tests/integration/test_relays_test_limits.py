"""The desk's "test connection" is bounded: one test at a time per curator and per relay, at most 4 at once in all;
beyond that a 429 that says a test is already running (and a Retry-After), counted in
sreda_relay_tests_refused_total. A finished test no longer counts: the next one runs."""
import socket
import threading

from media_helpers import Studio, metric
from sreda_harness import ServerTestCase, wait_for


class RelayTestLimitsTest(ServerTestCase):
    env = {"SREDA_RELAYS_ALLOWED_HOSTS": "127.0.0.1", "SREDA_RELAYS_CONNECT_TIMEOUT_S": "4"}

    def curator(self, name):
        r = self.server.post("/api/curators", {"username": name, "password": "a long curator password"},
                             token=self.token)
        self.assertEqual(r.status, 201, r)
        return self.server.login(name, "a long curator password")

    def assertBusy(self, r, words):
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json["error"]["code"], "test_running", r)
        self.assertIn(words, r.json["error"]["message"])
        self.assertTrue(r.headers.get("retry-after"), r.headers)

    def test_one_test_per_curator_and_per_relay_and_four_at_once(self):
        # A target that takes the connection and never answers: each test lasts the connect timeout (4 s).
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        self.addCleanup(silent.close)
        url = f"rtmp://127.0.0.1:{silent.getsockname()[1]}/live/silent-target-key"
        tokens = {"admin": self.token}
        for name in ("olga", "pavel", "rustam", "sveta"):
            tokens[name] = self.curator(name)
        studio = Studio(self.server, self.token, "Проверка связи")
        r = self.server.post(f"/api/events/{studio.event_id}/relays", {"name": "Платформа", "url": url},
                             token=self.token)
        self.assertEqual(r.status, 201, r)
        relay_test = f"/api/events/{studio.event_id}/relays/{r.json['id']}/test"
        answers, threads = {}, []

        def start(who, path, body=None):
            def call():
                answers[who] = self.server.request("POST", path, body=body, token=tokens[who], timeout=60)
            t = threading.Thread(target=call)
            t.start()
            threads.append(t)
            running = len(threads)
            wait_for(lambda: self.server.log().count("tests the connection to") >= running, 20,
                     f"{running} test(s) running")

        start("admin", relay_test)
        # The same curator again (any address), and another curator on the same relay: refused while it runs.
        self.assertBusy(self.server.request("POST", "/api/relays/test", {"url": url}, token=self.token),
                        "a test of yours is already running")
        self.assertBusy(self.server.request("POST", relay_test, token=tokens["olga"]),
                        "a test of this relay is already running")
        for who in ("olga", "pavel", "rustam"):
            start(who, "/api/relays/test", {"url": url})
        # Four at once: a fifth curator waits.
        self.assertBusy(self.server.request("POST", "/api/relays/test", {"url": url}, token=tokens["sveta"]),
                        "a test is already running")
        for t in threads:
            t.join(60)
        for who in ("admin", "olga", "pavel", "rustam"):
            r = answers[who]
            self.assertEqual(r.status, 200, r)
            self.assertFalse(r.json["ok"], who)
            self.assertIn("no answer within 4 s", r.json["what"], who)
        self.assertEqual(metric(self.server, "sreda_relay_tests_refused_total", cause="holder"), 2)
        self.assertEqual(metric(self.server, "sreda_relay_tests_refused_total", cause="at_once"), 1)
        # Done tests no longer count.
        r = self.server.request("POST", relay_test, token=tokens["sveta"], timeout=60)
        self.assertEqual((r.status, r.json["ok"]), (200, False), r)
        self.assertNotIn("silent-target-key", self.server.log())


if __name__ == "__main__":
    import unittest
    unittest.main()
