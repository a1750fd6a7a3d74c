"""What an administrator installs (README "Deploying on a server"): scripts/install into a staging root
(--destdir, the binary from SREDA_BIN, no build), the systemd unit checked by systemd-analyze, the installed
binary started the way the unit starts it, and a backup taken while it runs restored into a wiped data dir."""
import filecmp
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from audience_client import Viewer
from media_helpers import Studio, run
from sreda_harness import BIN, SOURCE_DIR, Server, wait_for

INSTALL = os.path.join(SOURCE_DIR, "scripts/install")


def install(destdir, *args, binary=None):
    env = dict(os.environ, SREDA_BIN=os.path.abspath(binary or BIN))
    r = subprocess.run([INSTALL, "--destdir", destdir, *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"scripts/install failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def sqlite(db, sql):
    return subprocess.run(["sqlite3", "-bail", db, sql], capture_output=True, text=True, check=True).stdout.strip()


def unit_settings(path):
    """The unit's settings as {key: [values]} (all sections)."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
            if m:
                out.setdefault(m.group(1), []).append(m.group(2))
    return out


def jsonc_value(path, key):
    """A string value of the installed config by its key (the three paths install sets)."""
    with open(path) as f:
        m = re.search(rf'^\s*"{key}": "([^"]*)",', f.read(), re.M)
    return m.group(1) if m else None


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="sreda-deploy-")
        cls.destdir = os.path.join(cls.root, "stage")
        cls.install_log = install(cls.destdir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def staged(self, path):
        """Where a path of the installed system is in the staging root."""
        self.assertTrue(path.startswith("/"), path)
        return self.destdir + path

    def unit_path(self):
        return self.staged("/etc/systemd/system/sreda.service")

    def verify(self, unit_text):
        """systemd-analyze verify on the unit with its paths moved into the staging root: (clean, output)."""
        folder = tempfile.mkdtemp(dir=self.root)
        path = os.path.join(folder, "sreda.service")
        with open(path, "w") as f:
            f.write(re.sub(r"(?<![\w/])(/usr/local/|/etc/sreda/|/var/lib/sreda\b)", lambda m: self.destdir + m.group(1),
                           unit_text))
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
        output = (r.stdout + r.stderr).strip()
        return r.returncode == 0 and not output, output

    def test_files_are_in_system_places_and_the_config_points_at_them(self):
        config = self.staged("/etc/sreda/sreda.jsonc")
        self.assertTrue(os.access(self.staged("/usr/local/bin/sreda"), os.X_OK))
        self.assertTrue(filecmp.cmp(self.staged("/usr/local/bin/sreda"), BIN, shallow=False))
        for tool in ("sreda-backup", "sreda-restore"):
            self.assertTrue(os.access(self.staged(f"/usr/local/sbin/{tool}"), os.X_OK), tool)
        self.assertTrue(filecmp.cmp(config, config + ".dist", shallow=False))
        self.assertEqual(os.stat(config).st_mode & 0o777, 0o640)
        self.assertEqual(jsonc_value(config, "data_dir"), "/var/lib/sreda")
        static_dir, ladder_dir = jsonc_value(config, "static_dir"), jsonc_value(config, "dir")
        for page in ("index.html", "watch.html", "desk.html", "vendor/hls.min.js"):
            self.assertTrue(os.path.isfile(os.path.join(self.staged(static_dir), page)), page)
        self.assertTrue(os.path.isfile(os.path.join(self.staged(ladder_dir), "default.jsonc")))
        self.assertEqual(os.stat(self.staged("/var/lib/sreda")).st_mode & 0o777, 0o750)

    def test_the_unit_passes_systemd_analyze_and_a_broken_one_does_not(self):
        s = unit_settings(self.unit_path())
        self.assertEqual(s["ExecStart"], ["/usr/local/bin/sreda --config /etc/sreda/sreda.jsonc"])
        for key, value in (("User", "sreda"), ("Restart", "always"), ("ProtectSystem", "strict"),
                           ("ReadWritePaths", "/var/lib/sreda"), ("NoNewPrivileges", "yes"),
                           ("PrivateTmp", "yes"), ("ProtectHome", "yes"), ("LimitNOFILE", "65536")):
            self.assertEqual(s.get(key), [value], key)
        # The stop budget: above sreda's own graceful stop (server.shutdown_timeout_s).
        shutdown_s = int(re.search(r'"shutdown_timeout_s": (\d+)', read(self.staged("/etc/sreda/sreda.jsonc")))[1])
        self.assertGreater(int(s["TimeoutStopSec"][0]), shutdown_s)
        text = read(self.unit_path())
        clean, output = self.verify(text)
        self.assertTrue(clean, output)
        # The check can fail: a misspelt value, a binary that is not there.
        self.assertFalse(self.verify(text.replace("Restart=always", "Restart=allways"))[0])
        self.assertFalse(self.verify(text.replace("/usr/local/bin/sreda ", "/usr/local/bin/no-such-sreda "))[0])

    def test_upgrade_backs_up_first_keeps_the_admins_config_and_rolls_back_to_the_previous_binary_and_schema(self):
        destdir = os.path.join(self.root, "upgrade")
        install(destdir)
        bin_path, config = destdir + "/usr/local/bin/sreda", destdir + "/etc/sreda/sreda.jsonc"
        db = destdir + "/var/lib/sreda/sreda.db"
        with open(config) as f:
            edited = f.read().replace('"public_url": ""', '"public_url": "https://culture.example.org"')
        with open(config, "w") as f:
            f.write(edited)
        sqlite(db, "CREATE TABLE studios (name TEXT); INSERT INTO studios VALUES ('before'); PRAGMA user_version = 7;")
        newer = os.path.join(self.root, "sreda-newer")
        shutil.copy2(BIN, newer)
        with open(newer, "ab") as f:
            f.write(b"\0another build")
        self.assertIn("kept your", install(destdir, "--upgrade", binary=newer))
        self.assertEqual(read(config), edited, "the admin's config is never overwritten")
        self.assertTrue(filecmp.cmp(bin_path, newer, shallow=False))
        self.assertTrue(filecmp.cmp(bin_path + ".prev", BIN, shallow=False))
        backups = destdir + "/var/backups/sreda"
        [backup] = [os.path.join(backups, b) for b in os.listdir(backups) if b.startswith("before-upgrade-")]
        self.assertIn("schema_version: 7", read(os.path.join(backup, "MANIFEST")))
        install(destdir, binary=newer)  # the same again changes nothing
        self.assertTrue(filecmp.cmp(bin_path + ".prev", BIN, shallow=False))
        # The new version migrated the database and wrote to it; the way back is the old binary and the backup.
        sqlite(db, "INSERT INTO studios VALUES ('after'); PRAGMA user_version = 8;")
        r = subprocess.run([INSTALL, "--destdir", destdir, "--rollback", backup], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(filecmp.cmp(bin_path, BIN, shallow=False), "rolled back to the previous binary")
        self.assertTrue(filecmp.cmp(bin_path + ".prev", newer, shallow=False))
        self.assertEqual(sqlite(db, "PRAGMA user_version; SELECT name FROM studios;"), "7\nbefore")

    def start_installed(self):
        """The installed binary with its installed config, as ExecStart has them; only what the staging root
        moves (the three paths) and the ports (free ones on 127.0.0.1) are overridden."""
        argv = unit_settings(self.unit_path())["ExecStart"][0].split()
        command = [self.staged(argv[0])] + [self.staged(a) if a.startswith("/etc/") else a for a in argv[1:]]
        config = self.staged("/etc/sreda/sreda.jsonc")
        env = {"SREDA_SERVER_DATA_DIR": self.staged(jsonc_value(config, "data_dir")),
               "SREDA_SERVER_STATIC_DIR": self.staged(jsonc_value(config, "static_dir")),
               "SREDA_LADDER_DIR": self.staged(jsonc_value(config, "dir")),
               "SREDA_SERVER_LISTEN": "127.0.0.1", "SREDA_SERVER_HTTP_PORT": "0",
               "SREDA_SERVER_RTMP_PORT": "0", "SREDA_SERVER_SRT_PORT": "0"}
        server = Server(data_dir=env["SREDA_SERVER_DATA_DIR"], env=env, admin_password=None, command=command)
        server.own_dir = False  # the installed data dir stays for the restore
        self.addCleanup(server.cleanup)
        return server.start()

    def login(self, server):
        with open(os.path.join(server.data_dir, "admin-password")) as f:
            return server.login(password=f.read().strip())

    def fake_recording(self, data_dir, event_id):
        """A finished recording's files (closed playlists): the archive a backup must carry."""
        folder = os.path.join(data_dir, "archive", str(event_id), "source")
        os.makedirs(folder)
        with open(os.path.join(folder, "..", "master.m3u8"), "w") as f:
            f.write("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nsource/index.m3u8\n")
        with open(os.path.join(folder, "index.m3u8"), "w") as f:
            f.write("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
                    '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.000,\nseg0.m4s\n#EXT-X-ENDLIST\n')
        for name, size in (("init.mp4", 700), ("seg0.m4s", 150000)):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(os.urandom(size))
        return os.path.join(data_dir, "archive", str(event_id))

    def test_installed_server_answers_and_a_backup_taken_while_it_runs_restores_into_a_wiped_data_dir(self):
        server = self.start_installed()
        data_dir = server.data_dir
        index = server.get("/")
        self.assertEqual(index.status, 200)
        with open(self.staged("/usr/local/share/sreda/player-web/index.html"), "rb") as f:
            self.assertEqual(index.body, f.read(), "the installed pages are served")
        self.assertEqual(server.get("/vendor/hls.min.js").status, 200)
        self.assertEqual(server.get("/healthz").status, 200)
        token = self.login(server)  # the first start wrote the admin's password into the data dir

        studio = Studio(server, token, "Дом культуры")
        r = server.post("/api/curators", {"username": "olga", "password": "a long enough password", "role": "curator"},
                        token=token)
        self.assertEqual(r.status, 201, r)

        async def comment():
            viewer = await Viewer(server, "viewer-deploy", nick="Анна").connect()
            await viewer.join(studio.event_id)
            await viewer.send({"type": "comment", "text": "Ждём концерта"})
            await viewer.expect(lambda m: m["type"] == "comment")
            await viewer.close()
        run(comment())
        wait_for(lambda: server.get(f"/api/public/events/{studio.event_id}/comments").json["comments"],
                 what="the comment stored")
        recording = self.fake_recording(data_dir, studio.event_id)

        backup = os.path.join(self.root, "backup")
        r = subprocess.run([self.staged("/usr/local/sbin/sreda-backup"), "--data-dir", data_dir, backup],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(backup).st_mode & 0o777, 0o700, "the backup holds keys and secrets")
        schema = sqlite(os.path.join(backup, "sreda.db"), "PRAGMA user_version")
        self.assertIn(f"schema_version: {schema}", read(os.path.join(backup, "MANIFEST")))
        # After the backup: not in it.
        self.assertEqual(server.post("/api/studios", {"name": "After the backup"}, token=token).status, 201)

        r = subprocess.run([self.staged("/usr/local/sbin/sreda-restore"), "--data-dir", data_dir, backup],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, "a restore under a running server must refuse")
        self.assertIn("sreda is running", r.stderr)

        self.assertEqual(server.stop(), 0, server.log())
        secret = read(os.path.join(data_dir, "viewer-secret"))
        files = ("master.m3u8", "source/index.m3u8", "source/init.mp4", "source/seg0.m4s")
        recorded = {path: read(os.path.join(recording, path), "rb") for path in files}
        for entry in os.listdir(data_dir):
            path = os.path.join(data_dir, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        r = subprocess.run([self.staged("/usr/local/sbin/sreda-restore"), "--data-dir", data_dir, backup],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)

        server.start()
        token = self.login(server)
        studios = server.get("/api/studios", token=token).json["studios"]
        self.assertEqual([(s["name"], s["stream_key"]) for s in studios], [("Дом культуры", studio.key)])
        self.assertEqual(server.get(f"/api/events/{studio.event_id}", token=token).status, 200)
        self.assertTrue(server.login("olga", "a long enough password"), "the curator added before the backup")
        comments = server.get(f"/api/public/events/{studio.event_id}/comments").json["comments"]
        self.assertEqual([c["text"] for c in comments], ["Ждём концерта"])
        self.assertEqual(read(os.path.join(data_dir, "viewer-secret")), secret)
        for path in files:  # the started server kept the recording it found
            self.assertEqual(read(os.path.join(recording, path), "rb"), recorded[path], path)


if __name__ == "__main__":
    unittest.main()
