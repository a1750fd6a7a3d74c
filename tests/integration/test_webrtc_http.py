"""The HTTP side of WHIP and WHEP (issue 24) against the real binary: CORS preflights with Accept-Post and the ICE
servers (TURN credentials checked by recomputing coturn's HMAC), what HTTP refuses before any WebRTC back end
sees an offer (415, 413, 401, 405 for PATCH: no trickle), 503 in plain words while WebRTC is off, the WHIP
address and ICE servers in /api/ingest and the artist's view, and the per-event "realtime" flag from the desk's
API to the public event JSON."""
import base64
import hashlib
import hmac
import http.client
import json
import time
import unittest
import urllib.parse

from media_helpers import Studio
from sreda_harness import Server, ServerTestCase

SECRET = "north-secret"
ICE = "stun:127.0.0.1:3478,turn:127.0.0.1:3478?transport=udp"
OFFER = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
         "a=rtpmap:111 opus/48000/2\r\n")
UNAVAILABLE = "real-time sending is not available on this server"


def raw(server, method, path, body=None, headers=None):
    """(status, [(name lower, value)], body bytes): every header, repeated ones (Link) included."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read()
    finally:
        conn.close()


def one(headers, name):
    values = [v for k, v in headers if k == name]
    return values[0] if values else None


def turn_password(username):
    return base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()


class WebRtcHttpTest(ServerTestCase):
    env = {"SREDA_WEBRTC_ICE_SERVERS": ICE, "SREDA_WEBRTC_TURN_SECRET": SECRET}

    def setUp(self):
        self.studio = Studio(self.server, self.token, self.next_name("WebRTC"))

    def post_offer(self, body=OFFER, content_type="application/sdp", key="some-key", path=None):
        headers = {"Content-Type": content_type}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return raw(self.server, "POST", path or f"/whip/{self.studio.id}",
                   body.encode() if isinstance(body, str) else body, headers)

    def assert_turn_credentials(self, username, credential):
        expiry, who = username.split(":")
        self.assertEqual(who, "sreda")
        self.assertAlmostEqual(int(expiry), time.time() + 86400, delta=120)  # webrtc.turn_ttl_s
        self.assertEqual(credential, turn_password(username))

    def assert_cors(self, headers):
        self.assertEqual(one(headers, "access-control-allow-origin"), "*")
        self.assertEqual(one(headers, "access-control-expose-headers"), "Location, ETag, Link")

    def test_options_answers_cors_accept_post_and_ice_servers_with_turn_credentials(self):
        status, headers, body = raw(self.server, "OPTIONS", f"/whip/{self.studio.id}",
                                    headers={"Origin": "https://elsewhere.example",
                                             "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        self.assert_cors(headers)
        self.assertEqual(one(headers, "access-control-allow-methods"), "POST, DELETE, OPTIONS")
        self.assertEqual(one(headers, "access-control-allow-headers"), "Authorization, Content-Type")
        self.assertEqual(one(headers, "accept-post"), "application/sdp")
        links = [v for k, v in headers if k == "link"]
        self.assertEqual(len(links), 2, links)
        self.assertEqual(links[0], '<stun:127.0.0.1:3478>; rel="ice-server"')
        parts = dict(p.strip().split("=", 1) for p in links[1].split(";")[1:])
        self.assertTrue(links[1].startswith("<turn:127.0.0.1:3478?transport=udp>;"), links[1])
        self.assertEqual(parts["rel"], '"ice-server"')
        self.assertEqual(parts["credential-type"], '"password"')
        self.assert_turn_credentials(parts["username"].strip('"'), parts["credential"].strip('"'))
        # A session's address takes DELETE (no POST: no Accept-Post); WHEP answers the same preflight.
        status, headers, _ = raw(self.server, "OPTIONS", f"/whip/{self.studio.id}/AbCdEf")
        self.assertEqual((status, one(headers, "allow"), one(headers, "accept-post")), (204, "DELETE, OPTIONS", None))
        status, headers, _ = raw(self.server, "OPTIONS", "/whep/1")
        self.assertEqual((status, one(headers, "accept-post")), (204, "application/sdp"))

    def test_what_http_refuses_before_any_back_end(self):
        status, headers, body = self.post_offer(content_type="application/json")
        self.assertEqual(status, 415, body)
        self.assert_cors(headers)
        self.assertEqual(json.loads(body)["error"]["message"],
                         "the offer must be sent as Content-Type: application/sdp")
        # webrtc.max_sdp_bytes (16384): one byte more is refused, exactly that many goes on.
        padding = "a=x-pad:" + "p" * 20000
        too_big = (OFFER + padding)[:16385]
        status, headers, body = self.post_offer(too_big)
        self.assertEqual(status, 413, body)
        self.assertIn(b"16384 bytes (webrtc.max_sdp_bytes)", body)
        status, _, body = self.post_offer(too_big[:16384])
        self.assertNotIn(status, (413, 500), body)
        self.assertNotIn(b"too_large", body)
        status, headers, body = self.post_offer(key=None)
        self.assertEqual(status, 401, body)
        self.assertEqual(one(headers, "www-authenticate"), "Bearer")
        self.assertIn(b"Authorization: Bearer <stream key>", body)
        self.assert_cors(headers)
        status, headers, body = raw(self.server, "PATCH", f"/whip/{self.studio.id}/AbCdEf",
                                    b"a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n",
                                    {"Content-Type": "application/trickle-ice-sdpfrag"})
        self.assertEqual(status, 405, body)
        self.assertEqual(one(headers, "allow"), "DELETE, OPTIONS")
        self.assertIn(b"no trickle ICE", body)
        status, headers, _ = raw(self.server, "GET", f"/whip/{self.studio.id}")
        self.assertEqual((status, one(headers, "allow")), (405, "POST, OPTIONS"))
        self.assertEqual(raw(self.server, "POST", "/whip/not-a-studio", OFFER.encode(),
                             {"Content-Type": "application/sdp"})[0], 404)
        # Counted under their own route label, never a raw path.
        text = self.server.get("/metrics").text
        self.assertIn('sreda_http_requests_total{route="/whip",status="415"}', text)
        self.assertIn('sreda_http_requests_total{route="/whip",status="405"}', text)
        self.assertNotIn(f'route="/whip/{self.studio.id}', text)

    def test_ingest_and_the_artists_view_name_the_whip_address_and_ice_servers(self):
        prefix = f"http://127.0.0.1:{self.server.port}/whip/"
        r = self.server.get("/api/ingest")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["whip_url_prefix"], prefix)
        studio = self.server.get(f"/api/studios/{self.studio.id}", token=self.token).json
        sid, t = studio["view_url"].split("/studio/")[1].split("?t=")
        r = self.server.get(f"/api/studio-view/{sid}?t={urllib.parse.quote(t, safe='')}")
        self.assertEqual(r.status, 200, r)
        publish = r.json["publish"]
        self.assertEqual(publish["whip_url"], prefix + str(self.studio.id))
        servers = publish["ice_servers"]
        self.assertEqual(servers[0], {"urls": "stun:127.0.0.1:3478"})
        self.assertEqual(servers[1]["urls"], "turn:127.0.0.1:3478?transport=udp")
        self.assert_turn_credentials(servers[1]["username"], servers[1]["credential"])

    def test_realtime_flag_from_the_desk_to_the_public_event(self):
        eid = self.studio.event_id
        public = self.server.get(f"/api/public/events/{eid}").json
        self.assertIs(public["realtime"], False)
        self.assertNotIn("whep_url", public)
        r = self.server.request("PATCH", f"/api/events/{eid}", body={"realtime": True}, token=self.token)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["realtime"], True)
        public = self.server.get(f"/api/public/events/{eid}").json
        self.assertIs(public["realtime"], True)
        self.assertEqual(public["whep_url"], f"/whep/{eid}")
        listed = {e["id"]: e for e in self.server.get("/api/events", token=self.token).json["events"]}
        self.assertIs(listed[eid]["realtime"], True)
        r = self.server.request("PATCH", f"/api/events/{eid}", body={"realtime": "yes"}, token=self.token)
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["error"]["field"], "realtime")
        self.assertEqual(r.json["error"]["message"], "realtime must be true or false")
        r = self.server.request("PATCH", f"/api/events/{eid}", body={"realtime": False}, token=self.token)
        self.assertIs(r.json["realtime"], False)
        public = self.server.get(f"/api/public/events/{eid}").json
        self.assertNotIn("whep_url", public)
        # A new event may be scheduled with it.
        other = Studio(self.server, self.token, self.next_name("Realtime"), minutes_from_now=None)
        start = "2031-05-01T19:00:00+03:00"
        r = self.server.post("/api/events", {"title": "Master class", "category": "master_class",
                                             "studio_id": other.id, "starts_at": start,
                                             "ends_at": "2031-05-01T20:00:00+03:00", "realtime": True},
                             token=self.token)
        self.assertEqual(r.status, 201, r)
        self.assertIs(r.json["realtime"], True)
        self.assertEqual(self.server.get(f"/api/public/events/{r.json['id']}").json["whep_url"],
                         f"/whep/{r.json['id']}")


class WebRtcOffTest(ServerTestCase):
    """webrtc.enabled false: offers and DELETEs get 503 in plain words, and no page is told a WHIP address."""
    env = {"SREDA_WEBRTC_ENABLED": "false"}

    def test_offers_get_503_and_no_whip_address_is_given(self):
        studio = Studio(self.server, self.token, "Off")
        status, headers, body = raw(self.server, "POST", f"/whip/{studio.id}", OFFER.encode(),
                                    {"Content-Type": "application/sdp", "Authorization": f"Bearer {studio.key}"})
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body),
                         {"error": {"code": "webrtc_unavailable", "message": UNAVAILABLE}})
        self.assertEqual(one(headers, "access-control-allow-origin"), "*")
        self.assertEqual(raw(self.server, "DELETE", f"/whip/{studio.id}/AbCdEf")[0], 503)
        status, _, body = raw(self.server, "POST", f"/whep/{studio.event_id}", OFFER.encode(),
                              {"Content-Type": "application/sdp"})
        self.assertEqual(status, 503)
        self.assertIn(b"real-time playback is not available on this server", body)
        self.assertIsNone(self.server.get("/api/ingest").json["whip_url_prefix"])
        view_url = self.server.get(f"/api/studios/{studio.id}", token=self.token).json["view_url"]
        sid, t = view_url.split("/studio/")[1].split("?t=")
        publish = self.server.get(f"/api/studio-view/{sid}?t={urllib.parse.quote(t, safe='')}").json["publish"]
        self.assertNotIn("whip_url", publish)
        self.assertNotIn("ice_servers", publish)


class SdpLimitConfigTest(unittest.TestCase):
    def test_an_sdp_limit_above_the_body_limit_is_refused_at_start(self):
        server = Server(env={"SREDA_WEBRTC_MAX_SDP_BYTES": "32768", "SREDA_SERVER_MAX_BODY_BYTES": "16384"})
        try:
            self.assertNotEqual(server.start(expect_failure=True), 0)
            self.assertIn("webrtc.max_sdp_bytes: must not be larger than server.max_body_bytes", server.log())
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
