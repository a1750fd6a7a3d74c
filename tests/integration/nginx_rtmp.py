"""nginx-rtmp (Debian's libnginx-mod-rtmp) as the "platform" a relay pushes to: VK Video, RuTube, YouTube or a
partner's RTMP server stand-in. Debian's nginx in the foreground, one process (master_process off: it writes as
the test's own user), a temp prefix and a free 127.0.0.1 port; application `live` takes any stream name and
records each published stream whole to <dir>/record/<name>.flv, which a test reads with ffprobe.

    rtmp = NginxRtmp().start()
    try:
        ... push to rtmp.url("key") ...
        path = rtmp.wait_recorded("key")   # the publisher has gone: the file is closed
        info = ffprobe(path)
    finally:
        rtmp.stop()

When a publisher leaves, nginx-rtmp closes the recording and runs `exec_record_done`: here it writes
<name>.flv.done beside the file, so "recorded" is a fact, not a guess from file sizes. A stream published again
under the same name replaces the file (record_unique off); `recordings()` lists the names seen.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from sreda_harness import wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxRtmp:
    def __init__(self, record=True, app="live"):
        self.dir = tempfile.mkdtemp(prefix="sreda-nginx-rtmp-")
        self.record_dir = os.path.join(self.dir, "record")
        os.makedirs(self.record_dir)
        os.makedirs(os.path.join(self.dir, "logs"))
        self.record = record
        self.app = app
        self.port = free_port()
        self.proc = None
        self.conf = os.path.join(self.dir, "nginx.conf")

    def _write_config(self):
        d = self.dir
        record = (f"record all; record_path {self.record_dir}; record_unique off;\n"
                  f"      exec_record_done /usr/bin/touch $path.done;") if self.record else "record off;"
        with open(self.conf, "w") as f:
            f.write(f"""# nginx-rtmp as a relay target for sreda's tests (tests/integration/nginx_rtmp.py).
load_module {RTMP_MODULE};
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/logs/error.log info;
events {{ worker_connections 256; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    chunk_size 4096;
    application {self.app} {{
      live on;
      {record}
    }}
  }}
}}
""")

    def start(self, timeout=30):
        """Starts nginx and waits until it listens; on a failure nothing is left running or on disk."""
        try:
            self._write_config()
            check = subprocess.run([NGINX, "-t", "-p", self.dir, "-c", self.conf, "-e",
                                    os.path.join(self.dir, "logs/error.log")], capture_output=True, timeout=30)
            assert check.returncode == 0, "nginx -t: " + check.stderr.decode()
            self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-e",
                                          os.path.join(self.dir, "logs/error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def listening():
                if self.proc.poll() is not None:
                    raise AssertionError(f"nginx-rtmp exited with {self.proc.returncode}:\n{self.error_log()}")
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return True
                except OSError:
                    return False
            wait_for(listening, timeout, f"nginx-rtmp to listen on {self.port}")
            return self
        except BaseException:
            self.stop()
            raise

    def url(self, name, host="127.0.0.1"):
        """The publish URL of stream `name`, as a curator types it into a relay (rtmp://host:port/app/key)."""
        return f"rtmp://{host}:{self.port}/{self.app}/{name}"

    def recording_path(self, name):
        return os.path.join(self.record_dir, f"{name}.flv")

    def recordings(self):
        return sorted(n[:-4] for n in os.listdir(self.record_dir) if n.endswith(".flv"))

    def wait_arrived(self, name, min_bytes=20000, timeout=60):
        """Until stream `name` is being published here and more than `min_bytes` of it were recorded."""
        path = self.recording_path(name)

        def arrived():
            self._check_running()
            try:
                return os.path.getsize(path) > min_bytes
            except OSError:
                return False
        wait_for(arrived, timeout, f"stream {name!r} to arrive at nginx-rtmp (recordings: {self.recordings()})", 0.1)
        return path

    def wait_recorded(self, name, timeout=60):
        """Until the publisher of `name` has gone and nginx-rtmp closed its recording; returns the .flv path."""
        path = self.recording_path(name)

        def done():
            self._check_running()
            return os.path.exists(path + ".done")
        wait_for(done, timeout, f"nginx-rtmp to close the recording of {name!r} (recordings: {self.recordings()})", 0.1)
        return path

    def is_done(self, name):
        return os.path.exists(self.recording_path(name) + ".done")

    def _check_running(self):
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"nginx-rtmp is not running:\n{self.error_log()}")

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "logs/error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)  # fast: what a test reads was closed before (wait_recorded)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def probe_recording(path):
    """What a platform would see of a recorded stream: (video codec, width, height, audio codec, duration s).
    The duration is the video's last frame time, read from the packets (nginx-rtmp's FLV header carries none)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    info = json.loads(out.stdout)
    video = next((s for s in info["streams"] if s["codec_type"] == "video"), None)
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    return {
        "video_codec": video and video["codec_name"], "width": video and video["width"],
        "height": video and video["height"], "audio_codec": audio and audio["codec_name"],
        "duration": packet_span(path, "v"),
    }


def packet_span(path, stream="v"):
    """Seconds from the first to the end of the last packet of `stream` (v or a), from the packets' own times."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                          "packet=pts_time,duration_time", "-of", "csv=p=0", path], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    first = last = None
    for line in out.stdout.decode().split():
        parts = line.split(",")
        if not parts[0] or parts[0] == "N/A":
            continue
        t = float(parts[0])
        d = float(parts[1]) if len(parts) > 1 and parts[1] not in ("", "N/A") else 0.0
        first = t if first is None else min(first, t)
        last = t + d if last is None else max(last, t + d)
    return None if first is None else last - first
