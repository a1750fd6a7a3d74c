"""The audience channel's ping/pong idle timeout (ws.ping_interval_s, 1 s here): a viewer whose client never
answers the server's pings is closed; one that answers them stays and still chats.

Raw sockets, not a WebSocket library: the silent client must really never send a pong (libraries answer
pings by themselves), and the answering one counts the pings it answers."""
import base64
import os
import re
import socket
import struct
import threading
import unittest

from media_helpers import Studio
from sreda_harness import ServerTestCase, wait_for

PING_INTERVAL_S = 1  # the server pings after 1 s of silence and closes after 2 s without a pong
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


class RawViewer:
    """A WebSocket client on a plain socket that reads every frame on its own thread."""

    def __init__(self, port, answer_pings):
        self.answer_pings = answer_pings
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: sreda.v1\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed during the handshake"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.sock.settimeout(None)  # the reader blocks; the server's close (or ours) ends it
        self.lock = threading.Lock()
        self.texts = []
        self.pings = 0
        self.closed = False
        self.close_frame = None  # the payload of the server's close frame, if it sent one
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def send(self, opcode, payload: bytes):
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self.send(OP_TEXT, text.encode())

    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read(self):
        try:
            while True:
                b0, b1 = self._recv_exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._recv_exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._recv_exact(8))[0]
                payload = self._recv_exact(n)
                opcode = b0 & 0x0F
                with self.lock:
                    if opcode == OP_TEXT:
                        self.texts.append(payload.decode())
                    elif opcode == OP_PING:
                        self.pings += 1
                    elif opcode == OP_CLOSE:
                        self.close_frame = payload
                if opcode == OP_PING and self.answer_pings:
                    self.send(OP_PONG, payload)
                if opcode == OP_CLOSE:
                    break
        except (EOFError, OSError):
            pass
        with self.lock:
            self.closed = True

    def seen(self, fragment):
        with self.lock:
            return any(fragment in t for t in self.texts)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(10)


def open_connections(server):
    """The sreda_ws_connections gauge of /metrics."""
    m = re.search(r"^sreda_ws_connections ([0-9.e+]+)$", server.get("/metrics").text, re.M)
    assert m, "no sreda_ws_connections in /metrics"
    return float(m.group(1))


class AudienceIdleTest(ServerTestCase):
    env = {"SREDA_WS_PING_INTERVAL_S": str(PING_INTERVAL_S)}

    def setUp(self):
        self.event_id = Studio(self.server, self.token, "Idle studio").event_id

    def join(self, viewer, name):
        viewer.send_text(f'{{"type":"join","event_id":{self.event_id},"viewer_id":"idle-{name}","nick":"{name}"}}')
        wait_for(lambda: viewer.seen('"type":"welcome"'), what=f"{name}'s welcome")

    def test_a_silent_client_is_closed_and_one_that_answers_pings_stays(self):
        silent = RawViewer(self.server.port, answer_pings=False)
        answering = RawViewer(self.server.port, answer_pings=True)
        self.addCleanup(silent.close)
        self.addCleanup(answering.close)
        self.join(silent, "Silent")
        self.join(answering, "Answering")

        wait_for(lambda: silent.closed, timeout=60, what="the server closing the client that never answers pings")
        with silent.lock:
            self.assertGreaterEqual(silent.pings, 1, "closed without having been pinged first")
        wait_for(lambda: open_connections(self.server) == 1, what="one connection left open")

        # The answering client lives through several ping intervals, longer than the silent one lasted.
        wait_for(lambda: answering.pings >= 4, timeout=60, what="four pings answered")
        with answering.lock:
            self.assertFalse(answering.closed, f"closed although it answered every ping: {answering.close_frame!r}")
        answering.send_text('{"type":"comment","text":"still here"}')
        wait_for(lambda: answering.seen('"text":"still here"'), what="the answering client's comment comes back")
        self.assertEqual(open_connections(self.server), 1)


if __name__ == "__main__":
    unittest.main()
