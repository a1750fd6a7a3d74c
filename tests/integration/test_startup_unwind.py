"""Start-up is one list of steps (server/app/app.h): a step that fails undoes the ones before it, newest
first, and the process exits with the reason. A port already taken is the failure a curator meets."""
import socket
import unittest

from sreda_harness import Server


class StartupUnwindTest(unittest.TestCase):
    def start_with_taken_port(self, flag):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = Server(args=[flag, str(port)])
        try:
            code = s.start(expect_failure=True)
            return code, s.log().splitlines()
        finally:
            taken.close()
            s.cleanup()

    def index_of(self, lines, text):
        for i, line in enumerate(lines):
            if text in line:
                return i
        self.fail(f"no line with {text!r} in:\n" + "\n".join(lines))

    def test_http_port_taken_undoes_ingest_and_store_in_reverse(self):
        code, lines = self.start_with_taken_port("--http-port")
        self.assertEqual(code, 1)
        failed = self.index_of(lines, "start: HTTP failed")
        rtmp_stopped = self.index_of(lines, "[rtmp-server] stopped")
        srt_stopped = next(i for i, l in enumerate(lines) if l.find("[srt ") >= 0 and l.endswith("stopped"))
        store_closed = self.index_of(lines, "[store] closed")
        # RTMP started after SRT, so it stops first; the store started first and closes last.
        self.assertLess(failed, rtmp_stopped)
        self.assertLess(rtmp_stopped, srt_stopped)
        self.assertLess(srt_stopped, store_closed)
        self.assertIn("cannot start: cannot listen for HTTP", lines[-1])
        self.assertNotIn("listening: http=", "\n".join(lines))

    def test_rtmp_port_taken_undoes_srt_and_store(self):
        code, lines = self.start_with_taken_port("--rtmp-port")
        self.assertEqual(code, 1)
        failed = self.index_of(lines, "start: RTMP failed")
        srt_stopped = next(i for i, l in enumerate(lines) if l.find("[srt ") >= 0 and l.endswith("stopped"))
        store_closed = self.index_of(lines, "[store] closed")
        self.assertLess(failed, srt_stopped)
        self.assertLess(srt_stopped, store_closed)
        self.assertFalse(any("[rtmp-server] stopped" in l for l in lines))  # it never started
        self.assertIn("cannot start: cannot listen for RTMP", lines[-1])


if __name__ == "__main__":
    unittest.main()
