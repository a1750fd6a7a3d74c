"""Real publishers (ffmpeg, GStreamer) and consumers (ffprobe) for the media integration tests, the studio with an
event on air now that most tests start from, and run() for the audience tests' asyncio bodies."""
import asyncio
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile

from sreda_harness import SOURCE_DIR, ServerTestCase, wait_for

GRACE_S = 4  # the reconnect grace the media tests run with

FPS = 25  # the test card's frame rate


def test_card(size="320x240"):
    """ffmpeg inputs of the test card: colour bars with a counter at FPS frames a second, and a tone."""
    return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={FPS}", "-f", "lavfi", "-i", "sine=frequency=440"]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k"]


def run(coro):
    """Runs an audience test's asyncio body (the websockets client) to its end; returns what it returns."""
    return asyncio.run(coro)


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Publisher:
    """A real ffmpeg publishing a small test card (320x240 or `size`, 25 fps, a tone) in real time; `inputs`:
    other ffmpeg inputs instead of the test card."""

    def __init__(self, url, seconds=4, fmt="flv", extra=None, codecs=None, size="320x240", inputs=None):
        self.cmd = ["ffmpeg", "-v", "error", "-nostdin", "-re"] + (inputs or test_card(size)) + \
                   ["-t", str(seconds)] + (codecs or X264) + (extra or []) + ["-f", fmt, url]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, timeout=60):
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.stderr = err.decode("utf-8", "replace")
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def gst_rtmp_publisher(url, seconds=4):
    """GStreamer's rtmp2sink: a second RTMP client implementation. In 4:2:0 (format=I420): without it x264enc
    picks 4:4:4, which the server transcodes instead of passing through as `source`."""
    frames = seconds * 25
    pipeline = (f"videotestsrc is-live=true num-buffers={frames} ! "
                f"video/x-raw,format=I420,width=320,height=240,framerate=25/1 ! "
                f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! h264parse ! queue ! "
                f"flvmux streamable=true name=m ! rtmp2sink location={url} "
                f"audiotestsrc is-live=true num-buffers={seconds * 43} samplesperbuffer=1024 ! audioconvert ! "
                f"voaacenc ! aacparse ! queue ! m.")
    return subprocess.Popen(["gst-launch-1.0", "-q", "-e"] + pipeline.split(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def ffprobe(url, timeout=60):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", url],
                         capture_output=True, timeout=timeout)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def decode_errors(url, timeout=120):
    """Decodes every frame; returns ffmpeg's error output (empty when all decoded cleanly). Frames keep their
    own timestamps (-fps_mode passthrough): a publisher's frame timing is not ours to judge here; that
    timestamps never go back is checked by non_monotonic_packets()."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", url, "-fps_mode", "passthrough", "-f", "null",
                          "-"], capture_output=True, timeout=timeout)
    return out.stderr.decode("utf-8", "replace") + ("" if out.returncode == 0 else f"exit {out.returncode}")


def non_monotonic_packets(url, timeout=120):
    """Packets whose DTS does not increase within their stream, as (stream, previous, this) tuples."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,dts_time", "-of", "csv=p=0",
                          url], capture_output=True, timeout=timeout)
    assert out.returncode == 0, out.stderr.decode()
    last, bad = {}, []
    for line in out.stdout.decode().split():
        stream, dts = line.split(",")[:2]
        if dts in ("", "N/A"):
            continue
        t = float(dts)
        if stream in last and t <= last[stream]:
            bad.append((stream, last[stream], t))
        last[stream] = t
    return bad


