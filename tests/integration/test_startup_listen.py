"""A viewer's player that reloads while the server starts again (after a crash, a kill -9, systemd's
Restart=always) gets its answer once the server is up, not a refused connection: the HTTP port is bound first
thing (server/main.cpp), before GStreamer's start, the database and the recordings' recovery, so requests wait
in the port's queue. hls.js gives up a playlist after three failed loads in a row (~1 s, then 2 s apart), and a
busy machine's start took longer than that (tests/web/restart.test.mjs).

The start is held in its store step by a write lock on the database (as a backup tool may hold it) until the
test has connected: the server waits up to 5 s for it (sqlite's busy timeout)."""
import os
import socket
import sqlite3
import tempfile
import threading
import unittest

from sreda_harness import Server, wait_for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StartupListenTest(unittest.TestCase):
    def test_a_request_during_start_up_waits_and_is_answered(self):
        data_dir = tempfile.mkdtemp(prefix="sreda-test-")
        lock = sqlite3.connect(os.path.join(data_dir, "sreda.db"), isolation_level=None)
        lock.execute("PRAGMA journal_mode=WAL")
        lock.execute("BEGIN IMMEDIATE")  # the store step's migration waits for this
        port = free_port()
        server = Server(data_dir=data_dir, args=["--http-port", str(port)])
        server.own_dir = True  # removed by cleanup
        self.addCleanup(server.cleanup)
        started = {}
        starter = threading.Thread(target=lambda: started.update(s=server.start()), daemon=True)
        conn = None
        try:
            starter.start()
            # "starting" is logged after GStreamer's start, right before the steps (the store first).
            wait_for(lambda: any("starting; data dir" in l for l in server.log_lines_copy()), 30, "the 'starting' line")
            self.assertFalse(any("listening: http=" in l for l in server.log_lines_copy()),
                             "the start was not held by the database lock")
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            except ConnectionRefusedError:
                self.fail("the HTTP port refused a connection while the server was starting")
            conn.settimeout(30)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        try:
            answer = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        finally:
            conn.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        starter.join(30)
        self.assertIn("s", started, "the server did not finish its start:\n" + server.log())
        self.assertEqual(started["s"].port, port)


if __name__ == "__main__":
    unittest.main()
