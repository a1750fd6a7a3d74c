"""A hostile RTMP client for the integration tests: a real TCP peer on 127.0.0.1 that does the handshake and
then sends hand-made chunks (oversized commands, huge chunk sizes), or nothing at all."""
import os
import socket
import struct
import threading
import time


def vm_kib(pid, field):
    """VmRSS / VmHWM (kibibytes) of a process, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        got = s.recv(n - len(buf))
        if not got:
            raise ConnectionError("closed during the handshake")
        buf += got
    return buf


def handshake(s):
    """The plain RTMP handshake: C0 C1 → S0 S1 S2 → C2."""
    c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
    s.sendall(b"\x03" + c1)
    s0s1s2 = recv_exact(s, 1 + 1536 + 1536)
    s.sendall(s0s1s2[1:1537])  # C2 echoes S1


def message(csid, type_id, payload, chunk_size, stream_id=0, timestamp=0):
    """One RTMP message as chunks: a fmt 0 header, then fmt 3 continuations every chunk_size bytes."""
    assert csid < 64 and len(payload) < (1 << 24)
    out = bytearray([csid])
    out += timestamp.to_bytes(3, "big") + len(payload).to_bytes(3, "big") + bytes([type_id])
    out += struct.pack("<I", stream_id)
    for i in range(0, max(len(payload), 1), chunk_size):
        if i:
            out.append(0xC0 | csid)
        out += payload[i:i + chunk_size]
    return bytes(out)


def set_chunk_size(size):
    return message(2, 1, struct.pack(">I", size), 128)


def amf0_strict_array_of_nulls(total_bytes):
    """An AMF0 strict array of nulls taking exactly total_bytes (marker, count, one byte per null)."""
    n = total_bytes - 5
    return b"\x0a" + struct.pack(">I", n) + b"\x05" * n


def eof_after(s, deadline_s):
    """Reads until the peer closes; returns the seconds it took, or None when still open at the deadline."""
    start = time.monotonic()
    s.settimeout(0.5)
    while time.monotonic() - start < deadline_s:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start
    return None


def big_amf0_command(port, size=8 * 1024 * 1024, deadline_s=60.0):
    """Attack 1 of issue 17: chunk size 8 MiB, then one 8 MiB command message holding an AMF0 strict array of
    nulls. Returns (seconds from the end of sending to the server's close, or None; bytes the server took)."""
    s = connect(port)
    try:
        handshake(s)
        wire = set_chunk_size(size) + message(3, 20, amf0_strict_array_of_nulls(size), size)
        sent = 0
        s.settimeout(30)
        try:
            while sent < len(wire):
                sent += s.send(wire[sent:sent + (1 << 20)])
        except (ConnectionResetError, BrokenPipeError):
            return 0.0, sent  # refused before it all arrived
        return eof_after(s, deadline_s), sent
    finally:
        s.close()


def silent_connections(port, n, handshake_first=False):
    """Opens n connections that send nothing (or only the handshake); returns the sockets (caller closes)."""
    socks = []
    for _ in range(n):
        try:
            s = connect(port)
            if handshake_first:
                handshake(s)
            socks.append(s)
        except OSError:
            pass
    return socks


def closed_by_peer(s):
    """True when the server has closed this socket (EOF or reset), without blocking."""
    s.setblocking(False)
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


class SilentFlood:
    """Keeps n silent connections open from n addresses (127.0.0.10 …, or the `hosts` given): each one the
    server closes is opened again at once, as a determined attacker would. stop() closes them all. Any TCP
    port: RTMP, or HTTP (an idle flood)."""

    def __init__(self, port, n=0, first_host=10, hosts=None):
        self.port = port
        self.hosts = hosts or [f"127.0.0.{first_host + i}" for i in range(n)]
        self.socks = {}
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self, host):
        s = socket.socket()
        s.bind((host, 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            return None
        return s

    def _run(self):
        while not self._stop.is_set():
            for host in self.hosts:
                s = self.socks.get(host)
                if s is not None and not closed_by_peer(s):
                    continue
                if s is not None:
                    s.close()
                    self.reopened += 1
                self.socks[host] = self._open(host)
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        for s in self.socks.values():
            if s is not None:
                s.close()
