"""A real edge cache for the integration tests: Debian's Varnish running the shipped deploy/edge/sreda-edge.vcl in
the foreground, in a temp dir, on a free 127.0.0.1 port, in front of a test's sreda (the VCL's origin address
replaced by the test server's port); and hitch with the shipped deploy/edge/hitch.conf in front of it (HTTPS,
HTTP/2, a self-signed certificate), as an edge machine runs them."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

from sreda_harness import SOURCE_DIR, wait_for

VCL = os.path.join(SOURCE_DIR, "deploy/edge/sreda-edge.vcl")
HITCH_CONF = os.path.join(SOURCE_DIR, "deploy/edge/hitch.conf")
VARNISHD = "/usr/sbin/varnishd"
HITCH = "/usr/sbin/hitch"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc, port, log_path, timeout):
    """Until `proc` accepts connections on 127.0.0.1:`port`; fails with its log if it exits first."""
    def up():
        if proc.poll() is not None:
            with open(log_path, "rb") as f:
                raise AssertionError(f"{proc.args[0]} exited: " + f.read().decode("utf-8", "replace")[-3000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, timeout, f"{proc.args[0]} to listen on {port}")


class VarnishEdge:
    def __init__(self, origin_port):
        self.dir = tempfile.mkdtemp(prefix="sreda-edge-")
        with open(VCL) as f:
            vcl = f.read()
        vcl, n = re.subn(r'\.host = "[^"]*";\s*\.port = "\d+";',
                         f'.host = "127.0.0.1"; .port = "{origin_port}";', vcl)
        assert n == 1, "the shipped VCL has no backend address to replace"
        self.vcl = os.path.join(self.dir, "edge.vcl")
        with open(self.vcl, "w") as f:
            f.write(vcl)
        self.port = free_port()
        self.proxy_port = free_port()  # hitch's backend: the PROXY protocol listener
        self.proc = None
        self.hitch = None
        self.tls_port = None

    def start(self, timeout=60):
        # -j none: the test's own user (no jail); -T none: no management port; -F: foreground.
        self.stderr = open(os.path.join(self.dir, "varnishd.log"), "wb")
        self.proc = subprocess.Popen(
            [VARNISHD, "-F", "-j", "none", "-T", "none", "-n", os.path.join(self.dir, "vsm"),
             "-a", f"127.0.0.1:{self.port}", "-a", f"127.0.0.1:{self.proxy_port},PROXY",
             "-p", "feature=+http2", "-f", self.vcl, "-s", "malloc,64m"],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_listening(self.proc, self.port, os.path.join(self.dir, "varnishd.log"), timeout)
        return self

    def start_tls(self, timeout=30):
        """hitch with the shipped config: HTTPS + HTTP/2 on a free port, into Varnish's PROXY listener."""
        key, cert, pem = (os.path.join(self.dir, n) for n in ("key.pem", "cert.pem", "edge.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        with open(pem, "w") as out, open(cert) as c, open(key) as k:
            out.write(c.read() + k.read())
        self.tls_port = free_port()
        with open(HITCH_CONF) as f:
            conf = f.read()
        for pattern, value in ((r'frontend = "[^"]*"', f'frontend = "[127.0.0.1]:{self.tls_port}"'),
                               (r'backend = "[^"]*"', f'backend = "[127.0.0.1]:{self.proxy_port}"'),
                               (r'pem-file = "[^"]*"', f'pem-file = "{pem}"')):
            conf, n = re.subn(pattern, value, conf)
            assert n == 1, f"the shipped hitch.conf has no {pattern}"
        # hitch refuses to run its workers as root: as root keep the shipped _hitch user (it reads the
        # certificate before it changes user); as anyone else run as that user.
        if os.geteuid() != 0:
            conf = re.sub(r'^(user|group) = .*$', "", conf, flags=re.M)
        path = os.path.join(self.dir, "hitch.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.hitch_log = open(os.path.join(self.dir, "hitch.log"), "wb")
        self.hitch = subprocess.Popen([HITCH, f"--config={path}"], stdout=self.hitch_log, stderr=subprocess.STDOUT)
        wait_listening(self.hitch, self.tls_port, os.path.join(self.dir, "hitch.log"), timeout)

    def stop(self):
        for proc, log in ((self.hitch, getattr(self, "hitch_log", None)), (self.proc, getattr(self, "stderr", None))):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if log:
                log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
