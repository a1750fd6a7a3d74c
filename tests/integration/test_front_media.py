"""A studio publishing over RTMPS through the front (deploy/front/sreda-rtmps.conf, nginx's stream module) while
another studio's encoder is connected through it too, and viewers watching through the HTTPS front
(deploy/front/sreda-front.conf) over HTTP/2: the master playlist, a blocking playlist request (_HLS_msn/_HLS_part)
answered, the part and a segment with their content types; then the recording's media files served from the
front's cache on a second fetch. The front and sreda as an administrator sets them up, on 127.0.0.1."""
import os
import re
import socket
import struct

from front_helpers import WithFront, insecure_tls
from media_helpers import LiveServerTest, Publisher, Studio
from sreda_harness import wait_for


def rtmps_encoder_waiting(port):
    """An encoder connected over RTMPS that has done the RTMP handshake and not published yet (OBS before its key
    is sent, or a studio a moment before its turn). The handshake's answer proves sreda accepted the connection."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    s = insecure_tls().wrap_socket(raw)
    s.sendall(b"\x03" + struct.pack(">II", 0, 0) + os.urandom(1528))
    got = b""
    while len(got) < 1 + 1536 + 1536:
        chunk = s.recv(1 + 1536 + 1536 - len(got))
        if not chunk:
            raise AssertionError("sreda closed the RTMPS connection during the handshake")
        got += chunk
    s.sendall(got[1:1537])  # C2 echoes S1
    return s


class FrontMediaTest(WithFront, LiveServerTest):
    env = {
        "SREDA_SERVER_TRUSTED_PROXIES": "127.0.0.1/32",
        # Every RTMPS studio comes from the front's address: a cap of one connection per address shows that
        # sreda does not lump them together (the front caps each studio's own address instead).
        "SREDA_INGEST_MAX_CONNECTIONS_PER_ADDRESS": "1",
        "SREDA_INGEST_AUTH_TIMEOUT_S": "60",  # the waiting encoder stays connected through the test
        "SREDA_LADDER_ENABLED": "false",  # the studio's own H.264 is enough here
    }

    def test_a_studio_over_rtmps_watched_over_https_and_http2(self):
        front = self.front
        studio = Studio(self.server, self.token, "Зал RTMPS")
        waiting = rtmps_encoder_waiting(front.rtmps_port)
        self.addCleanup(waiting.close)
        pub = Publisher(f"rtmps://127.0.0.1:{front.rtmps_port}/live/{studio.key}", seconds=10)
        self.addCleanup(pub.kill)
        base = f"/live/{studio.event_id}/source/"

        def hinted():
            if pub.proc.poll() is not None:
                raise AssertionError(f"ffmpeg exited: {pub.proc.stderr.read().decode(errors='replace')}\n"
                                     + self.server.log()[-3000:])
            r = front.request("GET", base + "index.m3u8")
            return r if r.status == 200 and b"#EXT-X-PRELOAD-HINT" in r.body else None
        wait_for(hinted, 30, "the live playlist, through the front, with a hinted part")
        self.assertEqual(studio.state(), "live")
        self.assertEqual(studio.live()["publisher"]["protocol"], "rtmp")

        # The master playlist, over HTTP/2.
        status, version, headers, body = front.curl(f"/live/{studio.event_id}/master.m3u8")
        self.assertEqual((status, version), (200, "2"), body)
        self.assertEqual(headers["content-type"], "application/vnd.apple.mpegurl")
        self.assertIn(b"#EXT-X-STREAM-INF", body)
        self.assertIn(b"source/index.m3u8", body)

        # A blocking playlist request for the hinted part: held by sreda until the part exists, then answered.
        _, _, _, playlist = front.curl(base + "index.m3u8")
        hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part(\d+)\.(\d+)\.m4s"', playlist.decode())
        self.assertIsNotNone(hint, playlist)
        msn, part = int(hint.group(1)), int(hint.group(2))
        status, version, headers, body = front.curl(f"{base}index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
        self.assertEqual((status, version), (200, "2"), body)
        self.assertEqual(headers["content-type"], "application/vnd.apple.mpegurl")
        self.assertIn(f'URI="part{msn}.{part}.m4s"', body.decode())
        status, version, headers, part_bytes = front.curl(f"{base}part{msn}.{part}.m4s")
        self.assertEqual((status, version, headers["content-type"]), (200, "2", "video/iso.segment"))
        self.assertEqual(part_bytes[4:8], b"moof")
        self.assertEqual(part_bytes, self.server.get(f"{base}part{msn}.{part}.m4s").body)  # the bytes sreda has
        segment = wait_for(lambda: re.search(r"^(seg\d+\.m4s)$", front.request("GET", base + "index.m3u8").text, re.M),
                           30, "a complete segment in the live playlist").group(1)
        status, version, headers, seg_bytes = front.curl(base + segment)
        self.assertEqual((status, version, headers["content-type"]), (200, "2", "video/iso.segment"))
        self.assertGreater(len(seg_bytes), len(part_bytes))

        # The other studio's encoder, connected all along, was never refused for sharing the front's address.
        self.assertNotIn("ingest.max_connections_per_address", self.server.log())

        # The recording: its media files are served from the front's cache after the first fetch.
        self.assertEqual(pub.wait(), 0, pub.stderr)
        studio.wait_state("intermission")
        r = self.server.post(f"/api/events/{studio.event_id}/end", token=self.token)
        self.assertEqual(r.status, 200, r)
        studio.wait_state("archived")
        for name in ("init.mp4", "seg0.m4s"):
            path = f"/archive/{studio.event_id}/source/{name}"
            first = front.curl(path)
            second = front.curl(path)
            self.assertEqual((first[0], first[2].get("x-cache-status")), (200, "MISS"), first[2])
            self.assertEqual((second[0], second[2].get("x-cache-status")), (200, "HIT"), second[2])
            self.assertEqual(second[3], self.server.get(path).body)
            self.assertEqual(second[2]["cache-control"], "public, max-age=31536000, immutable")  # sreda's, to browsers
        # What sreda does not mark immutable always comes from sreda.
        status, _, headers, _ = front.curl(f"/archive/{studio.event_id}/source/index.m3u8")
        self.assertEqual(status, 200)
        self.assertNotIn("x-cache-status", headers)
        status, _, headers, _ = front.curl(f"/archive/{studio.event_id}/source/seg999.m4s")
        status2, _, headers2, _ = front.curl(f"/archive/{studio.event_id}/source/seg999.m4s")
        self.assertEqual((status, status2, headers2.get("x-cache-status")), (404, 404, "MISS"))