class Studio:
    """A studio with an event on air now: a one-hour event starting `minutes_from_now` (None: no event)."""

    def __init__(self, server, token, name, minutes_from_now=5):
        self.server = server
        self.token = token
        r = server.post("/api/studios", {"name": name}, token=token)
        assert r.status == 201, r
        self.id = r.json["id"]
        self.key = r.json["stream_key"]
        self.event_id = None
        if minutes_from_now is None:
            return
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start = now + datetime.timedelta(minutes=minutes_from_now)
        r = server.post("/api/events", {"title": f"{name} live", "category": "concert", "studio_id": self.id,
                                        "starts_at": rfc3339(start),
                                        "ends_at": rfc3339(start + datetime.timedelta(hours=1))}, token=token)
        assert r.status == 201, r
        self.event_id = r.json["id"]

    def rtmp_url(self, key=None):
        return f"rtmp://127.0.0.1:{self.server.rtmp_port}/live/{key or self.key}"

    def state(self):
        return self.server.get(f"/api/public/events/{self.event_id}").json["state"]

    def live(self):
        return self.server.get(f"/api/events/{self.event_id}/live", token=self.token).json

    def wait_state(self, state, timeout=30):
        """"ended" also accepts "archived": an ended event whose recording is listed turns archived at once."""
        wanted = ("ended", "archived") if state == "ended" else (state,)
        return wait_for(lambda: self.state() in wanted, timeout, f"event {self.event_id} to be {state}")

    def wait_playlists_end(self, renditions=("source",), timeout=30):
        """After "ended": the state is stored first, the live playlists end (ENDLIST) once the ladder's
        last frames are through, within a few seconds. Returns the first rendition's playlist."""
        texts = {}
        for name in renditions:
            url = f"/live/{self.event_id}/{name}/index.m3u8"
            texts[name] = wait_for(lambda: (lambda t: t if "#EXT-X-ENDLIST" in t else None)(self.server.get(url).text),
                                   timeout, f"{name}'s playlist to end (ENDLIST)")
        return texts[renditions[0]]

    def wait_media(self, timeout=30):
        def ready():
            info = self.live()
            p = info.get("publisher")
            return info if p and p.get("media") else None
        return wait_for(ready, timeout, "the publisher's media facts")

    def publish(self, seconds):
        """Publishes the test card for `seconds` (RTMP) and waits until the event waits for its studio."""
        pub = Publisher(self.rtmp_url(), seconds=seconds)
        try:
            self.wait_media()
            assert pub.wait() == 0, pub.stderr
        finally:
            pub.kill()
        self.wait_state("intermission")

    def playlist_url(self):
        return f"http://127.0.0.1:{self.server.port}/live/{self.event_id}/source/index.m3u8"


def metric(server, name, **labels):
    """The value of one Prometheus series of /metrics, 0 when absent."""
    text = server.get("/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    m = re.search(re.escape(name) + r"\{" + re.escape(want) + r"\} ([0-9.e+]+)", text)
    return float(m.group(1)) if m else 0.0


class LiveServerTest(ServerTestCase):
    """One server per test class, with a short reconnect grace, and a curator token."""

    @classmethod
    def server_env(cls):
        return {"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S), **cls.env}


# The server with the project's ladder presets (config/ladders).
LADDER_ENV = {"SREDA_LADDER_DIR": os.path.join(SOURCE_DIR, "config/ladders")}


def obs_like_clip(path, seconds=12, size="640x360", kbps=2500, keyint=250, noise=False):
    """Encodes a clip as OBS sends by default into `path` (FLV): x264 `veryfast`, High profile, 2 B-frames,
    keyframes every 250 frames at 30 fps (x264's default when OBS's keyframe interval is 0), CBR `kbps`, AAC
    160 kb/s at 48 kHz. `noise`: a picture x264 cannot shrink, so the clip really is `kbps` (for a fast
    stream). Published as it is (Publisher(url, inputs=["-i", path], codecs=COPY)), it costs no encoding."""
    picture = f"testsrc2=size={size}:rate=30" + (",noise=alls=30:allf=t+u" if noise else "")
    preset = "ultrafast" if noise else "veryfast"
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi",
                          "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
                          "-preset", preset, "-profile:v", "high", "-bf", "2", "-g", str(keyint), "-pix_fmt",
                          "yuv420p", "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k",
                          "-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-f", "flv", path],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    return path


COPY = ["-c", "copy"]


def class_clip(test_class, name, **options):
    """An obs_like_clip made once for a test class (in setUpClass), removed after the class."""
    tmp = tempfile.mkdtemp(prefix="sreda-clip-")
    test_class.addClassCleanup(shutil.rmtree, tmp, True)
    return obs_like_clip(os.path.join(tmp, name), **options)


def webrtc_tool_binary(test_class, name):
    """A WebRTC test tool of tests/tools (whip_client, whep_client): the one ctest built (SREDA_WHIP_CLIENT,
    SREDA_WHEP_CLIENT), or compiled here once per class."""
    built = os.environ.get("SREDA_" + name.upper())
    if built and os.path.exists(built):
        return built
    out_dir = tempfile.mkdtemp(prefix=f"sreda-{name}-")
    test_class.addClassCleanup(subprocess.run, ["rm", "-rf", out_dir])
    out = os.path.join(out_dir, name)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gstreamer-1.0", "gstreamer-webrtc-1.0",
                            "gstreamer-sdp-1.0"], capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["g++", "-O1", "-std=c++17", os.path.join(SOURCE_DIR, f"tests/tools/{name}.cpp"), "-o", out]
                   + flags, check=True, capture_output=True)
    return out
