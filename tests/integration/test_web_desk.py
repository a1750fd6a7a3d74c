"""The curator's desk page and the ingest addresses it shows, through real HTTP."""
import unittest

from sreda_harness import Server, ServerTestCase


class DeskTest(ServerTestCase):

    def test_desk_is_served_at_slash_desk(self):
        for path in ("/desk", "/desk/"):
            r = self.server.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertIn("text/html", r.headers.get("content-type", ""))
            self.assertIn('src="/desk.js"', r.text)
        self.assertEqual(self.server.get("/desk/other").status, 404)

    def test_ingest_names_the_bound_ports_and_the_visitors_host(self):
        r = self.server.get("/api/ingest", headers={"Host": "studio.example.org:8080"})
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertEqual(j["host"], "studio.example.org")
        self.assertEqual(j["rtmp_port"], self.server.rtmp_port)
        self.assertEqual(j["srt_port"], self.server.srt_port)
        self.assertEqual(j["rtmp_server"], f"rtmp://studio.example.org:{self.server.rtmp_port}/live")
        self.assertEqual(j["srt_url_prefix"], f"srt://studio.example.org:{self.server.srt_port}?streamid=publish:")
        self.assertEqual(self.server.request("POST", "/api/ingest", body={}).status, 405)


class DeskPublicUrlTest(unittest.TestCase):
    def test_public_url_host_wins_over_the_request(self):
        server = Server(args=["--public-url", "https://sreda.example.org/"]).start()
        try:
            r = server.get("/api/ingest", headers={"Host": "127.0.0.1"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["rtmp_server"], f"rtmp://sreda.example.org:{server.rtmp_port}/live")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
