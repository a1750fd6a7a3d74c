"""Limits on the HTTP port (issue 17): connection caps per address at the live front, idle pre-request
connections timed out, API request rates (429 + Retry-After in plain words), trusted proxies' headers, the
login limiter, log escaping and the admin password file's mode."""
import os
import re
import socket
import stat
import time

from media_helpers import metric
from sreda_harness import ADMIN_PASSWORD, Server, ServerTestCase, wait_for


def closed_by_server(s, timeout=30):
    """True once the server closed `s` (recv gives b'' or a reset)."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class ConnectionCapTest(ServerTestCase):
    env = {"SREDA_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "20", "SREDA_SERVER_HEADER_TIMEOUT_S": "60",
           "SREDA_SERVER_API_REQUESTS_PER_S": "1000", "SREDA_SERVER_API_BURST": "1000"}

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=10)

    def test_per_address_cap_refuses_in_plain_words_and_frees_on_close(self):
        # Half idle at the live front, half handed to libwebsockets (a keep-alive API request answered).
        socks = [self.connect() for _ in range(10)]
        for _ in range(10):
            s = self.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200", s.recv(4096))
            socks.append(s)
        try:
            extra = self.connect()
            data = b""
            extra.settimeout(10)
            try:
                while True:
                    chunk = extra.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            self.assertIn(b"503", data.split(b"\r\n", 1)[0])
            self.assertIn(b"retry-after:", data.lower())
            self.assertIn(b"try again", data)
            self.assertGreaterEqual(metric_no_conn(self), 1)
        finally:
            for s in socks:
                s.close()
        # Closed connections, the live front's and libwebsockets', are counted out again.
        wait_for(lambda: self.get_ok(), 30, "a new connection to be accepted")
        for _ in range(3):
            self.settled()
            # 18 of the 20 (the probe's own connection may not be counted out yet when the round starts)
            held = [self.connect() for _ in range(18)]
            self.assertEqual(self.server.get("/healthz").status, 200)
            for s in held:
                s.close()
            wait_for(lambda: self.get_ok(), 30, "a new connection after closing 18")
        lines = [l for l in self.server.log_lines_copy() if "refusing new HTTP connections" in l]
        self.assertEqual(len(lines), 1, lines)

    def settled(self):
        # Every connection closed so far is counted out (slower under ASan): only the /metrics request is open.
        def open_now():
            m = re.search(r"^sreda_http_connections(?:\{\})? ([0-9.e+]+)$", self.server.get("/metrics").text, re.M)
            return float(m.group(1)) if m else None
        wait_for(lambda: (lambda n: n is not None and n <= 1)(open_now()), 30, "the closed connections to be counted out")

    def get_ok(self):
        try:
            return self.server.get("/healthz", timeout=5).status == 200
        except OSError:
            return False


def metric_no_conn(test):
    return wait_for(lambda: test.get_ok() and metric(test.server, "sreda_http_refused_total",
                                                       cause="connections_per_address"), 30, "the refusal metric")


class IdleTimeoutTest(ServerTestCase):
    env = {"SREDA_SERVER_HEADER_TIMEOUT_S": "2"}

    def test_a_connection_that_sends_nothing_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.assertTrue(closed_by_server(s, timeout=30))
        s.close()


class ApiRateTest(ServerTestCase):
    env = {"SREDA_SERVER_API_REQUESTS_PER_S": "5", "SREDA_SERVER_API_BURST": "10",
           "SREDA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32"}

    def test_flood_gets_429_with_retry_after_and_recovers(self):
        statuses = [self.server.get("/api/public/events", headers={"X-Forwarded-For": "203.0.113.7"})
                    for _ in range(40)]
        refused = [r for r in statuses if r.status == 429]
        self.assertGreaterEqual(len(refused), 20, [r.status for r in statuses])
        r = refused[0]
        wait = int(r.headers["retry-after"])
        self.assertGreaterEqual(wait, 1)
        self.assertIn("try again", r.json["error"]["message"])
        self.assertEqual(r.json["error"]["retry_after_s"], wait)
        # Another client behind the same trusted proxy is not affected.
        self.assertEqual(self.server.get("/api/public/events", headers={"X-Forwarded-For": "203.0.113.8"}).status, 200)
        # After Retry-After the client is served again.
        time.sleep(wait)
        self.assertEqual(self.server.get("/api/public/events", headers={"X-Forwarded-For": "203.0.113.7"}).status, 200)
        self.assertGreaterEqual(metric(self.server, "sreda_http_refused_total", cause="api_rate"), 20)
        # One log line per burst of refusals (this class's other test may have opened the burst).
        lines = [l for l in self.server.log_lines_copy() if "refusing requests from" in l]
        self.assertTrue(1 <= len(lines) <= 2, lines)

    def test_a_logged_in_curator_is_not_held_to_the_anonymous_rate(self):
        # The desk of a curator at the same address as a flood (a shared office line) keeps working.
        who = {"X-Forwarded-For": "203.0.113.9"}
        token = self.server.request("POST", "/api/login", {"username": "admin", "password": ADMIN_PASSWORD},
                                    headers=who).json["token"]
        self.assertEqual(self.server.get("/api/studios", token=token, headers=who).status, 200)
        anonymous = [self.server.get("/api/public/events", headers=who).status for _ in range(30)]
        self.assertIn(429, anonymous)
        desk = [self.server.get("/api/studios", token=token, headers=who).status for _ in range(30)]
        self.assertEqual(set(desk), {200}, desk)
        # A made-up token is not a way around the limit.
        fake = [self.server.get("/api/studios", token="x" * 43, headers=who).status for _ in range(30)]
        self.assertIn(429, fake)


class LoginTest(ServerTestCase):
    env = {"SREDA_AUTH_LOGIN_MAX_FAILURES": "3", "SREDA_SERVER_API_REQUESTS_PER_S": "1000",
           "SREDA_SERVER_API_BURST": "1000"}

    def test_a_success_does_not_clear_the_failures_and_names_are_escaped(self):
        bad = {"username": "admin\nINFO [auth] login: admin from 1.2.3.4", "password": "wrong password 1"}
        self.assertEqual(self.server.post("/api/login", bad).status, 401)
        self.assertEqual(self.server.post("/api/login", {"username": "admin", "password": "nope nope"}).status, 401)
        self.assertEqual(self.server.post("/api/login", {"username": "admin", "password": ADMIN_PASSWORD}).status, 200)
        self.assertEqual(self.server.post("/api/login", {"username": "admin", "password": "nope nope"}).status, 401)
        # Three failures in the window, a success in between: the next try is refused.
        r = self.server.post("/api/login", {"username": "admin", "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 429, r)
        self.assertIn("retry-after", r.headers)
        log = self.server.log()
        self.assertIn("failed login for 'admin\\ninfo [auth]", log)  # lower-cased, then escaped
        self.assertFalse(any(l.startswith("INFO [auth] login: admin from 1.2.3.4") for l in self.server.log_lines_copy()))


class AdminPasswordFileTest(ServerTestCase):
    def test_generated_password_file_is_private(self):
        s = Server(admin_password=None).start()
        try:
            path = os.path.join(s.data_dir, "admin-password")
            wait_for(lambda: os.path.exists(path), 10, "the admin password file")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                password = f.read().strip()
            self.assertEqual(s.post("/api/login", {"username": "admin", "password": password}).status, 200)
        finally:
            s.cleanup()
