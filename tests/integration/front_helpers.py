"""The shipped front (deploy/front: nginx, TLS, HTTP/2, RTMPS) run by Debian's nginx in the foreground on 127.0.0.1,
in front of a test's sreda, and clients that talk to it as browsers and studios do.

The shipped files stay the source of truth: Front copies them into a temp prefix changing only what must differ on
a test machine, each change a literal text that must be found (a shipped file that no longer has it fails the test
instead of testing something else):
  - listen ports 80, 443, 1936 -> 127.0.0.1:<free port>; the IPv6 listens are dropped;
  - sreda's ports in the upstreams (127.0.0.1:8080, 127.0.0.1:1935) -> the test server's;
  - certbot's certificate paths -> a self-signed certificate made with openssl for 127.0.0.1;
  - the archive cache folder and the ACME webroot -> folders in the temp prefix.
A small nginx.conf in the prefix stands in for Debian's /etc/nginx/nginx.conf: it loads the stream module, includes
the two http files in http {} and the RTMPS file at the top level, as the README tells an administrator to do.
"""
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

from sreda_harness import SOURCE_DIR, wait_for

DEPLOY = os.path.join(SOURCE_DIR, "deploy", "front")
HOST = "culture.example.org"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def insecure_tls():
    """A client TLS context that takes the test's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def render(text, replacements, name):
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"deploy/front/{name} no longer contains {old!r}: update tests/integration/front_helpers.py")
        text = text.replace(old, new)
    return text


class TestCa:
    """A certificate authority of the test's own (openssl, in a temp dir): `cert` is its PEM certificate, the
    file a client trusts (sreda's relays.ca_file); `issue()` signs a server certificate for HOST and 127.0.0.1."""

    def __init__(self, name="sreda test CA"):
        self.dir = tempfile.mkdtemp(prefix="sreda-ca-")
        self.cert, self.key = os.path.join(self.dir, "ca.pem"), os.path.join(self.dir, "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", self.key, "-out", self.cert)

    @staticmethod
    def _openssl(*args):
        out = subprocess.run(["openssl", *args], capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode()

    def issue(self, cert, key):
        csr, ext = cert + ".csr", cert + ".ext"
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{HOST},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-subj", f"/CN={HOST}", "-keyout", key, "-out", csr)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                      "-days", "2", "-extfile", ext, "-out", cert)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Front:
    """nginx with the shipped front configs in front of `server` (a started sreda_harness.Server); its certificate
    self-signed, or issued by `ca` (a TestCa)."""

    def __init__(self, server, ca=None, https_port=None):
        self.server = server  # anything with .port and .rtmp_port (sreda's HTTP and RTMP ports)
        self.ca = ca
        self.dir = tempfile.mkdtemp(prefix="sreda-front-")
        os.chmod(self.dir, 0o755)  # as root, nginx's workers run as nobody: they read the ACME webroot
        # https_port: one chosen beforehand (sreda's server.public_url names it), else a free one
        self.http_port, self.https_port, self.rtmps_port = free_port(), https_port or free_port(), free_port()
        self.webroot = os.path.join(self.dir, "letsencrypt")
        os.makedirs(self.webroot, mode=0o755)
        self.proc = None

    def _write_certificate(self):
        self.cert = os.path.join(self.dir, "fullchain.pem")
        self.key = os.path.join(self.dir, "privkey.pem")
        if self.ca:
            self.ca.issue(self.cert, self.key)
            return
        out = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-nodes", "-days", "2", "-subj", f"/CN={HOST}",
                              "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
                              "-keyout", self.key, "-out", self.cert], capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr.decode()

    def _render(self):
        certs = [(f"/etc/letsencrypt/live/{HOST}/fullchain.pem", self.cert),
                 (f"/etc/letsencrypt/live/{HOST}/privkey.pem", self.key)]
        files = {
            "sreda-front-acme.conf": [
                ("    listen [::]:80;\n", ""),
                ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
                ("root /var/www/letsencrypt;", f"root {self.webroot};"),  # certbot's -w folder
            ],
            "sreda-front.conf": [
                ("    listen [::]:443 ssl http2;\n", ""),
                ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
                ("server 127.0.0.1:8080;", f"server 127.0.0.1:{self.server.port};"),
                ("/var/lib/nginx/sreda-archive", os.path.join(self.dir, "cache")),
            ] + certs,
            "sreda-rtmps.conf": [
                ("        listen [::]:1936 ssl;\n", ""),
                ("listen 1936 ssl;", f"listen 127.0.0.1:{self.rtmps_port} ssl;"),
                ("server 127.0.0.1:1935;", f"server 127.0.0.1:{self.server.rtmp_port};"),
            ] + certs,
        }
        for name, replacements in files.items():
            with open(os.path.join(DEPLOY, name)) as f:
                text = render(f.read(), replacements, name)
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        d = self.dir
        temp_paths = "\n".join(f"  {kind}_temp_path {d}/{kind};" for kind in
                               ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"""# Stands in for Debian's /etc/nginx/nginx.conf (see front_helpers.py).
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
load_module {STREAM_MODULE};
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log {d}/access.log;
{temp_paths}
  include {d}/sreda-front-acme.conf;
  include {d}/sreda-front.conf;
}}
include {d}/sreda-rtmps.conf;
""")

    def start(self):
        """Starts nginx and waits until it listens; on a failure nothing is left running or on disk."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self._write_certificate()
        self._render()
        conf = os.path.join(self.dir, "nginx.conf")
        check = subprocess.run([NGINX, "-t", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                               capture_output=True, timeout=30)
        assert check.returncode == 0, "nginx -t: " + check.stderr.decode()
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log"),
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
            for port in (self.http_port, self.https_port, self.rtmps_port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
            return True
        wait_for(listening, 30, "nginx to listen on its three ports")
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)  # fast shutdown: open WebSockets do not hold it up
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients --
    def url(self, path, scheme="https"):
        port = self.https_port if scheme == "https" else self.http_port
        return f"{scheme}://127.0.0.1:{port}{path}"

    def request(self, method, path, body=None, headers=None, source=None, timeout=30.0):
        """HTTPS/1.1 from `source` (a 127.x.y.z address: another client on loopback); a sreda_harness Response."""
        from sreda_harness import Response
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=timeout, context=insecure_tls(),
                                           source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def curl(self, path, *args, scheme="https"):
        """curl over HTTP/2 (HTTP/1.1 for http://): (status, http_version, headers as a lower-case dict, body)."""
        with tempfile.TemporaryDirectory() as tmp:
            head, body = os.path.join(tmp, "head"), os.path.join(tmp, "body")
            out = subprocess.run(["curl", "-k", "-sS", "--http2", "--max-time", "30", "-D", head, "-o", body,
                                  "-w", "%{http_code} %{http_version}", *args, self.url(path, scheme)],
                                 capture_output=True, timeout=60)
            assert out.returncode == 0, out.stderr.decode()
            status, version = out.stdout.decode().split()
            headers = {}
            with open(head, errors="replace") as f:
                for line in f.read().splitlines():
                    if ":" in line and not line.startswith("HTTP/"):
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
            with open(body, "rb") as f:
                return int(status), version, headers, f.read()


class WithFront:
    """Mixed into a test class before sreda_harness.ServerTestCase: the front (`cls.front`) runs in front of the
    class's server, started after it and stopped before it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.front = Front(cls.server).start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.front.stop()
        finally:
            super().tearDownClass()


def main():
    """For the browser tests (tests/web): `front_helpers.py HTTP_PORT RTMP_PORT [HTTPS_PORT]` runs the front in front of
    the sreda on those ports (its HTTPS on HTTPS_PORT when given), prints {"https_port", "http_port", "rtmps_port"} as one JSON line when it listens, and stops it
    on SIGTERM or when stdin closes."""
    import json
    import sys
    import threading
    import types
    front = Front(types.SimpleNamespace(port=int(sys.argv[1]), rtmp_port=int(sys.argv[2])),
                  https_port=int(sys.argv[3]) if len(sys.argv) > 3 else None)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        front.start()
        print(json.dumps({"https_port": front.https_port, "http_port": front.http_port,
                          "rtmps_port": front.rtmps_port}), flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        while not done.wait(0.5):
            if front.proc.poll() is not None:
                sys.exit(f"nginx exited with {front.proc.returncode}:\n{front.error_log()}")
    finally:
        front.stop()


if __name__ == "__main__":
    main()
