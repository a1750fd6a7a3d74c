"""A minimal RTMP publisher for tests that need what no real encoder sends on purpose: FLV tags (read from a
file ffmpeg wrote) published with rewritten timestamps, paced in real time — e.g. timestamps that jump back
or forward without a reconnect, as when a studio's encoder restarts."""
import socket
import struct
import time

from rtmp_attacker import connect, handshake, message, set_chunk_size

CHUNK = 4096


def amf0(value):
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        b = value.encode()
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(value, dict):
        out = b"\x03"
        for k, v in value.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf0(v)
        return out + b"\x00\x00\x09"
    raise TypeError(value)


def command(name, txn, *args):
    return amf0(name) + amf0(txn) + b"".join(amf0(a) for a in args)


def flv_tags(path):
    """(type, timestamp_ms, data) of every audio/video tag of an FLV file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:3] == b"FLV", path
    at = struct.unpack(">I", data[5:9])[0] + 4
    tags = []
    while at + 11 <= len(data):
        kind = data[at]
        size = int.from_bytes(data[at + 1:at + 4], "big")
        ts = int.from_bytes(data[at + 4:at + 7], "big") | (data[at + 7] << 24)
        body = data[at + 11:at + 11 + size]
        if kind in (8, 9):
            tags.append((kind, ts, body))
        at += 11 + size + 4
    return tags


class RawPublisher:
    def __init__(self, port, key, app="live", timeout=10.0):
        self.s = connect(port, timeout)
        handshake(self.s)
        self.s.sendall(set_chunk_size(CHUNK))
        self.s.sendall(message(3, 20, command("connect", 1, {"app": app, "type": "nonprivate",
                                                               "flashVer": "FMLE/3.0 (compatible; sreda-test)",
                                                               "tcUrl": f"rtmp://127.0.0.1:{port}/{app}"}), CHUNK))
        self.s.sendall(message(3, 20, command("createStream", 2, None), CHUNK))
        self.s.sendall(message(8, 20, command("publish", 3, None, key, "live"), CHUNK, stream_id=1))
        self.wait_for(b"NetStream.Publish.Start", timeout)

    def wait_for(self, marker, timeout):
        seen = b""
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {marker!r} from the server: {seen[-300:]!r}")
            self.s.settimeout(left)
            got = self.s.recv(65536)
            if not got:
                raise AssertionError(f"closed before {marker!r}: {seen[-300:]!r}")
            seen += got

    def send(self, kind, ts_ms, body):
        self.s.sendall(message(4 if kind == 8 else 6, kind, body, CHUNK, stream_id=1, timestamp=ts_ms))

    def drain(self):
        self.s.setblocking(False)
        try:
            while self.s.recv(65536):
                pass
        except (BlockingIOError, socket.timeout):
            pass
        finally:
            self.s.setblocking(True)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def publish_paced(port, key, tags, timestamp_of=lambda i, ts: ts):
    """Publishes `tags` in real time by their original timestamps, sending timestamp_of(index, ts) instead."""
    p = RawPublisher(port, key)
    try:
        start = time.monotonic()
        first = tags[0][1]
        for i, (kind, ts, body) in enumerate(tags):
            due = start + (ts - first) / 1000.0
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # pacing the media in real time, as an encoder does
            p.send(kind, timestamp_of(i, ts), body)
            if i % 50 == 0:
                p.drain()
    finally:
        p.close()
