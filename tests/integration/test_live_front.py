"""The live front (server/web/live_front.h) owns the HTTP port: it answers GET/HEAD /live/… itself and hands every other
request — at the first request or later on the same keep-alive connection — to libwebsockets, which must
answer exactly as before (API, POST bodies, WebSockets). Its limits: 431 for an oversized header, slowloris
and idle connections closed, and the server keeps serving."""
import json
import unittest

from live_front_client import Conn
from media_helpers import metric
from sreda_harness import ADMIN_PASSWORD, ServerTestCase


class EdgeTest(ServerTestCase):
    env = {"SREDA_SERVER_HEADER_TIMEOUT_S": "2", "SREDA_SERVER_KEEPALIVE_TIMEOUT_S": "3"}

    def conn(self, timeout=30.0):
        c = Conn(self.server.port, timeout)
        self.addCleanup(c.close)
        return c

    def test_live_and_api_mixed_on_one_keep_alive_connection(self):
        c = self.conn()
        classes = ("/live/playlist", "/live/master", "/live/part")  # /metrics counts /live by route class
        before = {r: metric(self.server, "sreda_http_requests_total", route=r, status="404") for r in classes}
        status, headers, body, _ = c.get("/live/999999/source/index.m3u8?_HLS_msn=3&_HLS_part=1")
        self.assertEqual(status, 404, body)
        self.assertEqual(json.loads(body)["error"]["code"], "not_found")
        self.assertTrue(headers["content-type"].startswith("application/json"), headers)
        self.assertEqual(headers.get("cache-control"), "no-store")
        status, _, body, _ = c.get("/live/999999/master.m3u8")
        self.assertEqual(status, 404, body)
        # Not /live: handed to libwebsockets on the same connection, with a body in the same packet.
        c.send(self._login_request())
        status, _, body, _ = c.response()
        self.assertEqual(status, 200, body)
        token = json.loads(body)["token"]
        status, _, body, _ = c.get("/api/studios", extra=f"Authorization: Bearer {token}\r\n".encode())
        self.assertEqual(status, 200, body)
        status, _, body, _ = c.get("/live/999999/source/part1.0.m4s")  # lws serves the rest of this connection
        self.assertEqual(status, 404, body)
        for r in classes:  # one each, whichever transport carried it (the part: libwebsockets, then the front)
            self.assertEqual(metric(self.server, "sreda_http_requests_total", route=r, status="404"), before[r] + 1, r)

    def _login_request(self):
        body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()
        return (b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def test_first_request_not_live_goes_to_libwebsockets(self):
        c = self.conn()
        c.send(self._login_request())
        status, _, body, _ = c.response()
        self.assertEqual(status, 200, body)
        status, _, body, _ = self.conn().get("/healthz")
        self.assertEqual(status, 200, body)
        status, _, body, _ = self.conn().get("/live/1/x.m4s", method="POST")  # not GET/HEAD: the route's 405
        self.assertEqual(status, 405, body)

    def test_websocket_upgrade_through_the_edge(self):
        upgrade = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Protocol: sreda.v1\r\n\r\n")
        c = self.conn()
        c.send(upgrade)
        status, headers, _, _ = c.response()
        self.assertEqual(status, 101)
        self.assertEqual(headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        # After /live requests on the same connection, too.
        c = self.conn()
        self.assertEqual(c.get("/live/999999/master.m3u8")[0], 404)
        c.send(upgrade)
        self.assertEqual(c.response()[0], 101)

    def test_live_request_rules(self):
        c = self.conn()
        # Traversal is never resolved: 404 (as libwebsockets answered); undecodable paths 400. The
        # connection stays usable after either.
        for path, want in (("/live/1/../../etc/passwd", 404), ("/live/1/source/%2e%2e/x.m4s", 404),
                           ("/live/1/source/..%2f..%2fetc%2fpasswd", 404), ("/live/1/%zz/index.m3u8", 400),
                           ("/live/1/a%00b/index.m3u8", 400)):
            status, _, body, _ = c.get(path)
            self.assertEqual(status, want, (path, body))
        status, headers, body, _ = c.get("/live/999999/source/index.m3u8", method="HEAD")
        self.assertEqual(status, 404)
        self.assertEqual(int(headers["content-length"]), len(json.dumps(
            {"error": {"code": "not_found", "message": "event 999999 is not live"}}, separators=(",", ":"))))
        status, _, body, _ = c.get("/live/999999/source/index.m3u8")  # the HEAD sent no body: still in step
        self.assertEqual(status, 404, body)
        # HTTP/1.0: answered as 1.0, then closed.
        h10 = self.conn()
        h10.send(b"GET /live/999999/master.m3u8 HTTP/1.0\r\n\r\n")
        status, _, _, line = h10.response()
        self.assertEqual((status, line.split(" ")[0]), (404, "HTTP/1.0"))
        self.assertTrue(h10.closed_by_server())

    def test_oversized_header_gets_431_and_close_then_the_server_serves(self):
        c = self.conn()
        c.send(b"GET /live/1/source/index.m3u8 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        status, headers, body, _ = c.response()
        self.assertEqual(status, 431, body)
        self.assertEqual(headers.get("connection"), "close")
        self.assertTrue(c.closed_by_server())
        self.assertEqual(self.conn().get("/live/999999/master.m3u8")[0], 404)

    def test_slowloris_and_idle_connections_are_closed(self):
        slow = self.conn()
        slow.send(b"GET /live/1/source/index.m3u8 HTTP/1.1\r\nHost: x\r\n")  # never finished
        idle = self.conn()
        self.assertEqual(idle.get("/live/999999/master.m3u8")[0], 404)
        self.assertTrue(slow.closed_by_server())
        self.assertTrue(idle.closed_by_server())
        self.assertEqual(self.conn().get("/live/999999/master.m3u8")[0], 404)
        self.assertEqual(self.server.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main()
