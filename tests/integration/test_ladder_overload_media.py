"""A rung the overload policy stops, seen by a player: its playlist and its parts answer 404 "stopped" at once
(hls.js does not retry a 4xx: it switches to another level), with the CORS header a player on another site
needs, and a request already held for its next part is answered the same way instead of waiting out the hold.
The machine is overloaded on purpose: a 1920x1080 studio and a ladder of 1080p, 900p and 720p rungs at x264's
"medium" preset (the slowest a ladder file may ask for) is more than a small machine encodes in real time; the
tallest rung goes first, the 360p rung (the last video rung) stays."""
import json
import os
import re
import shutil
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio
from sreda_harness import wait_for

SLOW_LADDER = {
    "x264_preset": "medium",
    "own_size_min_percent": 0,
    "rungs": [
        {"name": "1080p", "height": 1080, "bitrate_kbps": 6000},
        {"name": "900p", "height": 900, "bitrate_kbps": 4000},
        {"name": "720p", "height": 720, "bitrate_kbps": 2800},
        {"name": "360p", "height": 360, "bitrate_kbps": 300},
        {"name": "audio", "audio": True, "bitrate_kbps": 64},
    ],
}


def fetch(url, timeout=30):
    """(status, headers, body text) of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode("utf-8", "replace")


class LadderOverloadTest(LiveServerTest):
    @classmethod
    def setUpClass(cls):
        cls.ladder_dir = tempfile.mkdtemp(prefix="sreda-ladders-")
        with open(os.path.join(cls.ladder_dir, "default.jsonc"), "w") as f:
            json.dump(SLOW_LADDER, f)
        cls.env = {"SREDA_LADDER_DIR": cls.ladder_dir}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.ladder_dir, ignore_errors=True)

    def test_a_stopped_rung_answers_404_stopped_at_once(self):
        studio = Studio(self.server, self.token, "Дом культуры")
        # Camera-like content (temporal noise): what makes a real studio's rungs expensive.
        pub = Publisher(studio.rtmp_url(), seconds=120, extra=["-b:v", "8000k"],
                        inputs=["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30,noise=alls=16:allf=t",
                                "-f", "lavfi", "-i", "sine=frequency=440"])
        base = f"http://127.0.0.1:{self.server.port}/live/{studio.event_id}"
        answers = []  # (status, headers, body) of each request for the 1080p rung's next part, in order
        done = threading.Event()

        def follow_hinted_parts():
            # What a player on the 1080p rung does: read the playlist, ask for the hinted part (held until it
            # is complete), again — until the rung answers 404.
            while not done.is_set():
                status, _, text = fetch(f"{base}/1080p/index.m3u8")
                if status == 404:
                    answers.append((status, {}, text))
                    return
                hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text) if status == 200 else None
                if not hint:
                    done.wait(0.2)
                    continue
                answers.append(fetch(f"{base}/1080p/{hint.group(1)}"))
                if answers[-1][0] == 404:
                    return

        follower = threading.Thread(target=follow_hinted_parts, daemon=True)
        try:
            def rung_stopped():
                live = self.server.get(f"/api/events/{studio.event_id}/live", token=self.token).json or {}
                r = {x["name"]: x for x in live.get("renditions", [])}
                if r.get("1080p", {}).get("fps", 0) > 0 and follower.ident is None:
                    follower.start()  # once the rung has output: a player is on it
                return r if r.get("1080p", {}).get("active") is False else None
            health = wait_for(rung_stopped, 90, "the overload policy stops the 1080p rung")
            self.assertTrue(health["360p"]["active"], health)  # the last video rung stays
            follower.join(60)
            self.assertFalse(follower.is_alive(), "the player on the stopped rung is still waiting")
            self.assertGreater(len(answers), 1, answers[:3])
            # The parts before the stop were media; the request held at the stop (or the next one) says why.
            self.assertTrue(all(s == 200 for s, _, _ in answers[:-1]), [s for s, _, _ in answers])
            status, headers, body = answers[-1]
            self.assertEqual(status, 404)
            self.assertIn("stopped", body)
            # The playlist and any part of the stopped rung: 404 "stopped", with CORS.
            for path in ("1080p/index.m3u8", "1080p/part99999.0.m4s"):
                status, headers, body = fetch(f"{base}/{path}")
                self.assertEqual(status, 404, path)
                self.assertIn("stopped", body, path)
                self.assertEqual(headers.get("access-control-allow-origin"), "*", path)
            # New players do not see it; the 360p rung plays on.
            master = fetch(f"{base}/master.m3u8")[2]
            self.assertNotIn("1080p/", master)
            self.assertIn("360p/", master)
            self.assertIn("rendition 1080p stopped", self.server.log())
        finally:
            done.set()
            pub.kill()
        studio.wait_state("ended", timeout=GRACE_S + 30)


if __name__ == "__main__":
    unittest.main()
