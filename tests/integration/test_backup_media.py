"""scripts/backup while a studio is on air: the copy of the recording being written comes back, after
scripts/restore, as after a power cut at that moment: repaired at the start, archived after the grace, and it
plays to its end with every segment its playlists list."""
import os
import subprocess
import tempfile
import shutil

from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio, decode_errors, ffprobe
from sreda_harness import SOURCE_DIR, Server, wait_for


def script(name, *args):
    r = subprocess.run([os.path.join(SOURCE_DIR, "scripts", name), *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"scripts/{name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


class BackupWhileRecordingTest(LiveServerTest):
    server_per_test = True

    def test_a_backup_taken_mid_concert_restores_a_playable_recording(self):
        s = self.server
        studio = Studio(s, self.token, "Студия под резервной копией")
        root = tempfile.mkdtemp(prefix="sreda-backup-")
        self.addCleanup(shutil.rmtree, root, True)
        pub = Publisher(studio.rtmp_url(), seconds=40)
        try:
            studio.wait_media()
            source = os.path.join(s.data_dir, "archive", str(studio.event_id), "source")
            wait_for(lambda: os.path.isdir(source) and
                     len([f for f in os.listdir(source) if f.endswith(".m4s")]) >= 3, 30, "three recorded segments")
            script("backup", "--data-dir", s.data_dir, os.path.join(root, "backup"))
        finally:
            pub.kill()

        restored = Server(data_dir=os.path.join(root, "data"), env={"SREDA_STUDIOS_RECONNECT_GRACE_S": str(GRACE_S)})
        restored.own_dir = False
        self.addCleanup(restored.cleanup)
        script("restore", "--data-dir", restored.data_dir, os.path.join(root, "backup"))
        restored.start()
        self.assertRegex(restored.log(), rf"repaired event {studio.event_id}: ")
        studio.server = restored
        studio.wait_state("archived", timeout=GRACE_S + 30)
        for rendition in ("source", "audio"):
            vod = restored.get(f"/archive/{studio.event_id}/{rendition}/index.m3u8")
            self.assertEqual(vod.status, 200, vod)
            self.assertIn("#EXT-X-ENDLIST", vod.text)
            segments = [line for line in vod.text.splitlines() if line.endswith(".m4s")]
            self.assertGreaterEqual(len(segments), 3, vod.text)
            for name in segments:
                self.assertEqual(restored.get(f"/archive/{studio.event_id}/{rendition}/{name}").status, 200, name)
        master = f"http://127.0.0.1:{restored.port}/archive/{studio.event_id}/master.m3u8"
        self.assertGreaterEqual(float(ffprobe(master)["format"]["duration"]), 5.0)
        self.assertEqual(decode_errors(master), "")
