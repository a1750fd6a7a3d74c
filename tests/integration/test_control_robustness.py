"""Bad input gets a clear error and the server keeps serving; start-up refuses bad config and data."""
import os
import socket
import sqlite3
import tempfile
import unittest

from sreda_harness import Server, ServerTestCase


def raw_exchange(port, payload, timeout=10.0, read=True):
    """Sends raw bytes; returns what came back before the server closed or the timeout passed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        if payload:
            sock.sendall(payload)
        if not read:
            return b""
        chunks = []
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return b""  # the server closed already
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


class RobustnessTest(ServerTestCase):

    def test_errors_are_json_with_the_right_status(self):
        s = self.server
        cases = [
            (s.post("/api/studios", raw_body=b"{not json", token=self.token), 400, "bad_json"),
            (s.post("/api/studios", raw_body=b"[1,2]", token=self.token), 400, "bad_json"),
            (s.post("/api/studios", {"name": "x"}), 401, "unauthorized"),
            (s.get("/api/studios/999", token=self.token), 404, "not_found"),
            (s.get("/api/nothing-here"), 404, "not_found"),
            (s.request("PUT", "/api/studios", {"name": "x"}, token=self.token), 405, "method_not_allowed"),
            (s.post("/api/studios", raw_body=b'{"name":"' + b"x" * 70000 + b'"}', token=self.token), 413,
             "too_large"),
        ]
        for r, status, code in cases:
            with self.subTest(status=status, code=code):
                self.assertEqual(r.status, status, r)
                self.assertTrue(r.headers["content-type"].startswith("application/json"), r.headers)
                self.assertEqual(r.json["error"]["code"], code)
                self.assertTrue(r.json["error"]["message"])

    def test_burst_of_malformed_requests_then_normal_service(self):
        s = self.server
        garbage = [
            b"\x00\x01\x02\x03garbage\r\n\r\n",
            b"GET /api/me HTTP/1.1\r\nHost: x\r\n",                       # truncated headers
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
            b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",  # body never completes
            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64),  # a TLS hello
        ]
        for _ in range(3):
            for payload in garbage:
                reply = raw_exchange(s.port, payload, timeout=5.0)
                self.assertNotIn(b"root:", reply)
        for _ in range(20):
            r = s.post("/api/studios", raw_body=os.urandom(200), token=self.token)
            self.assertIn(r.status, (400, 413))
        # Connections that say nothing are not a problem either.
        idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(20)]
        try:
            r = s.get("/healthz")
            self.assertEqual((r.status, r.json["status"]), (200, "ok"))
            self.assertEqual(s.get("/api/me", token=self.token).status, 200)
        finally:
            for sock in idle:
                sock.close()
        self.assertIsNone(s.proc.poll(), "the server is still running")

    def test_health_metrics_and_pages(self):
        s = self.server
        r = s.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertIn("version", r.json)
        s.get("/api/nothing-here")
        m = s.get("/metrics")
        self.assertEqual(m.status, 200)
        self.assertTrue(m.headers["content-type"].startswith("text/plain"))
        self.assertIn("sreda_uptime_seconds", m.text)
        self.assertIn("sreda_store_queue_depth", m.text)
        self.assertRegex(m.text, r'sreda_http_requests_total\{route="/api",status="404"\} [1-9]')
        page = s.get("/")
        self.assertEqual(page.status, 200)
        self.assertTrue(page.headers["content-type"].startswith("text/html"))
        self.assertIn("/api/public/events", s.get("/programme.js").text)
        self.assertEqual(s.get("/watch/1").status, 200)
        self.assertEqual(s.get("/no-such-file.js").status, 404)

    def test_listens_on_loopback_only(self):
        port_hex = "%04X" % self.server.port
        listeners = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "0A" and local.endswith(":" + port_hex):
                        listeners.append((table, local))
        self.assertEqual(listeners, [("/proc/net/tcp", "0100007F:" + port_hex)])


class StartupTest(unittest.TestCase):
    def test_config_errors_are_all_reported_with_their_path(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonc", delete=False) as f:
            f.write('{ "server": { "http_prot": 1, "max_body_bytes": "big" }, // typo\n "auth": {"x": 1} }')
        s = Server(args=["--config", f.name])
        try:
            code = s.start(expect_failure=True)
            self.assertEqual(code, 2)
            log = s.log()
            for path in ("server.http_prot", "server.max_body_bytes", "auth.x"):
                self.assertIn(path, log)
        finally:
            os.unlink(f.name)
            s.cleanup()

    def test_shipped_config_starts(self):
        source = os.environ.get("SREDA_SOURCE_DIR", "../..")
        s = Server(args=["--config", os.path.join(source, "config/sreda.jsonc"), "--http-port", "0"])
        try:
            s.start()
            self.assertEqual(s.get("/healthz").status, 200)
        finally:
            s.cleanup()

    def test_newer_database_is_refused(self):
        s = Server()
        try:
            s.start()
            s.stop()
            db = sqlite3.connect(os.path.join(s.data_dir, "sreda.db"))
            db.execute("PRAGMA user_version = 99")
            db.close()
            code = s.start(expect_failure=True)
            self.assertNotEqual(code, 0)
            self.assertIn("newer sreda", s.log())
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
