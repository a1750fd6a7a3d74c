"""The API's document (issue 18) against the answers only a live stream and its recording give: the live
monitor with a publisher and its renditions, the artist's view with the stream's health, the programme's live
event, ending it, the recording, its trim, the MP4 export (its headers too) and deleting it. Each answer
validates against /api/openapi.json's schemas (test_openapi.py checks the rest of the API)."""
import unittest
import urllib.parse

from media_helpers import LiveServerTest, Publisher, Studio
from sreda_harness import wait_for
from test_openapi import NEEDS_MEDIA, ApiDocument


class OpenApiMediaTest(LiveServerTest):
    def test_live_and_recorded_answers_validate_against_the_document(self):
        api = ApiDocument(self.server.get("/api/openapi.json").json)
        s = Studio(self.server, self.token, "Живой документ")
        ids = {"id": s.event_id}

        def call(method, template, query="", body=None, token=self.token, path_ids=None):
            path = template
            for name, value in (path_ids or ids).items():
                path = path.replace("{" + name + "}", str(value))
            return api.check(method, template, self.server.request(method.upper(), path + query, body=body,
                                                                   token=token))

        view_url = self.server.get(f"/api/studios/{s.id}", token=self.token).json["view_url"]
        t = urllib.parse.quote(view_url.split("?t=")[1], safe="")
        pub = Publisher(s.rtmp_url(), seconds=60)
        try:
            s.wait_media()

            def monitored():
                r = call("get", "/api/events/{id}/live")
                return r if r.json.get("renditions") and r.json["publisher"]["uptime_s"] >= 3 else None
            live = wait_for(monitored, 60, "the live monitor with renditions")
            self.assertEqual(live.json["publisher"]["protocol"], "rtmp")

            def healthy():
                r = call("get", "/api/studio-view/{studio}", query=f"?t={t}", token=None, path_ids={"studio": s.id})
                return r if r.json["health"] and r.json["health"]["level"] == "good" else None
            view = wait_for(healthy, 60, "the artist's view to call the stream healthy")
            self.assertEqual(view.json["live"]["state"], "live")

            page = call("get", "/api/public/events", query="?when=live", token=None)
            self.assertIn(s.event_id, [e["id"] for e in page.json["events"]])
            one = call("get", "/api/public/events/{id}", token=None)
            self.assertIn("viewers", one.json)
            self.assertEqual(call("get", "/api/events/{id}/recording.mp4").status, 409)  # still recording
            recording = call("get", "/api/events/{id}/recording")
            self.assertEqual(recording.json["state"], "recording")
            self.assertEqual(call("post", "/api/events/{id}/end").status, 200)
        finally:
            pub.kill()
        s.wait_state("archived", timeout=60)

        archived = wait_for(lambda: (lambda r: r if r.json["state"] == "archived" else None)(
            call("get", "/api/events/{id}/recording")), 60, "the recording to be archived")
        self.assertGreater(archived.json["duration_s"], 2)
        trimmed = call("post", "/api/events/{id}/recording/trim", body={"start_ms": 1000, "end_ms": None})
        self.assertEqual(trimmed.status, 200, trimmed)
        self.assertEqual(call("post", "/api/events/{id}/recording/trim", body={"start_ms": "soon"}).status, 422)
        archive_page = call("get", "/api/public/events", query="?when=archive", token=None)
        self.assertIn(s.event_id, [e["id"] for e in archive_page.json["events"]])
        mp4 = call("get", "/api/events/{id}/recording.mp4")
        self.assertEqual(mp4.status, 200, mp4)
        self.assertEqual(mp4.headers["x-recording-part"], "1 of 1")
        self.assertEqual(mp4.body[4:8], b"ftyp")
        self.assertEqual(call("get", "/api/events/{id}/recording.mp4", query="?part=2").status, 404)
        self.assertEqual(call("delete", "/api/events/{id}/recording").status, 200)
        self.assertEqual(call("get", "/api/events/{id}/recording").status, 404)

        succeeded = {(m, t) for m, t, status in api.checked if 200 <= status < 300}
        self.assertEqual(sorted(NEEDS_MEDIA - succeeded), [])


if __name__ == "__main__":
    unittest.main()
