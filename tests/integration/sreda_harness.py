"""Starts the real sreda binary on 127.0.0.1 with free ports and a temp data dir, and talks HTTP to it.

Used by every integration test. Environment: SREDA_BIN (the binary), SREDA_SOURCE_DIR (the repo).
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("SREDA_BIN", "build/release/server/sreda")
SOURCE_DIR = os.environ.get("SREDA_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
ADMIN_PASSWORD = "correct horse battery"


def wait_for(condition, timeout=30.0, what="condition", every=0.05):
    """Polls condition() (every `every` seconds) until it returns a truthy value; fails with `what` after a
    generous deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


class Server:
    def __init__(self, data_dir=None, env=None, args=None, admin_password=ADMIN_PASSWORD, wrapper=None, command=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="sreda-test-")
        self.env = dict(os.environ)
        if admin_password:
            self.env["SREDA_ADMIN_PASSWORD"] = admin_password
        # Tests ask faster than people do: the API's per-address rate is out of the way unless a test sets it
        # (test_http_limits, the hostile campaign). The overload rule (new real-time viewers refused while an encode
        # falls behind) is off unless a test sets it (test_whep_overload_media), as the ladder's exact-output tests
        # turn drop_when_late off: on a busy 2-core CI machine a test of something else must not be refused.
        self.env.update({"SREDA_SERVER_API_REQUESTS_PER_S": "1000", "SREDA_SERVER_API_BURST": "1000",
                         "SREDA_WEBRTC_OVERLOAD_LATE_FRAMES": "0"})
        self.env.update(env or {})
        self.args = list(args or [])
        self.wrapper = list(wrapper or [])  # e.g. ["prlimit", "--nofile=256:256", "--"]
        # The command line instead of BIN with free ports on 127.0.0.1, data_dir and the source's pages (e.g. an
        # installed binary with its installed config: test_deploy); it must log its ports like any sreda.
        self.command = list(command) if command else None
        self.proc = None
        self.port = None
        self.rtmp_port = None
        self.srt_port = None
        self.log_lines = []
        self._log_lock = threading.Lock()

    # -- lifecycle --
    def start(self, expect_failure=False, timeout=30.0):
        cmd = self.wrapper + (self.command or [
            BIN, "--data-dir", self.data_dir, "--listen", "127.0.0.1", "--http-port", "0", "--rtmp-port", "0",
            "--srt-port", "0", "--static-dir", os.path.join(SOURCE_DIR, "player-web/public")]) + self.args
        self.log_lines = []
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._drainer = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._drainer.start()
        if expect_failure:
            code = self.proc.wait(timeout=timeout)
            self._drainer.join(timeout)
            return code

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"sreda exited with {self.proc.returncode}:\n{self.log()}")
            for line in self.log_lines_copy():
                m = re.search(r"listening: http=(\d+) rtmp=(\S+) srt=(\S+)", line)
                if m:
                    return m
            return None

        m = wait_for(listening, timeout, "the 'listening:' line")
        self.port = int(m.group(1))
        self.rtmp_port = int(m.group(2)) if m.group(2).isdigit() else None
        self.srt_port = int(m.group(3)) if m.group(3).isdigit() else None
        return self

    def _drain(self, proc):
        with proc.stderr:
            for raw in proc.stderr:
                with self._log_lock:
                    self.log_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def log_lines_copy(self):
        with self._log_lock:
            return list(self.log_lines)

    def log(self):
        return "\n".join(self.log_lines_copy())

    def stop(self, timeout=20.0):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
            self._drainer.join(timeout)
            return code
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sreda did not stop within %ss of SIGTERM" % timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self._drainer.join(10)

    def cleanup(self):
        """Stops the server; a server still running must exit cleanly (0), which also catches sanitizer
        reports at shutdown in the asan build."""
        try:
            running = self.proc is not None and self.proc.poll() is None
            code = self.stop()
            if running and code != 0:
                raise AssertionError(f"sreda exited with {code} at shutdown:\n" + "\n".join(self.log_lines_copy()[-60:]))
        finally:
            if self.own_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- HTTP --
    def request(self, method, path, body=None, token=None, headers=None, raw_body=None, timeout=30.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def login(self, username="admin", password=ADMIN_PASSWORD):
        r = self.post("/api/login", {"username": username, "password": password})
        assert r.status == 200, r
        return r.json["token"]


class ServerTestCase(unittest.TestCase):
    """One server per test class (started with `env` added to its environment) and an admin token. A test that
    stops, crashes or restarts its server sets `server_per_test`: each test gets a fresh one (and data dir)."""

    env = {}  # more server environment for a test class
    wrapper = None  # a command the server runs under, e.g. ["prlimit", "--nofile=256:256", "--"]
    server_per_test = False
    names = 0

    @classmethod
    def server_env(cls):
        return dict(cls.env)

    @classmethod
    def start_server(cls, holder):
        holder.server = Server(env=cls.server_env(), wrapper=cls.wrapper).start()
        holder.token = holder.server.login()

    def setUp(self):
        if self.server_per_test:
            type(self).start_server(self)
            self.addCleanup(self.server.cleanup)

    @classmethod
    def setUpClass(cls):
        if not cls.server_per_test:
            cls.start_server(cls)

    @classmethod
    def tearDownClass(cls):
        if not cls.server_per_test:
            cls.server.cleanup()

    def next_name(self, prefix):
        """A name not used before in this class: "<prefix> 1", "<prefix> 2", …"""
        cls = type(self)
        cls.names += 1
        return f"{prefix} {cls.names}"
